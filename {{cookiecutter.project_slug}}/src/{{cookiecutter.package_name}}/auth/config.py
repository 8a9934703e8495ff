"""What the token protection needs to know, as one frozen value, and the URL rule it uses.

The app builds an ``OAuthSettings`` (from its answers and environment, in ``settings.py``)
and puts it in ``app.config["OAUTH_SETTINGS"]``; ``OAuth.init_app`` reads it from there.
Nothing in this package reads the environment.
"""

from __future__ import annotations

import ipaddress
import re
{%- if cookiecutter.token_format == "jwt" and cookiecutter.proof_of_possession != "dpop" %}
from dataclasses import dataclass
{%- else %}
from dataclasses import dataclass, field
{%- endif %}
from urllib.parse import urlsplit
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


@dataclass(frozen=True, slots=True)
class IssuerSettings:
    """Another authorization server whose tokens are accepted, with its own keys."""

    issuer: str
    audience: str
    jwks_uri: str
    algorithms: tuple[str, ...]
{%- else %}


@dataclass(frozen=True, slots=True)
class IssuerSettings:
    """Another authorization server whose tokens are accepted, asked at its own endpoint.

    An opaque token names no issuer, so each of these servers must mark its tokens with a
    prefix of its own (``token_prefix``): a token is sent only to the server it names.
    """

    issuer: str
    audience: str
    introspection_uri: str
    token_prefix: str
    client_id: str
    introspection_auth: str = "client_secret_basic"
    client_secret: str = field(default="", repr=False)
    client_key: bytes = field(default=b"", repr=False)
    client_key_alg: str = ""
    client_key_id: str = ""
    token_endpoint: str = ""
    introspection_scope: str = ""
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
    introspection_max_calls_per_second: int = 50
    #: How the API authenticates to the introspection endpoint; see ``client_auth.py``.
    introspection_auth: str = "client_secret_basic"
    #: PEM private key that signs client assertions (``private_key_jwt``).
    client_key: bytes = field(default=b"", repr=False)
    client_key_alg: str = ""  # empty: the key's own algorithm
    client_key_id: str = ""
    #: Where ``bearer`` gets the API's own token; ``private_key_jwt``'s audience when set.
    token_endpoint: str = ""
    introspection_scope: str = ""  # scopes ``bearer`` asks for, space-separated
    #: Ask for signed answers (RFC 9701), checked against this key set.
    introspection_jwt: bool = False
    introspection_jwks_uri: str = ""
    #: ``redis://`` URL of the introspection answers every worker shares; empty: one cache
    #: per process.
    introspection_cache_url: str = field(default="", repr=False)  # may hold a password
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
{%- if cookiecutter.token_format == "jwt" %}
    #: Issuers trusted besides ``issuer``; a token is routed by its ``iss`` to one of them.
    more_issuers: tuple[IssuerSettings, ...] = ()
{%- else %}
    #: The prefix that marks ``issuer``'s tokens; empty: it takes every token that
    #: no issuer of ``more_issuers`` marks.
    token_prefix: str = ""
    #: Issuers trusted besides ``issuer``; a token is routed by its prefix to one of them.
    more_issuers: tuple[IssuerSettings, ...] = ()
{%- endif %}
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


# Printable ASCII without space, quotes, backslash, backtick and angle brackets.
_URL_CHARS = re.compile(r"[\x21\x23-\x26\x28-\x3b\x3d\x3f-\x5b\x5d-\x5f\x61-\x7e]+")
# DNS labels of letters, digits and inner hyphens (urlsplit lowercases the host).
_HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?")


def url_problem(url: str, *, allow_query: bool = False) -> str | None:
    """Why ``url`` may not be used to reach the authorization server, or None.

    The same rule as the answer check at generation, so a URL accepted there is accepted
    here and the other way round. An issuer is an identifier that takes no query (RFC 8414
    section 2); the server's endpoints may carry one (``allow_query=True``).
    """
    if not url:
        return "expected an absolute https:// URL, found nothing"
    if not _URL_CHARS.fullmatch(url):
        return "URL contains spaces, quotes, backslashes, angle brackets or non-ASCII characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return "expected an absolute https:// URL"
    if "@" in parts.netloc:
        return "URL must not carry a user name or password"
    if "#" in url:
        return "URL must not carry a fragment (#...)"
    if not allow_query and "?" in url:
        return "URL must not carry a query (?...)"
    host = parts.hostname or ""
    loopback = is_loopback_host(host)
    if not loopback and not _HOSTNAME.fullmatch(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "URL has an invalid host"
    if parts.scheme == "http" and not loopback:
        return "plain http:// is allowed only for a loopback host; use https://"
    return None


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.ip_network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")
