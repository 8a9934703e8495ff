"""What the token protection needs to know, as one frozen value, and the URL rule it uses.

The app builds an ``OAuthSettings`` (from its answers and environment, in ``settings.py``)
and puts it in ``app.config["OAUTH_SETTINGS"]``; ``OAuth.init_app`` reads it from there.
Nothing in this package reads the environment.
"""

from __future__ import annotations

import ipaddress
{%- if cookiecutter.token_format == "jwt" and cookiecutter.proof_of_possession != "dpop" %}
from dataclasses import dataclass
{%- else %}
from dataclasses import dataclass, field
{%- endif %}
from urllib.parse import urlsplit
{%- if cookiecutter.token_format == "jwt" %}

SUPPORTED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
{%- endif %}
{%- if cookiecutter.proof_of_possession == "dpop" %}

#: Algorithms a DPoP proof may be signed with: asymmetric only (RFC 9449 4.3), preferred first.
DPOP_ALGORITHMS = (
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "PS256",
    "PS384",
    "PS512",
    "RS256",
    "RS384",
    "RS512",
)
{%- endif %}


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    """Issuer, audience, where tokens are checked, and the limits of every cache."""

    issuer: str
    audience: str
{%- if cookiecutter.token_format == "jwt" %}
    jwks_uri: str
    algorithms: tuple[str, ...]
{%- else %}
    introspection_uri: str
    client_id: str
    client_secret: str = field(repr=False)  # kept out of logs and tracebacks
{%- endif %}
    required_scope: str
    realm: str
    leeway_seconds: float = 30
{%- if cookiecutter.token_format == "jwt" %}
    jwks_cache_seconds: float = 300
    jwks_min_refresh_seconds: float = 30
    jwks_max_stale_seconds: float = 86_400
{%- else %}
    introspection_cache_seconds: float = 60
{%- endif %}
    http_timeout_seconds: float = 5
    max_token_bytes: int = 8192
    verified_token_cache_size: int = 10_000
{%- if cookiecutter.token_format == "jwt" %}
    strict_rfc9068: bool = False
    prefetch_keys: bool = False
{%- endif %}
    ca_bundle: str = ""
    tls_verify: bool = True
    #: The API's own public base URL (``https://api.example.com``); names this resource in
    #: challenges and in its RFC 9728 metadata. Empty: only trusted hosts may name it.
    public_url: str = ""
    #: Hosts (``host`` or ``host:port``) whose ``Host`` header may name this API when no
    #: public URL is set; any other client-supplied host is never echoed.
    trusted_hosts: tuple[str, ...] = ()
{%- if cookiecutter.proof_of_possession == "dpop" %}
    #: Refuse plain bearer tokens: every request needs a DPoP-bound token and its proof.
    dpop_required: bool = False
    #: How far a proof's ``iat`` may be from now; also how long a server nonce stays fresh.
    dpop_proof_window_seconds: float = 60
    #: Key of the server nonces (``DPoP-Nonce``); empty: no nonces are asked for.
    dpop_nonce_secret: bytes = field(default=b"", repr=False)
    #: ``redis://`` URL of the replay cache every worker shares; empty: one per process.
    replay_cache_url: str = field(default="", repr=False)  # may hold a password
{%- endif %}


def url_problem(url: str, *, allow_query: bool = False) -> str | None:
    """Why ``url`` may not be used to reach the authorization server, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    del port  # parsed only to validate it
    if not url.isprintable() or any(c in url for c in ' "\\<>'):
        return "URL contains spaces, quotes or control characters"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "expected an absolute https:// URL"
    if parts.username or parts.password or parts.fragment:
        return "URL must not carry credentials or a fragment"
    if parts.query and not allow_query:
        return "URL must not carry a query"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "plain http:// is allowed only for a loopback host; use https://"
    return None


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
