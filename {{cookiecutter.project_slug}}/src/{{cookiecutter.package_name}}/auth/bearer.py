"""Finding the bearer token of a request: the Authorization header and nowhere else.

The checks are those of RFC 6750: a token in the query string is refused, and the body is
never read here (a token in a form body is simply not looked at), so a request without a
valid token costs no upload.
"""

from __future__ import annotations

from flask import Request

from .errors import InvalidRequest, MissingToken

# token68 characters (RFC 7235 2.1), without the trailing "=" padding.
_TOKEN68 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"


def bearer_token(request: Request) -> str:
    """The request's access token, or ``MissingToken`` / ``InvalidRequest``."""
    if request.query_string and "access_token" in request.args:
        raise InvalidRequest("Access tokens are accepted only in the Authorization header")
    # One value per header name: the WSGI server joins repeated headers with commas,
    # which no token68 contains, so two Authorization headers are refused below.
    value = request.headers.get("Authorization")
    if value is None:
        raise MissingToken()
    return _parse_credentials(value)


def _parse_credentials(value: str) -> str:
    """``Bearer <token68>`` (scheme case-insensitive, one or more spaces).

    Another scheme (``Basic``, ``Digest``...) is not an error of the request but a method
    this API does not support: a bare challenge, as for no credentials (RFC 6750, 3.1).
    """
    value = value.strip()
    scheme, rest = value[:6], value[6:]
    if scheme.lower() != "bearer" or not scheme.isascii() or rest[:1].isalnum():
        raise MissingToken()
    if rest[:1] == " ":
        token = rest.lstrip(" ")
        if is_token68(token):
            return token
    raise InvalidRequest("Expected 'Authorization: Bearer <token>'")


def is_token68(token: str) -> bool:
    """One token68 credential (RFC 7235 2.1): no spaces, commas or other characters."""
    body = token.rstrip("=")
    return bool(body) and body.isascii() and not body.encode("ascii").translate(None, _TOKEN68)
