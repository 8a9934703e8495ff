"""What a validated access token hands to the views: its claims and the scopes it grants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import InvalidToken

# NumericDate bounds (RFC 7519 2): from the epoch to the last second of year 9999. Any
# other number, however written (10**400, 1e400, -1), is refused before it is compared.
NUMERIC_DATE_MAX = 253_402_300_799


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A validated token: its claims (read-only, nested values too) and the scopes it grants."""

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


def split_scopes(scope: str) -> frozenset[str]:
    """Scope tokens of a space-delimited string: U+0020 only (RFC 6749 3.3).

    No other whitespace delimits (``"files:\\x1fread"`` or ``"files\\u3000read"`` is one
    scope, granting neither); empty parts from repeated spaces grant nothing.
    """
    return frozenset(scope.split(" ")) - _EMPTY


_EMPTY = frozenset({""})


def scopes_of(claims: Mapping[str, Any]) -> tuple[frozenset[str], str]:
    """Scopes from ``scope`` (space-separated) or ``scp`` (string or list of strings)."""
    scope = claims.get("scope")
    if scope is None:
        scope = claims.get("scp")
    if scope is None:
        return frozenset(), ""
    if isinstance(scope, str):
        return split_scopes(scope), scope
    if isinstance(scope, (list, tuple)) and all(isinstance(item, str) for item in scope):
        return frozenset(scope) - _EMPTY, " ".join(scope)
    raise InvalidToken("The access token's scope claim is malformed")


def is_numeric_date(value: Any) -> bool:
    """A JSON number of seconds within range (RFC 7519 NumericDate); booleans are not.

    Compared before any arithmetic: NaN fails both comparisons, and an integer too large
    for a float never reaches ``float`` (``math.isfinite(10**400)`` raises).
    """
    return type(value) in (int, float) and 0 <= value <= NUMERIC_DATE_MAX


def frozen_claims(claims: dict[str, Any]) -> Mapping[str, Any]:
    """Claims a view cannot change: objects become read-only mappings, arrays tuples.

    Claims are cached with the token, so a view that could append to a list claim would
    change what later requests see, and what the routes' claim requirements check.
    """
    try:
        return _frozen_object(claims)
    except RecursionError:
        raise InvalidToken("The access token's claims are nested too deeply") from None


def _frozen_object(value: dict[str, Any]) -> Mapping[str, Any]:
    # Speed: most claims are flat, and then the parsed dict itself goes behind the proxy
    # (nothing else holds it) instead of being copied.
    for item in value.values():
        if type(item) in _CONTAINERS:
            return MappingProxyType({name: _frozen(item) for name, item in value.items()})
    return MappingProxyType(value)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return _frozen_object(value)
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


_CONTAINERS = (dict, list)  # parsed JSON holds exactly these types, no subclasses
