"""The API's routes. ``g.claims`` holds the verified claims of the request's token."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify
{%- if cookiecutter.protection_mode == "decorator" %}

from .auth import require_token
{%- endif %}

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/data")
{%- if cookiecutter.protection_mode == "decorator" %}
@require_token()  # the configured OAUTH_REQUIRED_SCOPE
{%- endif %}
def get_data() -> Response:
    role = g.claims.get("role")
    scope = g.access_token.scope
    return jsonify(
        message=f"Data for user role '{role}' and scope '{scope}'",
        subject=g.claims.get("sub"),
        scope=scope,
        role=role,
    )
