"""{{ cookiecutter.project_name }}: a Flask API protected by OAuth 2.0 access tokens."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from . import api, health{% if cookiecutter.token_format == "jwt" %}, readiness{% endif %}
from .auth import OAuth{% if cookiecutter.protection_mode == "global" %}, protect_all_routes{% endif %}, resource_metadata
{%- if cookiecutter.token_format == "jwt" %}
from .auth.cli import auth_cli
{%- endif %}
from .errors import register_json_errors
from .request_log import init_request_log
from .settings import Settings


def create_app(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app; settings come from the answers and ``OAUTH_*`` variables unless given."""
    settings = settings or Settings.from_environment(environ)
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS"] = settings
    init_request_log(app)
    register_json_errors(app)
    OAuth(settings).init_app(app)
{%- if cookiecutter.protection_mode == "global" %}
    protect_all_routes(app)
{%- endif %}
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
