"""OAuthSettings: answers as defaults, environment overrides, bad values stop the start."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.settings import ConfigError, load_settings
{%- if cookiecutter.token_format == "jwt" %}

#: What every environment below starts from: the answers need nothing more.
BASE: dict[str, str] = {}
{%- else %}

#: What every environment below starts from: introspection needs the API's credentials.
BASE = {
    "OAUTH_INTROSPECTION_URI": "http://127.0.0.1:9/introspect",
    "OAUTH_CLIENT_ID": "api",
    "OAUTH_CLIENT_SECRET": "hunter2-value",
}
{%- endif %}


def test_environment_overrides_the_answers() -> None:
    settings = load_settings(
        {
            **BASE,
            "OAUTH_ISSUER": "https://issuer.example.org",
            "OAUTH_AUDIENCE": "api://orders",
            "OAUTH_REQUIRED_SCOPE": "orders:read",
            "OAUTH_LEEWAY_SECONDS": "0",
            "OAUTH_HTTP_TIMEOUT_SECONDS": "2.5",
{%- if cookiecutter.token_format == "jwt" %}
            "OAUTH_JWKS_URI": "http://127.0.0.1:9999/jwks",
            "OAUTH_ALGORITHMS": "ES256, EdDSA",
            "OAUTH_JWKS_CACHE_SECONDS": "1",
            "OAUTH_JWKS_MIN_REFRESH_SECONDS": "0",
            "OAUTH_STRICT_RFC9068": "true",
{%- else %}
            "OAUTH_INTROSPECTION_URI": "https://as.example.org/introspect",
            "OAUTH_INTROSPECTION_CACHE_SECONDS": "5",
            "OAUTH_INTROSPECTION_MAX_CALLS_PER_SECOND": "7",
{%- endif %}
        }
    )
    assert settings.issuer == "https://issuer.example.org"
    assert settings.audience == "api://orders"
    assert settings.required_scope == "orders:read"
    assert settings.leeway_seconds == 0
    assert settings.http_timeout_seconds == 2.5
{%- if cookiecutter.token_format == "jwt" %}
    assert settings.jwks_uri == "http://127.0.0.1:9999/jwks"
    assert settings.algorithms == ("ES256", "EdDSA")
    assert settings.jwks_cache_seconds == 1
    assert settings.jwks_min_refresh_seconds == 0
    assert settings.strict_rfc9068 is True
{%- else %}
    assert settings.introspection_uri == "https://as.example.org/introspect"
    assert settings.introspection_cache_seconds == 5
    assert settings.introspection_max_calls_per_second == 7
    assert "hunter2" not in repr(settings)
{%- endif %}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OAUTH_LEEWAY_SECONDS", "soon"),
        ("OAUTH_LEEWAY_SECONDS", "-1"),
        ("OAUTH_LEEWAY_SECONDS", "nan"),
        ("OAUTH_LEEWAY_SECONDS", "301"),
        ("OAUTH_HTTP_TIMEOUT_SECONDS", "0"),
        ("OAUTH_HTTP_TIMEOUT_SECONDS", "61"),
        ("OAUTH_ISSUER", ""),
        ("OAUTH_ISSUER", "http://issuer.example.com"),
        ("OAUTH_ISSUER", "issuer.example.com"),
        ("OAUTH_ISSUER", "ftp://issuer.example.com"),
        ("OAUTH_ISSUER", "http://localhost.evil.example"),
        ("OAUTH_ISSUER", "http://127.0.0.1.evil.example"),
        ("OAUTH_ISSUER", "https://user@issuer.example.com"),
        ("OAUTH_ISSUER", "https://:secret@issuer.example.com"),
        ("OAUTH_ISSUER", "https://issuer.example.com/#tenant"),
        ("OAUTH_ISSUER", 'https://issuer.example.com/"x'),
        ("OAUTH_AUDIENCE", ""),
        ("OAUTH_AUDIENCE", 'api"x'),
        ("OAUTH_REQUIRED_SCOPE", "two scopes"),
        ("OAUTH_REQUIRED_SCOPE", 'read"'),
        ("OAUTH_REQUIRED_SCOPE", "lecture\u00e9"),
        ("OAUTH_MAX_TOKEN_BYTES", "12kb"),
        ("OAUTH_MAX_TOKEN_BYTES", "255"),
        ("OAUTH_MAX_TOKEN_BYTES", "\u00b2"),  # a digit to str.isdigit, not to int()
        ("OAUTH_MAX_TOKEN_BYTES", "\u0663\u0660\u0660"),  # 300 in Arabic-Indic digits
        ("OAUTH_TLS_VERIFY", "maybe"),
{%- if cookiecutter.token_format == "jwt" %}
        ("OAUTH_JWKS_CACHE_SECONDS", "-5"),
        ("OAUTH_JWKS_MIN_REFRESH_SECONDS", "ten"),
        ("OAUTH_ALGORITHMS", "HS256"),
        ("OAUTH_ALGORITHMS", "none"),
        ("OAUTH_ALGORITHMS", ""),
        ("OAUTH_ALGORITHMS", "rs256"),
        ("OAUTH_JWKS_CACHE_SECONDS", "inf"),
        ("OAUTH_JWKS_URI", "http://10.0.0.1/jwks"),
        ("OAUTH_JWKS_URI", "https://user:secret@example.com/jwks"),
        ("OAUTH_STRICT_RFC9068", "maybe"),
{%- else %}
        ("OAUTH_INTROSPECTION_URI", ""),
        ("OAUTH_INTROSPECTION_URI", "http://10.0.0.1/introspect"),
        ("OAUTH_CLIENT_ID", ""),
        ("OAUTH_CLIENT_SECRET", ""),
        ("OAUTH_INTROSPECTION_CACHE_SECONDS", "-1"),
        ("OAUTH_INTROSPECTION_MAX_CALLS_PER_SECOND", "0"),
        ("OAUTH_INTROSPECTION_MAX_CALLS_PER_SECOND", "many"),
{%- endif %}
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        create_app(environ={**BASE, variable: value})


def test_loopback_http_is_allowed() -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost/issuer", "http://[::1]:9000"):
        assert load_settings({**BASE, "OAUTH_ISSUER": url}).issuer == url


def test_the_limits_themselves_are_allowed() -> None:
    settings = load_settings(
        {
            **BASE,
            "OAUTH_LEEWAY_SECONDS": "300",
            "OAUTH_HTTP_TIMEOUT_SECONDS": "0.05",
            "OAUTH_MAX_TOKEN_BYTES": "256",
        }
    )
    assert settings.leeway_seconds == 300
    assert settings.http_timeout_seconds == 0.05
    assert settings.max_token_bytes == 256
    assert load_settings({**BASE, "OAUTH_HTTP_TIMEOUT_SECONDS": "60"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("TRUE", True), ("Yes", True), ("on", True), ("0", False), ("False", False)],
)
def test_flags_are_read_whatever_their_case(value: str, expected: bool) -> None:
    local = {**BASE, "OAUTH_ISSUER": "http://127.0.0.1:9", "OAUTH_TLS_VERIFY": value}
    assert load_settings(local).tls_verify is expected


def test_the_app_starts_without_reaching_the_authorization_server() -> None:
{%- if cookiecutter.token_format == "jwt" %}
    app = create_app(environ={**BASE, "OAUTH_JWKS_URI": "http://127.0.0.1:9/unreachable"})
{%- else %}
    app = create_app(environ=BASE)
{%- endif %}
    assert app.test_client().get("/health").status_code == 200


def test_ca_bundle_must_exist(tmp_path) -> None:
    with pytest.raises(ConfigError, match="OAUTH_CA_BUNDLE"):
        load_settings({**BASE, "OAUTH_CA_BUNDLE": str(tmp_path / "missing.pem")})
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    settings = load_settings({**BASE, "OAUTH_CA_BUNDLE": str(bundle)})
    assert settings.ca_bundle == str(bundle)


def test_tls_verification_is_on_unless_turned_off() -> None:
    assert load_settings({**BASE, "OAUTH_ISSUER": "http://127.0.0.1:9"}).tls_verify


def test_tls_verification_can_be_off_only_for_loopback(caplog) -> None:
    with pytest.raises(ConfigError, match="OAUTH_TLS_VERIFY"):
        load_settings(
            {**BASE, "OAUTH_ISSUER": "https://login.example.com", "OAUTH_TLS_VERIFY": "false"}
        )
    local = {**BASE, "OAUTH_ISSUER": "https://127.0.0.1:8443", "OAUTH_TLS_VERIFY": "false"}
    assert load_settings(local).tls_verify is False
    create_app(environ=local)
    assert "verification is OFF" in caplog.text


def test_tls_verification_stays_on_when_one_server_is_remote() -> None:
{%- if cookiecutter.token_format == "jwt" %}
    remote = {"OAUTH_JWKS_URI": "https://keys.example.com/jwks"}
{%- else %}
    remote = {"OAUTH_INTROSPECTION_URI": "https://as.example.com/introspect"}
{%- endif %}
    local_issuer = {**BASE, "OAUTH_ISSUER": "https://127.0.0.1:8443", "OAUTH_TLS_VERIFY": "false"}
    with pytest.raises(ConfigError, match="OAUTH_TLS_VERIFY"):
        load_settings({**local_issuer, **remote})
