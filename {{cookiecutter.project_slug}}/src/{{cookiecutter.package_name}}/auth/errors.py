"""The auth error family, and the one place where it becomes an HTTP response.

Every refusal is raised as one of these exceptions; ``register_error_handlers`` turns it
into the JSON body and ``WWW-Authenticate`` challenge of RFC 6750. Messages are fixed
texts: nothing from the request (and never the token) is echoed back.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from .config import {% if cookiecutter.proof_of_possession == "dpop" %}DPOP_ALGORITHMS, {% endif %}OAuthSettings
from .decisions import log_decision

RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"


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
    """No bearer credentials (none, or another scheme): a bare challenge (RFC 6750, 3.1)."""

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


class InsufficientUserAuthentication(AuthError):
    """The login behind the token is too weak or too old for this route (RFC 9470)."""

    code = "insufficient_user_authentication"
    message = "A more recent or stronger authentication is required"
    challenge_error = "insufficient_user_authentication"

    def __init__(self, acr_values: tuple[str, ...], max_age: float | None) -> None:
        self.acr_values = acr_values
        self.max_age = max_age
        super().__init__()

    def challenge_attributes(self) -> dict[str, str]:
        attributes = super().challenge_attributes()
        if self.acr_values:
            attributes["acr_values"] = " ".join(self.acr_values)
        if self.max_age is not None:
            attributes["max_age"] = f"{self.max_age:g}"
        return attributes


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
{%- if cookiecutter.proof_of_possession == "dpop" %}


class InvalidDpopProof(AuthError):
    """The DPoP proof is missing, malformed, stale, replayed or made for another request."""

    code = "invalid_dpop_proof"
    message = "The DPoP proof is not valid"
    challenge_error = "invalid_dpop_proof"


class UseDpopNonce(AuthError):
    """The proof lacks a fresh server nonce; the response carries one (``DPoP-Nonce``)."""

    code = "use_dpop_nonce"
    message = "Make the DPoP proof again with the nonce this response carries"
    challenge_error = "use_dpop_nonce"


class ReplayCacheUnavailable(AuthError):
    """The shared replay cache cannot be reached, so no proof can be known to be new."""

    status = 500
    code = "server_error"
    message = "DPoP proofs cannot be checked right now"
    challenge_error = None
{%- endif %}


def register_error_handlers(app: Flask, settings: OAuthSettings) -> None:
    """Answer every ``AuthError`` with its JSON body and ``WWW-Authenticate`` challenge."""

    realm_attribute = f'realm="{settings.realm}"'

    def handle(error: AuthError) -> Response:
        log_decision(request, error.status, error.code)
        response = jsonify(code=error.code, message=error.message)
        response.status_code = error.status
        response.headers["Cache-Control"] = "no-store"
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        if error.status in (400, 401, 403) and not isinstance(error, Forbidden):
            attributes = error.challenge_attributes()
            about = "".join(f', {key}="{value}"' for key, value in attributes.items())
            where = ""
            if error.status == 401 and (base := public_base_url(settings)):
                where = f', resource_metadata="{base}{RESOURCE_METADATA_PATH}"'
{%- if cookiecutter.proof_of_possession == "dpop" %}
            for challenge in dpop_challenges(settings, realm_attribute, about, where):
                response.headers.add("WWW-Authenticate", challenge)
{%- else %}
            response.headers["WWW-Authenticate"] = f"Bearer {realm_attribute}{about}{where}"
{%- endif %}
        return response

    app.register_error_handler(AuthError, handle)


def public_base_url(settings: OAuthSettings) -> str | None:
    """This API's base URL: configured, or the request's when its host is trusted.

    The ``Host`` header is chosen by the client, so it names this API only when it is
    one of ``OAUTH_TRUSTED_HOSTS``; otherwise no URL is given.
    """
    if settings.public_url:
        return settings.public_url
    if request.host.lower() in settings.trusted_hosts:
        return f"{request.scheme}://{request.host}{request.script_root}"
    return None
{%- if cookiecutter.proof_of_possession == "dpop" %}


def dpop_challenges(settings: OAuthSettings, realm: str, about: str, where: str) -> list[str]:
    """A ``DPoP`` challenge (RFC 9449 7.1), after a ``Bearer`` one while bearer tokens pass.

    The error (``about``) goes to the scheme the client used, or to ``DPoP`` when only DPoP
    is accepted. (Proofs are looked at only in requests made with DPoP.)
    """
    scheme = request.headers.get("Authorization", "").strip().partition(" ")[0]
    to_dpop = settings.dpop_required or scheme.lower() == "dpop"
    dpop = f'DPoP {realm}{about if to_dpop else ""}{where}, algs="{" ".join(DPOP_ALGORITHMS)}"'
    if settings.dpop_required:
        return [dpop]
    return [f"Bearer {realm}{'' if to_dpop else about}{where}", dpop]
{%- endif %}
