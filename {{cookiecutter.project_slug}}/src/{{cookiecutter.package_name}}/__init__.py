"""{{ cookiecutter.project_name }}: a Flask API protected by OAuth 2.0 access tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask

from . import api, health{% if cookiecutter.token_format == "jwt" %}, readiness{% endif %}
from .auth import OAuth, OAuthSettings, resource_metadata
from .devtools.cli import auth_cli
from .errors import register_json_errors
from .request_log import init_request_log
from .settings import ConfigError, load_settings, uses_example_issuer

log = logging.getLogger(__name__)


def create_app(
    settings: OAuthSettings | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the app; settings come from the answers and ``OAUTH_*`` variables unless given.

    Raises ``ConfigError``, one line per unusable setting, before anything is served.
    """
    settings = settings or load_settings(environ)
    if uses_example_issuer(settings):
        log.warning(
            "OAUTH_ISSUER is still the example issuer %s: no token will be accepted "
            "until it names your authorization server",
            settings.issuer,
        )
    app = Flask(__name__, static_folder=None)
    app.config["OAUTH_SETTINGS"] = settings
    init_request_log(app)
    register_json_errors(app)
    OAuth(app)
    _add_routes_and_commands(app)
    return app


def create_unconfigured_app(error: ConfigError) -> Flask:
    """An app for the ``flask`` commands while the settings are unusable.

    Its routes and commands are there to list and run, but it answers every request with
    500: without settings there is no token check, so nothing may be served.
    """
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS_ERROR"] = error
    _add_routes_and_commands(app)
    app.wsgi_app = _not_configured  # type: ignore[method-assign]
    return app


def _add_routes_and_commands(app: Flask) -> None:
    app.cli.add_command(auth_cli)
    app.register_blueprint(health.blueprint)
{%- if cookiecutter.token_format == "jwt" %}
    app.register_blueprint(readiness.blueprint)
{%- endif %}
    app.register_blueprint(resource_metadata.blueprint)
    app.register_blueprint(api.blueprint)


def _not_configured(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = b'{"code":"server_error","message":"The API is not configured"}\n'
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    start_response("500 INTERNAL SERVER ERROR", headers)
    return [body]
