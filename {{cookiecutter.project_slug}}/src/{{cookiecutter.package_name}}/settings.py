"""Settings: the answers given at generation, overridden by ``OAUTH_*`` environment variables.

Everything is parsed and checked once, when the app is created: every bad value is
reported at once, one line each, so the service stops at startup instead of failing on a
request.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

{% if cookiecutter.token_format == "jwt" %}from .auth.config import (
    SUPPORTED_ALGORITHMS,
    IssuerSettings,
    OAuthSettings,
    is_loopback_host,
    url_problem,
)
{%- else %}from .auth.client_auth import CREDENTIALS, METHODS, SECRET_METHODS, load_client_key
from .auth.config import IssuerSettings, OAuthSettings, is_loopback_host, url_problem
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
#: The template's example issuer: a project still pointing at it cannot accept any token.
EXAMPLE_ISSUER_HOST = "login.example.com"

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more settings are missing or malformed; one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load_settings(environ: Mapping[str, str] | None = None) -> OAuthSettings:
    """The settings from the generation answers and the ``OAUTH_*`` variables."""
    env = _Environment(os.environ if environ is None else environ)
    settings = env.build(
        OAuthSettings,
        issuer=env.url("OAUTH_ISSUER", DEFAULT_ISSUER, query=False),
        audience=env.text("OAUTH_AUDIENCE", DEFAULT_AUDIENCE),
{%- if cookiecutter.token_format == "jwt" %}
        jwks_uri=env.url("OAUTH_JWKS_URI", DEFAULT_JWKS_URI, required=False, query=True),
        algorithms=env.algorithms("OAUTH_ALGORITHMS", DEFAULT_ALGORITHMS),
{%- else %}
        # The introspection endpoint and the API's own credentials: environment only.
        introspection_uri=env.url("OAUTH_INTROSPECTION_URI", "", query=True),
        client_id=env.text("OAUTH_CLIENT_ID", ""),
        **env.client_authentication(),
        **env.signed_answers(),
{%- endif %}
        required_scope=env.scope("OAUTH_REQUIRED_SCOPE", DEFAULT_REQUIRED_SCOPE),
        realm=REALM,
        leeway_seconds=env.seconds("OAUTH_LEEWAY_SECONDS", 30, maximum=300),
{%- if cookiecutter.token_format == "jwt" %}
        jwks_cache_seconds=env.seconds("OAUTH_JWKS_CACHE_SECONDS", 300),
        jwks_min_refresh_seconds=env.seconds("OAUTH_JWKS_MIN_REFRESH_SECONDS", 30),
        jwks_max_stale_seconds=env.seconds("OAUTH_JWKS_MAX_STALE_SECONDS", 86_400),
{%- else %}
        token_prefix=env.token_prefix("OAUTH_TOKEN_PREFIX"),
        introspection_cache_seconds=env.seconds("OAUTH_INTROSPECTION_CACHE_SECONDS", 60),
        introspection_max_calls_per_second=env.integer(
            "OAUTH_INTROSPECTION_MAX_CALLS_PER_SECOND", 50, minimum=1
        ),
        introspection_cache_url=env.redis_url("OAUTH_INTROSPECTION_CACHE_URL"),
{%- endif %}
        http_timeout_seconds=env.seconds("OAUTH_HTTP_TIMEOUT_SECONDS", 5, minimum=0.05, maximum=60),
        max_token_bytes=env.integer("OAUTH_MAX_TOKEN_BYTES", 8192, minimum=256),
        verified_token_cache_size=env.integer("OAUTH_VERIFIED_TOKEN_CACHE_SIZE", 10_000, minimum=0),
{%- if cookiecutter.token_format == "jwt" %}
        strict_rfc9068=env.flag("OAUTH_STRICT_RFC9068", False),
        prefetch_keys=env.flag("OAUTH_PREFETCH_KEYS", False),
{%- endif %}
        ca_bundle=env.file("OAUTH_CA_BUNDLE"),
        tls_verify=env.flag("OAUTH_TLS_VERIFY", True),
{%- if cookiecutter.proof_of_possession == "dpop" %}
        # DPoP proofs name the URL they are made for: an API that takes only DPoP tokens
        # must know its own.
        public_url=env.public_url(
            "OAUTH_PUBLIC_URL",
            required=env.raw("OAUTH_DPOP").lower() == "required"
            and not env.raw("OAUTH_TRUSTED_HOSTS"),
        ),
{%- else %}
        public_url=env.public_url("OAUTH_PUBLIC_URL"),
{%- endif %}
        trusted_hosts=env.hosts("OAUTH_TRUSTED_HOSTS"),
{%- if cookiecutter.proof_of_possession == "dpop" %}
        dpop_required=env.choice("OAUTH_DPOP", "allowed", ("allowed", "required")) == "required",
        dpop_proof_window_seconds=env.seconds(
            "OAUTH_DPOP_PROOF_WINDOW_SECONDS", 60, minimum=1, maximum=600
        ),
        dpop_nonce_secret=env.secret_key(
            "OAUTH_DPOP_NONCE_SECRET", wanted=env.flag("OAUTH_DPOP_NONCE", False)
        ),
        replay_cache_url=env.redis_url("OAUTH_REPLAY_CACHE_URL"),
{%- endif %}
    )
    settings = dataclasses.replace(
        settings, more_issuers=env.more_issuers("OAUTH_ISSUERS_FILE", settings)
    )
{%- if cookiecutter.token_format == "jwt" %}
    server_urls = [settings.issuer, settings.jwks_uri]
    for more in settings.more_issuers:
        server_urls += [more.issuer, more.jwks_uri]
{%- else %}
    server_urls = [
        settings.issuer,
        settings.introspection_uri,
        settings.token_endpoint,
        settings.introspection_jwks_uri,
    ]
    for more in settings.more_issuers:
        server_urls += [more.issuer, more.introspection_uri, more.token_endpoint]
{%- endif %}
{%- if cookiecutter.token_format == "opaque" %}
    if settings.introspection_cache_url and settings.introspection_cache_seconds == 0:
        raise ConfigError(
            [
                "OAUTH_INTROSPECTION_CACHE_URL is set, but OAUTH_INTROSPECTION_CACHE_SECONDS=0 "
                "lets no answer be reused: unset one of them"
            ]
        )
{%- endif %}
    if not settings.tls_verify and not all(
        is_loopback_host(urlsplit(url).hostname or "") for url in server_urls if url
    ):
        raise ConfigError(
            [
                "OAUTH_TLS_VERIFY=false: certificate checks may be turned off only when "
                "the authorization server is on a loopback host (local development)"
            ]
        )
    return settings


def uses_example_issuer(settings: OAuthSettings) -> bool:
    """True while the issuer is still the template's example, which issues no tokens."""
    return urlsplit(settings.issuer).hostname == EXAMPLE_ISSUER_HOST


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class _Invalid(Exception):
    """A variable's value is unusable; the message says what was expected."""


