"""The auth error family, and the one place where it becomes an HTTP response.

Every refusal is raised as one of these exceptions; ``register_error_handlers`` turns it
into the JSON body and ``WWW-Authenticate`` challenge of RFC 6750. Messages are fixed
texts: nothing from the request (and never the token) is echoed back.
"""

from __future__ import annotations

import re

from flask import Flask, Response, jsonify, request

from ..request_log import log_decision

RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"
# The Host header is client-supplied: only a plain host[:port] may enter a challenge.
_SAFE_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


class AuthError(Exception):
    """Base of every auth refusal: carries status, code and a safe message."""

    status = 401
    code = "invalid_token"
    message = "The access token is missing, invalid or expired"
    #: The RFC 6750 ``error`` attribute of the challenge, or None for no attribute.
    challenge_error: str | None = "invalid_token"
    #: Seconds for a ``Retry-After`` header, or None for none.
    retry_after: int | None = None

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def challenge_attributes(self) -> dict[str, str]:
        if self.challenge_error is None:
            return {}
        return {"error": self.challenge_error, "error_description": self.message}


class MissingToken(AuthError):
    """No credentials at all: the challenge carries no error (RFC 6750, section 3.1)."""

    message = "An access token is required"
    challenge_error = None


class InvalidRequest(AuthError):
    status = 400
    code = "invalid_request"
    message = "The Authorization header is malformed"
    challenge_error = "invalid_request"


class InvalidToken(AuthError):
    """The token is bad in any way: format, signature, algorithm, key, claims."""


class InsufficientScope(AuthError):
    status = 403
    code = "insufficient_scope"
    message = "The access token does not carry the required scope"
    challenge_error = "insufficient_scope"

    def __init__(self, scope: str, message: str | None = None) -> None:
        self.scope = scope
        super().__init__(message)

    def challenge_attributes(self) -> dict[str, str]:
        return {**super().challenge_attributes(), "scope": self.scope}


class Forbidden(AuthError):
    status = 403
    code = "forbidden"
    message = "The access token does not meet this route's claim requirements"
    challenge_error = None
{%- if cookiecutter.token_format == "jwt" %}


class KeySetUnavailable(AuthError):
    """No usable signing keys: the authorization server or its metadata cannot be had."""

    status = 500
    code = "server_error"
    message = "The token signing keys are not available right now"
    challenge_error = None
{%- else %}


class IntrospectionUnavailable(AuthError):
    """The introspection endpoint cannot be reached or answered nonsense."""

    status = 500
    code = "server_error"
    message = "The authorization server cannot check tokens right now"
    challenge_error = None


class IntrospectionBusy(AuthError):
    """This worker already asked the authorization server all it may this second."""

    status = 503
    code = "temporarily_unavailable"
    message = "Too many new tokens to check right now; retry shortly"
    challenge_error = None
    retry_after = 1
{%- endif %}


def register_error_handlers(app: Flask, realm: str) -> None:
    """Answer every ``AuthError`` with the contract's JSON body and headers."""

    realm_attribute = f'realm="{realm}"'

    def handle(error: AuthError) -> Response:
        log_decision(request, error.status, error.code)
        response = jsonify(code=error.code, message=error.message)
        response.status_code = error.status
        response.headers["Cache-Control"] = "no-store"
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        if error.status in (400, 401, 403) and not isinstance(error, Forbidden):
            attributes = error.challenge_attributes()
            if error.status == 401 and (url := resource_metadata_url()):
                attributes["resource_metadata"] = url
            rendered = "".join(f', {key}="{value}"' for key, value in attributes.items())
            response.headers["WWW-Authenticate"] = f"Bearer {realm_attribute}{rendered}"
        return response

    app.register_error_handler(AuthError, handle)


def resource_metadata_url() -> str | None:
    """This API's RFC 9728 metadata URL as the client reached it, for 401 challenges."""
    if not _SAFE_HOST.fullmatch(request.host):
        return None
    return f"{request.scheme}://{request.host}{RESOURCE_METADATA_PATH}"
