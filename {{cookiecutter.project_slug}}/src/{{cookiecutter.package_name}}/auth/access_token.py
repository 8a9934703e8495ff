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