def _noted(read: Callable[..., T]) -> Callable[..., T]:
    """Turn ``_Invalid`` into a noted problem, so every variable is read and checked."""

    @functools.wraps(read)
    def reader(env: _Environment, name: str, *args: object, **kwargs: object) -> T:
        try:
            return read(env, name, *args, **kwargs)
        except _Invalid as invalid:
            value = env.environ.get(name)
            if value is None:
                env.problems.append(f"{name} is not set: {invalid}")
            elif not value.strip():
                env.problems.append(f"{name} is set but empty: {invalid}")
            else:
                env.problems.append(f"{name}={value.strip()!r}: {invalid}")
            return None  # type: ignore[return-value]  # never used: build() raises first

    return reader


class _Environment:
    """Reads the variables; each bad value is noted, and ``build`` reports them all."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def build(self, factory: Callable[..., T], **values: object) -> T:
        if self.problems:
            raise ConfigError(self.problems)
        return factory(**values)

    def more_issuers(self, name: str, settings: OAuthSettings) -> tuple[IssuerSettings, ...]:
        """Issuers listed in the TOML file ``name`` points at; see the README for its format."""
        path = self._raw(name, "")
        if not path:
            return ()
        try:
            with open(path, "rb") as file:
                document = tomllib.load(file)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError([f"{name}={path!r}: cannot be read as TOML ({error})"]) from None
        entries = document.get("issuer", [])
        problems = [] if isinstance(entries, list) else ["expected [[issuer]] tables"]
        issuers: list[IssuerSettings] = []
        seen = {settings.issuer}
        for number, entry in enumerate(entries if not problems else [], start=1):
            try:
{%- if cookiecutter.token_format == "jwt" %}
                issuer = _issuer_entry(entry, settings)
{%- else %}
                issuer = _issuer_entry(entry, settings, self.environ)
{%- endif %}
            except _Invalid as invalid:
                problems.append(f"issuer #{number}: {invalid}")
                continue
            if issuer.issuer in seen:
                problems.append(f"issuer #{number}: {issuer.issuer!r} is listed twice")
            seen.add(issuer.issuer)
            issuers.append(issuer)
{%- if cookiecutter.token_format == "opaque" %}
        problems += _prefix_clashes(settings.token_prefix, issuers)
{%- endif %}
        if problems:
            raise ConfigError([f"{name}={path!r}: {problem}" for problem in problems])
        return tuple(issuers)

    def _raw(self, name: str, default: str) -> str:
        return self.environ.get(name, default).strip()
{%- if cookiecutter.proof_of_possession == "dpop" %}

    def raw(self, name: str) -> str:
        return self._raw(name, "")
{%- endif %}

    @_noted
    def text(self, name: str, default: str, *, required: bool = True) -> str:
        value = self._raw(name, default)
        if not value and not required:
            return ""
        if not value or not value.isprintable() or any(c in value for c in ' "\\'):
            raise _Invalid("expected a non-empty value without spaces or quotes")
        return value

    @_noted
    def url(self, name: str, default: str, *, required: bool = True, query: bool = False) -> str:
        value = self._raw(name, default)
        if not value:
            if required:
                raise _Invalid("expected an absolute https:// URL")
            return ""
        problem = url_problem(value, allow_query=query)
        if problem:
            raise _Invalid(problem)
        return value

    @_noted
    def public_url(self, name: str{% if cookiecutter.proof_of_possession == "dpop" %}, *, required: bool = False{% endif %}) -> str:
        value = self._raw(name, "")
{%- if cookiecutter.proof_of_possession == "dpop" %}
        if not value and required:
            raise _Invalid(
                "expected the API's public URL (https://host[/path]) or OAUTH_TRUSTED_HOSTS"
            )
{%- endif %}
        if value and public_url_problem(value):
            raise _Invalid(public_url_problem(value) or "")
        return value.rstrip("/")

    @_noted
    def hosts(self, name: str) -> tuple[str, ...]:
        hosts = tuple(part.strip().lower() for part in self._raw(name, "").split(","))
        hosts = tuple(host for host in hosts if host)
        if not all(_HOST.fullmatch(host) for host in hosts):
            raise _Invalid("expected comma-separated host names, each with an optional :port")
        return hosts
{%- if cookiecutter.token_format == "jwt" %}

    @_noted
    def algorithms(self, name: str, default: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in self._raw(name, default).split(",") if part.strip())
        if not names or any(n not in SUPPORTED_ALGORITHMS for n in names):
            raise _Invalid(f"expected a comma-separated list of {', '.join(SUPPORTED_ALGORITHMS)}")
        return tuple(dict.fromkeys(names))
{%- endif %}

    @_noted
    def scope(self, name: str, default: str) -> str:
        value = self._raw(name, default)
        if not value or any(c <= " " or c in '"\\' or c > "~" for c in value):
            raise _Invalid("expected one scope token (RFC 6749)")
        return value

    @_noted
    def seconds(
        self, name: str, default: float, *, minimum: float = 0, maximum: float = 31_536_000
    ) -> float:
        try:
            number = float(self._raw(name, str(default)))
        except ValueError:
            number = float("nan")
        if not minimum <= number <= maximum:  # also refuses NaN
            raise _Invalid(f"expected a number of seconds from {minimum:g} to {maximum:g}")
        return number

    @_noted
    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self._raw(name, str(default))
        # isascii: str.isdigit also takes digits int() refuses ("²") or reads (Arabic-Indic)
        if not (value.isascii() and value.isdigit()) or int(value) < minimum:
            raise _Invalid(f"expected a whole number >= {minimum}")
        return int(value)
{%- if cookiecutter.token_format == "opaque" %}

    def client_authentication(self) -> dict[str, object]:
        """``OAUTH_INTROSPECTION_AUTH`` and what its method needs; credentials it does not
        use are refused, so a half-done switch of method stops the start."""
        method = self.choice("OAUTH_INTROSPECTION_AUTH", "client_secret_basic", METHODS)
        if method is None:
            return {"client_secret": ""}
        key_jwt, bearer = method == "private_key_jwt", method == "bearer"
        for name in _unused_credentials(method, _CREDENTIAL_VARIABLES, self.environ.get):
            self.problems.append(f"{name} is set, but OAUTH_INTROSPECTION_AUTH={method} ignores it")
        values: dict[str, object] = {"introspection_auth": method, "client_secret": ""}
        if method in SECRET_METHODS:
            values["client_secret"] = self.secret("OAUTH_CLIENT_SECRET")
        if key_jwt:
            values["client_key"] = key = self.client_key("OAUTH_CLIENT_KEY_FILE")
            values["client_key_alg"] = self.key_algorithm("OAUTH_CLIENT_KEY_ALG", key)
            values["client_key_id"] = self.text("OAUTH_CLIENT_KEY_ID", "", required=False)
        if key_jwt or bearer:
            values["token_endpoint"] = self.url(
                "OAUTH_TOKEN_ENDPOINT", "", required=bearer, query=True
            )
        if bearer:
            values["introspection_scope"] = self.scopes("OAUTH_INTROSPECTION_SCOPE")
        return values

    def signed_answers(self) -> dict[str, object]:
        """``OAUTH_INTROSPECTION_JWT`` and the key set that signed answers are checked with."""
        signed = self.flag("OAUTH_INTROSPECTION_JWT", False)
        if not signed and self.environ.get("OAUTH_INTROSPECTION_JWKS_URI"):
            self.problems.append(
                "OAUTH_INTROSPECTION_JWKS_URI is set, but OAUTH_INTROSPECTION_JWT is off"
            )
        jwks_uri = self.url("OAUTH_INTROSPECTION_JWKS_URI", "", query=True) if signed else ""
        return {"introspection_jwt": bool(signed), "introspection_jwks_uri": jwks_uri}

    @_noted
    def secret(self, name: str) -> str:
        value = self.environ.get(name, "")  # not stripped: a secret is taken as given
        if not value:
            raise _Invalid("expected the API's client secret for introspection")
        return value

    @_noted
    def client_key(self, name: str) -> bytes:
        path = self._raw(name, "")
        if not path:
            raise _Invalid("expected the path of the API's PEM private key (private_key_jwt)")
        try:
            with open(path, "rb") as file:
                pem = file.read(64 * 1024)
            load_client_key(pem)
        except OSError as error:
            raise _Invalid(f"cannot be read ({error.strerror})") from None
        except ValueError as error:
            raise _Invalid(str(error)) from None
        return pem

    @_noted
    def key_algorithm(self, name: str, pem: bytes | None) -> str:
        if pem is None:
            return ""  # the key file's problem is noted already
        try:
            return load_client_key(pem, self._raw(name, ""))[1]
        except ValueError as error:
            raise _Invalid(str(error)) from None

    @_noted
    def token_prefix(self, name: str) -> str:
        value = self._raw(name, "")
        if value and not _TOKEN_PREFIX.fullmatch(value):
            raise _Invalid(_TOKEN_PREFIX_RULE)
        return value

    @_noted
    def scopes(self, name: str) -> str:
        value = self._raw(name, "")
        if value and not _SCOPES.fullmatch(value):
            raise _Invalid("expected scopes separated by single spaces (RFC 6749)")
        return value
{%- endif %}

{%- if cookiecutter.token_format == "opaque" or cookiecutter.proof_of_possession == "dpop" %}

    @_noted
    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._raw(name, default)
        if value not in choices:
            raise _Invalid(f"expected one of {', '.join(choices)}")
        return value

    def redis_url(self, name: str) -> str:
        """A ``redis://`` URL; it may hold a password, so a bad one is never echoed."""
        value = self._raw(name, "")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- raises ValueError for a bad port
            scheme = parts.scheme
        except ValueError:  # a bad port or IPv6 address
            scheme = ""
        if value and scheme not in ("redis", "rediss", "unix"):
            self.problems.append(f"{name}: expected redis://host:port/db, rediss://... or unix://")
        return value
{%- endif %}
{%- if cookiecutter.proof_of_possession == "dpop" %}

    def secret_key(self, name: str, *, wanted: bool) -> bytes:
        """A shared secret, required when ``wanted``; never echoed in a problem."""
        value = self.environ.get(name, "")  # not stripped: a secret is taken as given
        if not wanted:
            return b""
        if len(value) < 32:
            self.problems.append(
                f"{name}: expected a random secret of at least 32 characters, the same for "
                "every worker and instance"
            )
        return value.encode()
{%- endif %}

    @_noted
    def file(self, name: str) -> str:
        value = self._raw(name, "")
        if value and not os.path.isfile(value):
            raise _Invalid("no such file")
        return value

    @_noted
    def flag(self, name: str, default: bool) -> bool:
        value = self._raw(name, "1" if default else "0").lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise _Invalid("expected true or false (1/0, yes/no)")
{%- if cookiecutter.token_format == "jwt" %}


