"""The API's routes; ``g.access_token`` and ``g.claims`` hold the request's verified token."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from .auth import AccessToken{% if cookiecutter.protection_mode == "decorator" %}, require_token{% endif %}

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/data")
{%- if cookiecutter.protection_mode == "decorator" %}
@require_token()  # the configured OAUTH_REQUIRED_SCOPE
{%- endif %}
def get_data() -> Response:
    token: AccessToken = g.access_token  # the claims and the scopes as the token states them
    role = token.claims.get("role")
    return jsonify(
        message=f"Data for user role '{role}' and scope '{token.scope}'",
        subject=token.claims.get("sub"),
        scope=token.scope,
        role=role,
    )
