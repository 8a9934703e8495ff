"""Liveness: ``/health`` answers whatever the state of the authorization server."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
{%- if cookiecutter.protection_mode == "global" %}

from .auth import public
{%- endif %}

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
{%- if cookiecutter.protection_mode == "global" %}
@public
{%- endif %}
def health() -> Response:
    """Liveness: answers while the authorization server is down too."""
    return jsonify(status="ok")