_ISSUER_KEYS = {"issuer", "audience", "jwks_uri", "algorithms"}


def _issuer_entry(entry: object, settings: OAuthSettings) -> IssuerSettings:
    """One ``[[issuer]]`` table; what it leaves out is taken from ``settings``."""
    if not isinstance(entry, dict):
        raise _Invalid("expected a table")
    unknown = sorted(set(entry) - _ISSUER_KEYS)
    if unknown:
        raise _Invalid(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_ISSUER_KEYS))})")
    issuer, audience = entry.get("issuer"), entry.get("audience", settings.audience)
    jwks_uri, algorithms = entry.get("jwks_uri", ""), entry.get("algorithms", settings.algorithms)
    if not isinstance(issuer, str) or (problem := url_problem(issuer)):
        raise _Invalid(f"issuer {issuer!r}: {problem if isinstance(issuer, str) else 'missing'}")
    if not isinstance(audience, str) or not audience or not audience.isprintable():
        raise _Invalid(f"audience {audience!r}: expected a non-empty string")
    if not isinstance(jwks_uri, str) or (jwks_uri and url_problem(jwks_uri, allow_query=True)):
        raise _Invalid(f"jwks_uri {jwks_uri!r}: expected empty (discovery) or an https:// URL")
    if (
        not isinstance(algorithms, list | tuple)
        or not algorithms
        or any(algorithm not in SUPPORTED_ALGORITHMS for algorithm in algorithms)
    ):
        raise _Invalid(f"algorithms {algorithms!r}: expected a list from {SUPPORTED_ALGORITHMS}")
    return IssuerSettings(issuer, audience, jwks_uri, tuple(dict.fromkeys(algorithms)))
{%- endif %}
{%- if cookiecutter.token_format == "opaque" %}


