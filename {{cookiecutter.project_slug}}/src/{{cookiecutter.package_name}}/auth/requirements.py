"""What a route demands of a verified token: scopes and claim values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .access_token import AccessToken
from .errors import Forbidden, InsufficientScope

#: Claim requirements: ``{"role": "admin"}`` needs that value, ``{"role": None}`` only
#: the claim's presence, ``{"role": ["admin", "ops"]}`` one of the values.
ClaimRequirements = Mapping[str, Any]


def scope_set(scopes: str | Iterable[str] | None) -> frozenset[str]:
    """Scopes given as a space-separated string or as a list."""
    if scopes is None:
        return frozenset()
    if isinstance(scopes, str):
        return frozenset(scopes.split())
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
    if isinstance(actual, list):  # a multi-valued claim such as roles or groups
        return any(value in allowed for value in actual if not isinstance(value, (list, dict)))
    return actual in allowed


def route_requirement_of(
    scopes: object, *, any_scope: object = False, claims: object = None
) -> Requirement:
    """A route's requirement from decorator arguments; a misuse says how to fix it."""
    listed = isinstance(scopes, Iterable) and not isinstance(scopes, str)
    if listed and not all(isinstance(scope, str) for scope in scopes):  # type: ignore[union-attr]
        raise TypeError(f"scopes={scopes!r}: expected a list of scope strings")
    if scopes is not None and not listed and not isinstance(scopes, str):
        raise TypeError(f"scopes={scopes!r}: expected a space-separated string or a list")
    if not isinstance(any_scope, bool):
        raise TypeError(f"any_scope={any_scope!r}: expected True or False")
    if claims is not None and not isinstance(claims, Mapping):
        raise TypeError(f"claims={claims!r}: expected a dict of claim names and values")
    requirement = Requirement.of(scopes, any_scope=any_scope, claims=claims)  # type: ignore[arg-type]
    for scope in requirement.scopes:
        if any(c <= " " or c in '"\\' or c > "~" for c in scope):
            raise ValueError(f"scopes: {scope!r} is not a scope token (RFC 6749, section 3.3)")
    if any_scope and not requirement.scopes:
        raise ValueError("any_scope=True needs scopes to choose from")
    return requirement
