"""OAuth 2.0 Protected Resource Metadata (RFC 9728): how clients discover our issuer.

The document names this API, the authorization server that issues its tokens and the
scopes it knows; 401 challenges point at it with ``resource_metadata``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

{% if cookiecutter.proof_of_possession == "dpop" -%}
from .config import DPOP_ALGORITHMS
{% endif -%}
from .errors import RESOURCE_METADATA_PATH, public_base_url
from .extension import current_oauth
{%- if cookiecutter.protection_mode == "global" %}
from .protection import public
{%- endif %}

blueprint = Blueprint("resource_metadata", __name__)


@blueprint.get(RESOURCE_METADATA_PATH)
{%- if cookiecutter.protection_mode == "global" %}
@public
{%- endif %}
def protected_resource_metadata() -> Response:
    settings = current_oauth().settings
    response = jsonify(
        # The API's own URL when known (configured, or a trusted host), else its audience.
        resource=public_base_url(settings) or settings.audience,
        authorization_servers=[settings.issuer],
        scopes_supported=[settings.required_scope],
        bearer_methods_supported=["header"],
{%- if cookiecutter.proof_of_possession == "dpop" %}
        dpop_signing_alg_values_supported=list(DPOP_ALGORITHMS),
        dpop_bound_access_tokens_required=settings.dpop_required,
{%- endif %}
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
