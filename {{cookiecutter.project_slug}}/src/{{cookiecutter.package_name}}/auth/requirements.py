"""What a route demands of a verified token: scopes, claim values and a recent, strong login.

The login part is RFC 9470 step-up authentication: ``acr_values`` (how the user logged
in) and ``max_age`` (how long ago, from ``auth_time``). Falling short of it is a 401 whose
challenge tells the client what login to ask for; falling short of scopes or claims is a
403, since no new login would change them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .access_token import AccessToken, is_numeric_date, split_scopes
from .errors import Forbidden, InsufficientScope, InsufficientUserAuthentication

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
    """Scopes (all, or one with ``any_scope``), claims, and the login's ``acr`` and age."""

    scopes: frozenset[str] = frozenset()
    any_scope: bool = False
    claims: tuple[tuple[str, Any], ...] = ()
    acr_values: tuple[str, ...] = ()
    max_age: float | None = None
    issuers: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        scopes: str | Iterable[str] | None = None,
        *,
        any_scope: bool = False,
        claims: ClaimRequirements | None = None,
        acr_values: Iterable[str] = (),
        max_age: float | None = None,
        issuers: Iterable[str] = (),
    ) -> Requirement:
        claim_items = tuple((claims or {}).items())
        return cls(
            scope_set(scopes), any_scope, claim_items, tuple(acr_values), max_age, tuple(issuers)
        )

    def check(self, token: AccessToken, now: float, leeway: float) -> None:
        """Raise ``InsufficientScope``, ``Forbidden`` or ``InsufficientUserAuthentication``.

        ``now`` and ``leeway`` date the login: an ``auth_time`` further in the future than
        the leeway allows proves nothing about its age.
        """
        if self.scopes:
            if self.any_scope:
                enough = not self.scopes.isdisjoint(token.scopes)
            else:
                enough = self.scopes <= token.scopes
            if not enough:
                raise InsufficientScope(" ".join(sorted(self.scopes)))
        if self.issuers and token.issuer not in self.issuers:
            raise Forbidden("The access token's issuer is not accepted for this route")
        for name, expected in self.claims:
            if not _claim_matches(token.claims.get(name), expected):
                raise Forbidden()
        acr = token.claims.get("acr")
        if self.acr_values and not (isinstance(acr, str) and acr in self.acr_values):
            raise InsufficientUserAuthentication(self.acr_values, self.max_age)
        if self.max_age is not None:
            auth_time = token.claims.get("auth_time")
            if not (is_numeric_date(auth_time) and -leeway <= now - auth_time <= self.max_age):
                raise InsufficientUserAuthentication(self.acr_values, self.max_age)


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


def route_requirement_of(
    scopes: object,
    *,
    any_scope: object = False,
    claims: object = None,
    acr_values: object = (),
    max_age: object = None,
    issuers: object = (),
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
    if isinstance(acr_values, str):
        acr_values = acr_values.split(" ")
    if not isinstance(acr_values, Iterable) or not all(
        isinstance(value, str) and value and '"' not in value and "\\" not in value
        for value in acr_values
    ):
        raise TypeError(f"acr_values={acr_values!r}: expected a list of acr strings")
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, int | float) or not max_age >= 0
    ):
        raise TypeError(f"max_age={max_age!r}: expected a number of seconds >= 0")
    if isinstance(issuers, str) or not (
        isinstance(issuers, Iterable) and all(isinstance(issuer, str) for issuer in issuers)
    ):
        raise TypeError(f"issuers={issuers!r}: expected a list of issuer URLs")
    requirement = Requirement.of(
        scopes,  # type: ignore[arg-type]
        any_scope=any_scope,
        claims=claims,  # type: ignore[arg-type]
        acr_values=acr_values,
        max_age=max_age,
        issuers=issuers,
    )
    for scope in requirement.scopes:
        if any(c <= " " or c in '"\\' or c > "~" for c in scope):
            raise ValueError(f"scopes: {scope!r} is not a scope token (RFC 6749, section 3.3)")
    if any_scope and not requirement.scopes:
        raise ValueError("any_scope=True needs scopes to choose from")
    return requirement
