"""The API's routes; ``current_token`` is the request's verified access token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .auth import current_token{% if cookiecutter.protection_mode == "decorator" %}, require_token{% endif %}

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/data")
{%- if cookiecutter.protection_mode == "decorator" %}
@require_token  # a valid token carrying OAUTH_REQUIRED_SCOPE
{%- endif %}
def get_data() -> Response:
    role = current_token.claims.get("role")
    scope = current_token.scope
    if role is None:
        message = f"Data for a token without a role and scope '{scope}'"
    else:
        message = f"Data for user role '{role}' and scope '{scope}'"
    return jsonify(message=message, subject=current_token.subject, scope=scope, role=role)
