"""{{ cookiecutter.project_name }}: a Flask API protected by OAuth 2.0 access tokens."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from . import api, health{% if cookiecutter.token_format == "jwt" %}, readiness{% endif %}
from .auth import OAuth, OAuthSettings, resource_metadata
{%- if cookiecutter.token_format == "jwt" %}
from .devtools.cli import auth_cli
{%- endif %}
from .errors import register_json_errors
from .request_log import init_request_log
from .settings import load_settings, uses_example_issuer

log = logging.getLogger(__name__)


def create_app(
    settings: OAuthSettings | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the app; settings come from the answers and ``OAUTH_*`` variables unless given."""
    app = Flask(__name__, static_folder=None)
    app.config["OAUTH_SETTINGS"] = settings = settings or load_settings(environ)
    if uses_example_issuer(settings):
        log.warning(
            "OAUTH_ISSUER is still the example issuer %s: no token will be accepted "
            "until it names your authorization server",
            settings.issuer,
        )
    init_request_log(app)
    register_json_errors(app)
    OAuth(app)
{%- if cookiecutter.token_format == "jwt" %}
    app.cli.add_command(auth_cli)
{%- endif %}
    app.register_blueprint(health.blueprint)
{%- if cookiecutter.token_format == "jwt" %}
    app.register_blueprint(readiness.blueprint)
{%- endif %}
    app.register_blueprint(resource_metadata.blueprint)
    app.register_blueprint(api.blueprint)
    return app
