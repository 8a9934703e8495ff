"""Bearer-token protection for a Flask API: one extension, one decorator, one accessor.

{%- if cookiecutter.protection_mode == "global" %}

Every route needs a valid access token carrying ``OAUTH_REQUIRED_SCOPE`` unless it is
marked ``@public``; ``@require_token(...)`` asks more of a route's token.
{%- else %}

Routes decorated with ``@require_token`` need a valid access token carrying
``OAUTH_REQUIRED_SCOPE``, plus whatever the decorator adds; other routes are open.
{%- endif %}
Views read the verified token from ``current_token``. This package imports nothing from
the app around it: the app hands it an ``OAuthSettings`` through its config.
"""

from .access_token import AccessToken
from .config import OAuthSettings
from .current import current_token
from .errors import (
    AuthError,
    Forbidden,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidToken,
)
from .extension import OAuth, current_oauth
from .protection import {% if cookiecutter.protection_mode == "global" %}public, {% endif %}require_token

__all__ = [
    "AccessToken",
    "AuthError",
    "Forbidden",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "InvalidToken",
    "OAuth",
    "OAuthSettings",
    "current_oauth",
    "current_token",
{%- if cookiecutter.protection_mode == "global" %}
    "public",
{%- endif %}
    "require_token",
]
