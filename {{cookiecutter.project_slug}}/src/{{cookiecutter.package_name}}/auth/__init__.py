"""Bearer-token protection for this API.

{%- if cookiecutter.protection_mode == "global" %}

Every route needs a valid access token unless it is marked ``@public``; ``@requires``
asks more of a route's token. Views read the verified claims from ``g.claims``.
{%- else %}

Routes decorated with ``@require_token`` need a valid access token; other routes are
open. Views read the verified claims from ``g.claims``.
{%- endif %}
"""

from .access_token import AccessToken
from .errors import AuthError, Forbidden, InsufficientScope, InvalidToken
from .extension import OAuth, current_oauth
{%- if cookiecutter.protection_mode == "global" %}
from .protection import protect_all_routes, public, requires
{%- else %}
from .protection import require_token
{%- endif %}

__all__ = [
    "AccessToken",
    "AuthError",
    "Forbidden",
    "InsufficientScope",
    "InvalidToken",
    "OAuth",
    "current_oauth",
{%- if cookiecutter.protection_mode == "global" %}
    "protect_all_routes",
    "public",
    "requires",
{%- else %}
    "require_token",
{%- endif %}
]
