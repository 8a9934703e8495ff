"""Settings: the answers given at generation, overridden by ``OAUTH_*`` environment variables.

Everything is parsed and checked once, when the app is created, so a bad value stops the
service at startup with a message naming the variable instead of failing on a request.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
{%- if cookiecutter.token_format == "jwt" %}
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

# Defaults: the answers given when this project was generated.
DEFAULT_ISSUER = {{ cookiecutter.issuer | tojson }}
DEFAULT_AUDIENCE = {{ cookiecutter.audience | tojson }}
{%- if cookiecutter.token_format == "jwt" %}
DEFAULT_JWKS_URI = {{ cookiecutter.jwks_uri | tojson }}
DEFAULT_ALGORITHMS = {{ cookiecutter.algorithms | tojson }}
{%- endif %}
DEFAULT_REQUIRED_SCOPE = {{ cookiecutter.required_scope | tojson }}
REALM = {{ cookiecutter.project_slug | tojson }}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
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
    realm: str = REALM

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the generation answers and the ``OAUTH_*`` variables."""
        env = _Environment(os.environ if environ is None else environ)
        settings = cls(
            issuer=env.url("OAUTH_ISSUER", DEFAULT_ISSUER),
            audience=env.text("OAUTH_AUDIENCE", DEFAULT_AUDIENCE),
{%- if cookiecutter.token_format == "jwt" %}
            jwks_uri=env.url("OAUTH_JWKS_URI", DEFAULT_JWKS_URI, allow_empty=True),
            algorithms=env.algorithms("OAUTH_ALGORITHMS", DEFAULT_ALGORITHMS),
{%- else %}
            # The introspection endpoint and the API's own credentials: environment only.
            introspection_uri=env.url("OAUTH_INTROSPECTION_URI", ""),
            client_id=env.text("OAUTH_CLIENT_ID", ""),
            client_secret=env.secret("OAUTH_CLIENT_SECRET"),
{%- endif %}
            required_scope=env.scope("OAUTH_REQUIRED_SCOPE", DEFAULT_REQUIRED_SCOPE),
            leeway_seconds=env.seconds("OAUTH_LEEWAY_SECONDS", 30, maximum=300),
{%- if cookiecutter.token_format == "jwt" %}
            jwks_cache_seconds=env.seconds("OAUTH_JWKS_CACHE_SECONDS", 300),
            jwks_min_refresh_seconds=env.seconds("OAUTH_JWKS_MIN_REFRESH_SECONDS", 30),
            jwks_max_stale_seconds=env.seconds("OAUTH_JWKS_MAX_STALE_SECONDS", 86_400),
{%- else %}
            introspection_cache_seconds=env.seconds("OAUTH_INTROSPECTION_CACHE_SECONDS", 60),
{%- endif %}
            http_timeout_seconds=env.seconds(
                "OAUTH_HTTP_TIMEOUT_SECONDS", 5, minimum=0.05, maximum=60
            ),
            max_token_bytes=env.integer("OAUTH_MAX_TOKEN_BYTES", 8192, minimum=256),
            verified_token_cache_size=env.integer(
                "OAUTH_VERIFIED_TOKEN_CACHE_SIZE", 10_000, minimum=0
            ),
{%- if cookiecutter.token_format == "jwt" %}
            strict_rfc9068=env.flag("OAUTH_STRICT_RFC9068", False),
            prefetch_keys=env.flag("OAUTH_PREFETCH_KEYS", False),
{%- endif %}
            ca_bundle=env.file("OAUTH_CA_BUNDLE"),
            tls_verify=env.flag("OAUTH_TLS_VERIFY", True),
        )
{%- if cookiecutter.token_format == "jwt" %}
        server_urls = (settings.issuer, settings.jwks_uri)
{%- else %}
        server_urls = (settings.issuer, settings.introspection_uri)
{%- endif %}
        if not settings.tls_verify and not all(
            is_loopback_host(urlsplit(url).hostname or "") for url in server_urls if url
        ):
            raise ConfigError(
                "OAUTH_TLS_VERIFY=false: certificate checks may be turned off only when "
                "the authorization server is on a loopback host (local development)"
            )
        return settings


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class _Environment:
    """Reads one variable at a time and turns a bad value into a ConfigError."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _raw(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def text(self, name: str, default: str) -> str:
        value = self._raw(name, default)
        if not value or not value.isprintable() or any(c in value for c in ' "\\'):
            raise ConfigError(
                f"{name}={value!r}: expected a non-empty value without spaces or quotes"
            )
        return value

    def url(self, name: str, default: str, *, allow_empty: bool = False) -> str:
        value = self._raw(name, default)
        if not value:
            if allow_empty:
                return ""
            raise ConfigError(f"{name} is not set: expected an absolute https:// URL")
        problem = url_problem(value)
        if problem:
            raise ConfigError(f"{name}={value!r}: {problem}")
        return value
{%- if cookiecutter.token_format == "jwt" %}

    def algorithms(self, name: str, default: str) -> tuple[str, ...]:
        value = self._raw(name, default)
        names = tuple(part.strip() for part in value.split(",") if part.strip())
        unknown = [n for n in names if n not in SUPPORTED_ALGORITHMS]
        if not names or unknown:
            raise ConfigError(
                f"{name}={value!r}: expected a comma-separated list of "
                f"{', '.join(SUPPORTED_ALGORITHMS)}"
            )
        return tuple(dict.fromkeys(names))
{%- endif %}

    def scope(self, name: str, default: str) -> str:
        value = self._raw(name, default)
        if not value or any(c <= " " or c in '"\\' or c > "~" for c in value):
            raise ConfigError(f"{name}={value!r}: expected one scope token (RFC 6749)")
        return value

    def seconds(
        self,
        name: str,
        default: float,
        *,
        minimum: float = 0,
        maximum: float = 31_536_000,
    ) -> float:
        value = self._raw(name, str(default))
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not minimum <= number <= maximum:  # also refuses NaN
            raise ConfigError(
                f"{name}={value!r}: expected a number of seconds from {minimum:g} to {maximum:g}"
            )
        return number

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self._raw(name, str(default))
        # isascii: str.isdigit also takes digits int() refuses ("²") or reads (Arabic-Indic)
        if not (value.isascii() and value.isdigit()) or int(value) < minimum:
            raise ConfigError(f"{name}={value!r}: expected a whole number >= {minimum}")
        return int(value)

{%- if cookiecutter.token_format == "opaque" %}

    def secret(self, name: str) -> str:
        value = self._environ.get(name, "")
        if not value:
            raise ConfigError(f"{name} is not set: the API's client secret for introspection")
        return value
{%- endif %}

    def file(self, name: str) -> str:
        value = self._raw(name, "")
        if value and not os.path.isfile(value):
            raise ConfigError(f"{name}={value!r}: no such file")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self._raw(name, "1" if default else "0").lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ConfigError(f"{name}={value!r}: expected true or false (1/0, yes/no)")


def url_problem(url: str) -> str | None:
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
