"""What a route demands of a verified token: scopes and claim values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .access_token import AccessToken, split_scopes
from .errors import Forbidden, InsufficientScope

#: Claim requirements: ``{"role": "admin"}`` needs that value, ``{"role": None}`` only
#: the claim's presence, ``{"role": ["admin", "ops"]}`` one of the values.
ClaimRequirements = Mapping[str, Any]


def scope_set(scopes: str | Iterable[str] | None) -> frozenset[str]:
    """Scopes given as a space-separated string (split like a token's) or as a list."""
    if scopes is None:
        return frozenset()
    if isinstance(scopes, str):
        return split_scopes(scopes)
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class Requirement:
    """Scopes (all of them, or any one with ``any_scope``) and claim requirements."""

    scopes: frozenset[str] = frozenset()
    any_scope: bool = False
    claims: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(
        cls,
        scopes: str | Iterable[str] | None = None,
        *,
        any_scope: bool = False,
        claims: ClaimRequirements | None = None,
    ) -> Requirement:
        return cls(scope_set(scopes), any_scope, tuple((claims or {}).items()))

    def check(self, token: AccessToken) -> None:
        """Raise ``InsufficientScope`` or ``Forbidden`` when ``token`` falls short."""
        if self.scopes:
            if self.any_scope:
                enough = not self.scopes.isdisjoint(token.scopes)
            else:
                enough = self.scopes <= token.scopes
            if not enough:
                raise InsufficientScope(" ".join(sorted(self.scopes)))
        for name, expected in self.claims:
            if not _claim_matches(token.claims.get(name), expected):
                raise Forbidden()


def _claim_matches(actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if expected is None:
        return True
    allowed = list(expected) if isinstance(expected, (list, tuple, set, frozenset)) else [expected]
    if isinstance(actual, (list, tuple)):  # a multi-valued claim such as roles or groups
        nested = (list, tuple, Mapping)
        return any(value in allowed for value in actual if not isinstance(value, nested))
    return actual in allowed
