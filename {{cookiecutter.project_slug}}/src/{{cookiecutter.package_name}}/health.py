"""Operational routes, open in every mode: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
{%- if cookiecutter.protection_mode == "global" %}

from .auth import current_oauth, public
{%- else %}

from .auth import current_oauth
{%- endif %}

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
{%- if cookiecutter.protection_mode == "global" %}
@public
{%- endif %}
def health() -> Response:
    """Liveness: answers while the authorization server is down too."""
    return jsonify(status="ok")


@blueprint.get("/ready")
{%- if cookiecutter.protection_mode == "global" %}
@public
{%- endif %}
def ready() -> tuple[Response, int]:
    """Readiness: 200 once signing keys are loaded (tries to load them if not)."""
    keys = current_oauth().keys
    if not keys.ready:
        keys.prefetch()
    if keys.ready:
        return jsonify(status="ready"), 200
    return jsonify(status="not_ready", reason="signing keys are not loaded"), 503
