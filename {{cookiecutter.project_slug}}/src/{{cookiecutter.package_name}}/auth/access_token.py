"""What a validated access token hands to the views: its claims and the scopes it grants."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidToken


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A validated token: its claims (read-only) and the scopes it grants."""

    claims: Mapping[str, Any]
    scopes: frozenset[str]
    scope: str  # the scopes as the token states them, space-separated

    @property
    def subject(self) -> str | None:
        """Whom the token is about (``sub``): a user, or the client itself."""
        return _text(self.claims.get("sub"))

    @property
    def client_id(self) -> str | None:
        """The client the token was issued to (``client_id``)."""
        return _text(self.claims.get("client_id"))

    @property
    def issuer(self) -> str | None:
        """The authorization server that issued the token (``iss``)."""
        return _text(self.claims.get("iss"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def scopes_of(claims: Mapping[str, Any]) -> tuple[frozenset[str], str]:
    """Scopes from ``scope`` (space-separated) or ``scp`` (string or list of strings)."""
    scope = claims.get("scope")
    if scope is None:
        scope = claims.get("scp")
    if scope is None:
        return frozenset(), ""
    if isinstance(scope, str):
        return frozenset(scope.split()), scope
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        return frozenset(scope), " ".join(scope)
    raise InvalidToken("The access token's scope claim is malformed")


def is_numeric_date(value: Any) -> bool:
    """A JSON number of seconds (RFC 7519 NumericDate); booleans and NaN are not."""
    return type(value) in (int, float) and math.isfinite(value)