_SCOPE = r"[\x21\x23-\x5b\x5d-\x7e]+"  # RFC 6749 section 3.3
_SCOPES = re.compile(f"{_SCOPE}( {_SCOPE})*")
# Characters of a bearer token (RFC 6750 section 2.1), without the closing "=" padding.
_TOKEN_PREFIX = re.compile(r"[A-Za-z0-9\-._~+/]{1,64}")
_TOKEN_PREFIX_RULE = "expected 1 to 64 letters, digits or -._~+/ (how a token begins)"
_ISSUER_KEYS = {
    "issuer",
    "audience",
    "introspection_uri",
    "token_prefix",
    "client_id",
    "auth",
    "client_secret_env",
    "client_key_file",
    "client_key_alg",
    "client_key_id",
    "token_endpoint",
    "introspection_scope",
}


def _issuer_entry(
    entry: object, settings: OAuthSettings, environ: Mapping[str, str]
) -> IssuerSettings:
    """One ``[[issuer]]`` table; what it leaves out is taken from ``settings``.

    Secrets stay out of the file: ``client_secret_env`` names the variable that holds one.
    """
    if not isinstance(entry, dict):
        raise _Invalid("expected a table")
    if "client_secret" in entry:
        raise _Invalid(
            "client_secret: secrets stay out of the file; name their variable in client_secret_env"
        )
    unknown = sorted(set(entry) - _ISSUER_KEYS)
    if unknown:
        raise _Invalid(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_ISSUER_KEYS))})")
    issuer, audience = entry.get("issuer"), entry.get("audience", settings.audience)
    if not isinstance(issuer, str) or (problem := url_problem(issuer)):
        raise _Invalid(f"issuer {issuer!r}: {problem if isinstance(issuer, str) else 'missing'}")
    if not isinstance(audience, str) or not audience or not audience.isprintable():
        raise _Invalid(f"audience {audience!r}: expected a non-empty string")
    prefix = entry.get("token_prefix")
    if not isinstance(prefix, str) or not _TOKEN_PREFIX.fullmatch(prefix):
        raise _Invalid(f"token_prefix {prefix!r}: {_TOKEN_PREFIX_RULE}")
    client_id = entry.get("client_id", settings.client_id)
    if not isinstance(client_id, str) or not client_id or not client_id.isprintable():
        raise _Invalid(f"client_id {client_id!r}: expected a non-empty string")
    method = entry.get("auth", "client_secret_basic")
    if method not in METHODS:
        raise _Invalid(f"auth {method!r}: expected one of {', '.join(METHODS)}")
    key_jwt, bearer = method == "private_key_jwt", method == "bearer"
    unused = _unused_credentials(method, _CREDENTIAL_KEYS, entry.get)
    if unused:
        raise _Invalid(f"{unused[0]} is set, but auth = {method!r} ignores it")
    values: dict[str, object] = {
        "introspection_uri": _entry_url(entry, "introspection_uri", required=True),
        "token_endpoint": _entry_url(entry, "token_endpoint", required=bearer),
        "introspection_scope": _entry_text(entry, "introspection_scope"),
        "client_key_id": _entry_text(entry, "client_key_id"),
    }
    scope = values["introspection_scope"]
    if scope and not _SCOPES.fullmatch(str(scope)):
        raise _Invalid("introspection_scope: expected scopes separated by single spaces")
    if method in SECRET_METHODS:
        variable = _entry_text(entry, "client_secret_env")
        if not variable:
            raise _Invalid(
                f"auth = {method!r} needs client_secret_env, the name of the environment "
                "variable that holds this issuer's client secret (secrets stay out of the file)"
            )
        if not environ.get(variable):
            raise _Invalid(f"client_secret_env {variable!r}: that variable is not set or empty")
        values["client_secret"] = environ[variable]
    if key_jwt:
        path = _entry_text(entry, "client_key_file")
        try:
            with open(path, "rb") as file:
                pem = file.read(64 * 1024)
            values["client_key_alg"] = load_client_key(pem, _entry_text(entry, "client_key_alg"))[1]
        except OSError as error:
            raise _Invalid(f"client_key_file {path!r}: cannot be read ({error.strerror})") from None
        except ValueError as error:
            raise _Invalid(f"client_key_file {path!r}: {error}") from None
        values["client_key"] = pem
    return IssuerSettings(
        issuer,
        audience,
        token_prefix=prefix,
        client_id=client_id,
        introspection_auth=method,
        **values,
    )


