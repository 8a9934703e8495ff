"""Settings: answers as defaults, environment overrides, bad values stop the start."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.settings import ConfigError, Settings


def test_environment_overrides_the_answers() -> None:
    settings = Settings.from_environment(
        {
            "OAUTH_ISSUER": "https://issuer.example.org",
            "OAUTH_AUDIENCE": "api://orders",
            "OAUTH_JWKS_URI": "http://127.0.0.1:9999/jwks",
            "OAUTH_ALGORITHMS": "ES256, EdDSA",
            "OAUTH_REQUIRED_SCOPE": "orders:read",
            "OAUTH_LEEWAY_SECONDS": "0",
            "OAUTH_JWKS_CACHE_SECONDS": "1",
            "OAUTH_JWKS_MIN_REFRESH_SECONDS": "0",
            "OAUTH_HTTP_TIMEOUT_SECONDS": "2.5",
            "OAUTH_STRICT_RFC9068": "true",
        }
    )
    assert settings.issuer == "https://issuer.example.org"
    assert settings.audience == "api://orders"
    assert settings.jwks_uri == "http://127.0.0.1:9999/jwks"
    assert settings.algorithms == ("ES256", "EdDSA")
    assert settings.required_scope == "orders:read"
    assert (settings.leeway_seconds, settings.jwks_cache_seconds) == (0, 1)
    assert settings.jwks_min_refresh_seconds == 0
    assert settings.http_timeout_seconds == 2.5
    assert settings.strict_rfc9068 is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OAUTH_LEEWAY_SECONDS", "soon"),
        ("OAUTH_LEEWAY_SECONDS", "-1"),
        ("OAUTH_LEEWAY_SECONDS", "nan"),
        ("OAUTH_JWKS_CACHE_SECONDS", "-5"),
        ("OAUTH_JWKS_MIN_REFRESH_SECONDS", "ten"),
        ("OAUTH_HTTP_TIMEOUT_SECONDS", "0"),
        ("OAUTH_ALGORITHMS", "HS256"),
        ("OAUTH_ALGORITHMS", "none"),
        ("OAUTH_ALGORITHMS", ""),
        ("OAUTH_ISSUER", "http://issuer.example.com"),
        ("OAUTH_ISSUER", "issuer.example.com"),
        ("OAUTH_JWKS_URI", "http://10.0.0.1/jwks"),
        ("OAUTH_JWKS_URI", "https://user:secret@example.com/jwks"),
        ("OAUTH_AUDIENCE", ""),
        ("OAUTH_REQUIRED_SCOPE", "two scopes"),
        ("OAUTH_STRICT_RFC9068", "maybe"),
        ("OAUTH_MAX_TOKEN_BYTES", "12kb"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        create_app(environ={variable: value})


def test_loopback_http_is_allowed() -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost/issuer", "http://[::1]:9000"):
        assert Settings.from_environment({"OAUTH_ISSUER": url}).issuer == url


def test_the_app_starts_without_reaching_the_authorization_server() -> None:
    app = create_app(environ={"OAUTH_JWKS_URI": "http://127.0.0.1:9/unreachable"})
    assert app.test_client().get("/health").status_code == 200


def test_ca_bundle_must_exist(tmp_path) -> None:
    with pytest.raises(ConfigError, match="OAUTH_CA_BUNDLE"):
        Settings.from_environment({"OAUTH_CA_BUNDLE": str(tmp_path / "missing.pem")})
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert Settings.from_environment({"OAUTH_CA_BUNDLE": str(bundle)}).ca_bundle == str(bundle)


def test_tls_verification_can_be_off_only_for_loopback(caplog) -> None:
    with pytest.raises(ConfigError, match="OAUTH_TLS_VERIFY"):
        Settings.from_environment(
            {"OAUTH_ISSUER": "https://login.example.com", "OAUTH_TLS_VERIFY": "false"}
        )
    local = {"OAUTH_ISSUER": "https://127.0.0.1:8443", "OAUTH_TLS_VERIFY": "false"}
    create_app(environ=local)
    assert "verification is OFF" in caplog.text
