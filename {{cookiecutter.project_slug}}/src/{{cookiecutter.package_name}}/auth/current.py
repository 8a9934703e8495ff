"""``current_token``: the verified access token of the request being handled."""

from __future__ import annotations

from typing import cast

from flask import g
from werkzeug.local import LocalProxy

from .access_token import AccessToken

_TOKEN_KEY = "_oauth_access_token"


def set_current_token(token: AccessToken) -> None:
    """Publish the request's verified token to its views."""
    setattr(g, _TOKEN_KEY, token)


def _verified_token() -> AccessToken:
    token = g.get(_TOKEN_KEY)
    if token is None:
        raise RuntimeError(
            "current_token is read in a request whose token was not checked: "
            "protect the route with @require_token"
        )
    return cast(AccessToken, token)


#: The verified token of the current request: ``current_token.subject``,
#: ``current_token.scopes``, ``current_token.claims["role"]``.
current_token = cast(AccessToken, LocalProxy(_verified_token))
