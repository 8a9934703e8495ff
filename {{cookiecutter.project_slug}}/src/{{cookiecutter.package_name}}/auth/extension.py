"""Wiring: builds the token validator from settings and keeps it on the app."""

from __future__ import annotations

import functools
import logging
import ssl
{%- if cookiecutter.token_format == "jwt" %}
import threading
{%- endif %}

from flask import Flask, Request, current_app, g

from ..request_log import DECISIONS_LOG, log_decision
from ..settings import Settings
from .access_token import AccessToken
from .bearer import bearer_token
from .errors import register_error_handlers
{%- if cookiecutter.token_format == "jwt" %}
from .jwks_source import JwksSource
from .key_cache import KeySetCache
{%- else %}
from .introspection import IntrospectionValidator
{%- endif %}
from .remote import HttpClient
from .requirements import Requirement
{%- if cookiecutter.token_format == "jwt" %}
from .tokens import TokenValidator
{%- endif %}

log = logging.getLogger(__name__)

EXTENSION_KEY = "oauth"


class OAuth:
    """The API's token protection: one per app, found at ``app.extensions["oauth"]``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        tls = _tls_context(settings.ca_bundle, settings.tls_verify)
        http = HttpClient(settings.http_timeout_seconds, tls)
{%- if cookiecutter.token_format == "jwt" %}
        self.source = JwksSource(
            http,
            settings.issuer,
            settings.jwks_uri,
            discovery_max_age=settings.jwks_cache_seconds,
        )
        self.keys = KeySetCache(
            self.source.fetch,
            frozenset(settings.algorithms),
            max_age=settings.jwks_cache_seconds,
            min_refresh=settings.jwks_min_refresh_seconds,
            max_stale=settings.jwks_max_stale_seconds,
            # discovery (two documents at most) and the key set, each within the timeout
            wait_timeout=3 * settings.http_timeout_seconds,
        )
        self.validator = TokenValidator(settings, self.keys)
{%- else %}
        self.validator = IntrospectionValidator(settings, http)
{%- endif %}
        #: What the configured OAUTH_REQUIRED_SCOPE demands of every protected route.
        self.default_requirement = Requirement.of(settings.required_scope)

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self
        register_error_handlers(app, self.settings.realm)
{%- if cookiecutter.token_format == "jwt" %}
        if self.settings.prefetch_keys:
            threading.Thread(target=self.keys.prefetch, name="jwks-prefetch", daemon=True).start()
{%- endif %}

    def authorize(self, request: Request, *requirements: Requirement | None) -> AccessToken:
        """Validate the request's token, check each requirement, publish ``g.claims``."""
        token = self.validator.validate(bearer_token(request))
        for requirement in requirements:
            if requirement is not None:
                requirement.check(token)
        if DECISIONS_LOG.isEnabledFor(logging.DEBUG):  # off by default: keep the hot path lean
            claims = token.claims
            log_decision(
                request,
                200,
                "allowed",
                sub=claims.get("sub"),
                client_id=claims.get("client_id"),
                iss=claims.get("iss"),
            )
        context = g._get_current_object()  # one proxy lookup for both attributes
        context.access_token = token
        context.claims = token.claims
        return token


@functools.cache  # loading the system's CA store costs ~0.1 s: do it once per process
def _tls_context(ca_bundle: str, verify: bool) -> ssl.SSLContext:
    """Certificate checks for the authorization server, with the configured CA bundle."""
    context = ssl.create_default_context(cafile=ca_bundle or None)
    if not verify:  # settings allow this only for loopback hosts
        log.warning("TLS certificate verification is OFF for the authorization server")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def current_oauth() -> OAuth:
    """The ``OAuth`` of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