# Where each credential of ``client_auth.CREDENTIALS`` is set: variable, issuers file key.
_CREDENTIAL_VARIABLES = {
    "client_secret": "OAUTH_CLIENT_SECRET",
    "client_key": "OAUTH_CLIENT_KEY_FILE",
    "client_key_alg": "OAUTH_CLIENT_KEY_ALG",
    "client_key_id": "OAUTH_CLIENT_KEY_ID",
    "token_endpoint": "OAUTH_TOKEN_ENDPOINT",
    "introspection_scope": "OAUTH_INTROSPECTION_SCOPE",
}
_CREDENTIAL_KEYS = {
    "client_secret": "client_secret_env",
    "client_key": "client_key_file",
    "client_key_alg": "client_key_alg",
    "client_key_id": "client_key_id",
    "token_endpoint": "token_endpoint",
    "introspection_scope": "introspection_scope",
}


def _unused_credentials(
    method: str, names: Mapping[str, str], value_of: Callable[[str], object]
) -> list[str]:
    """The names of the credentials set (a value other than None or empty) that ``method``
    does not use."""
    return [
        name
        for credential, name in names.items()
        if credential not in CREDENTIALS[method] and value_of(name) not in (None, "")
    ]


def _entry_text(entry: dict[str, object], key: str) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or not value.isprintable():
        raise _Invalid(f"{key} {value!r}: expected a string")
    return value


