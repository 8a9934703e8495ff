"""The Flask extension: ``OAuth(app)`` wires token protection into an app.

Its settings come from ``app.config["OAUTH_SETTINGS"]`` (an ``OAuthSettings``); the
extension builds the token validator from them, registers the error handlers
{%- if cookiecutter.protection_mode == "global" %} and installs
the filter that protects every route not marked ``@public``
{%- endif %}.
"""

from __future__ import annotations

import functools
import logging
import ssl
{%- if cookiecutter.token_format == "jwt" %}
import threading
{%- endif %}
import time

from flask import Flask, {% if cookiecutter.proof_of_possession == "dpop" %}Response, {% endif %}current_app, request

from .access_token import AccessToken
{%- if cookiecutter.proof_of_possession != "dpop" %}
from .bearer import bearer_token
{%- endif %}
from .config import OAuthSettings
from .current import set_current_token
from .decisions import DECISIONS_LOG, log_decision
{%- if cookiecutter.proof_of_possession == "dpop" %}
from .dpop import DpopVerifier
{%- endif %}
from .errors import register_error_handlers
{%- if cookiecutter.token_format == "opaque" %}
from .introspection import IntrospectionValidator
{%- endif %}
from .issuers import IssuerRouter, TrustedIssuer, trusted_issuers
{%- if cookiecutter.token_format == "jwt" %}
from .jwks_source import JwksSource
from .key_cache import KeySetCache
{%- endif %}
{%- if cookiecutter.protection_mode == "global" %}
from .protection import route_requirement
{%- endif %}
from .remote import HttpClient
{%- if cookiecutter.proof_of_possession == "dpop" %}
from .replay_cache import replay_cache_for
{%- endif %}
from .requirements import Requirement
{%- if cookiecutter.token_format == "jwt" %}
from .tokens import TokenValidator
{%- endif %}

log = logging.getLogger(__name__)

EXTENSION_KEY = "oauth"
SETTINGS_KEY = "OAUTH_SETTINGS"


class OAuth:
    """The API's token protection: one per app, found at ``app.extensions["oauth"]``."""

    settings: OAuthSettings
    #: Every trusted issuer by its ``iss``, the configured one first.
    issuers: dict[str, TrustedIssuer]
{%- if cookiecutter.token_format == "jwt" %}
    #: The configured issuer's key source and cache.
    source: JwksSource
    keys: KeySetCache
    validator: TokenValidator | IssuerRouter
{%- else %}
    validator: IntrospectionValidator | IssuerRouter
{%- endif %}
{%- if cookiecutter.proof_of_possession == "dpop" %}
    dpop: DpopVerifier
{%- endif %}
    #: What ``OAUTH_REQUIRED_SCOPE`` demands of every protected route.
    base_requirement: Requirement

    def __init__(self, app: Flask | None = None) -> None:
        self.app: Flask | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Protect ``app`` with the settings in ``app.config["OAUTH_SETTINGS"]``."""
        if self.app is not None or EXTENSION_KEY in app.extensions:
            raise RuntimeError("OAuth is already registered: use one OAuth per app, once")
        settings = app.config.get(SETTINGS_KEY)
        if not isinstance(settings, OAuthSettings):
            raise RuntimeError(
                f"app.config[{SETTINGS_KEY!r}] must hold an OAuthSettings before init_app"
            )
        self.app = app
        self.settings = settings
        tls = _tls_context(settings.ca_bundle, settings.tls_verify)
        http = HttpClient(settings.http_timeout_seconds, tls)
        issuers = trusted_issuers(settings, http)
        self.issuers = {issuer.settings.issuer: issuer for issuer in issuers}
{%- if cookiecutter.token_format == "jwt" %}
        self.source, self.keys = issuers[0].source, issuers[0].keys
        if len(issuers) == 1:
{%- else %}
        # A prefix of the configured issuer's own is checked by the router too.
        if len(issuers) == 1 and not settings.token_prefix:
{%- endif %}
            self.validator = issuers[0].validator
        else:
            self.validator = IssuerRouter(issuers)
        self.base_requirement = Requirement.of(settings.required_scope)
{%- if cookiecutter.proof_of_possession == "dpop" %}
        replays = replay_cache_for(settings.replay_cache_url, settings.http_timeout_seconds)
        self.dpop = DpopVerifier(settings, replays)
        if not settings.public_url and not settings.trusted_hosts:
            log.warning(
                "DPoP requests will be refused: set OAUTH_PUBLIC_URL (or OAUTH_TRUSTED_HOSTS), "
                "the URL that proofs name"
            )
        if self.dpop.nonces is not None:
            app.after_request(self._offer_nonce)
{%- endif %}
        app.extensions[EXTENSION_KEY] = self
        register_error_handlers(app, settings)
{%- if cookiecutter.protection_mode == "global" %}
        app.before_request(self._authenticate_request)
{%- endif %}
{%- if cookiecutter.token_format == "jwt" %}
        if settings.prefetch_keys:
            for issuer in issuers:
                threading.Thread(
                    target=issuer.keys.prefetch, name="jwks-prefetch", daemon=True
                ).start()
{%- endif %}

    def authorize(self, route_requirement: Requirement) -> AccessToken:
        """Check the request's token against the base and the route's requirements."""
{%- if cookiecutter.proof_of_possession == "dpop" %}
        token = self.dpop.access_token(request, self.validator.validate)
{%- else %}
        token = self.validator.validate(bearer_token(request))
{%- endif %}
        now, leeway = time.time(), self.settings.leeway_seconds
        self.base_requirement.check(token, now, leeway)
        route_requirement.check(token, now, leeway)
        if DECISIONS_LOG.isEnabledFor(logging.DEBUG):  # off by default: keep the hot path lean
            log_decision(
                request,
                200,
                "allowed",
                sub=token.subject,
                client_id=token.client_id,
                iss=token.issuer,
            )
        set_current_token(token)
        return token
{%- if cookiecutter.proof_of_possession == "dpop" %}

    def _offer_nonce(self, response: Response) -> Response:
        """A fresh server nonce for every DPoP client, to put in its next proof."""
        if "DPoP" in request.headers and self.dpop.nonces is not None:
            response.headers["DPoP-Nonce"] = self.dpop.nonces.issue()
        return response
{%- endif %}
{%- if cookiecutter.protection_mode == "global" %}

    def _authenticate_request(self) -> None:
        """Before every request: check the token unless the route is public."""
        rule = request.url_rule
        if rule is None:
            return  # no route matched: Flask answers 404 or 405 without running a view
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return  # Flask's own OPTIONS answer (CORS preflight) runs no view of the app
        requirement = route_requirement(current_app.view_functions[rule.endpoint])
        if requirement is not None:
            self.authorize(requirement)
{%- endif %}


@functools.cache  # loading the system's CA store is slow: do it once per process
def _tls_context(ca_bundle: str, verify: bool) -> ssl.SSLContext:
    """Certificate checks for the authorization server, with the configured CA bundle."""
    context = ssl.create_default_context(cafile=ca_bundle or None)
    if not verify:  # settings allow this only for loopback hosts
        log.warning("TLS certificate verification is OFF for the authorization server")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def current_oauth() -> OAuth:
    """The ``OAuth`` of the app handling the current request or command."""
    return current_app.extensions[EXTENSION_KEY]
