"""Finding the bearer token of a request: the Authorization header and nowhere else."""

from __future__ import annotations

import re

from flask import Request

from .errors import InvalidRequest, MissingToken

# One scheme, case-insensitive "Bearer", one space-separated token68 (RFC 6750 2.1).
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def bearer_token(request: Request) -> str:
    """The request's access token, or ``MissingToken`` / ``InvalidRequest``."""
    if "access_token" in request.args or (
        request.mimetype in _FORM_TYPES and "access_token" in request.form
    ):
        raise InvalidRequest("Access tokens are accepted only in the Authorization header")
    values = request.headers.getlist("Authorization")
    if not values:
        raise MissingToken()
    match = _BEARER.fullmatch(values[0].strip()) if len(values) == 1 else None
    if match is None:
        raise InvalidRequest("Expected 'Authorization: Bearer <token>'")
    return match.group(1)