def _entry_url(entry: dict[str, object], key: str, *, required: bool) -> str:
    value = _entry_text(entry, key)
    if (value or required) and (problem := url_problem(value, allow_query=True)):
        raise _Invalid(f"{key} {value!r}: {problem}")
    return value


def _prefix_clashes(own_prefix: str, issuers: list[IssuerSettings]) -> list[str]:
    """Every pair of prefixes one of which starts the other: a token could go to either."""
    prefixes = [("OAUTH_TOKEN_PREFIX", own_prefix)] if own_prefix else []
    prefixes += [(issuer.issuer, issuer.token_prefix) for issuer in issuers]
    return [
        f"token_prefix {prefix!r} of {name} and {other!r} of {other_name} overlap: "
        "a token could belong to both; no prefix may begin another"
        for number, (name, prefix) in enumerate(prefixes)
        for other_name, other in prefixes[:number]
        if prefix.startswith(other) or other.startswith(prefix)
    ]
{%- endif %}


_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?|\[[0-9a-f:.]+\](:[0-9]{1,5})?")


def public_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be this API's public base URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    del port  # parsed only to validate it
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "expected the API's absolute URL: https://host[:port][/path]"
    if not url.isprintable() or " " in url or parts.query or parts.fragment or parts.username:
        return "expected a base URL without spaces, query, fragment or credentials"
    return None
