"""RFC 9728 metadata, request ids and the auth decision log."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.auth import OAuthSettings
{%- if cookiecutter.proof_of_possession == "dpop" %}
from {{ cookiecutter.package_name }}.auth.config import DPOP_ALGORITHMS
{%- endif %}
from {{ cookiecutter.package_name }}.request_log import RequestIdFilter

from support import TokenFactory

METADATA = "/.well-known/oauth-protected-resource"


def test_protected_resource_metadata_is_public(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.get(METADATA)
    assert response.status_code == 200
    assert response.json == {
        "resource": tokens.audience,
        "authorization_servers": [tokens.issuer],
        "scopes_supported": [tokens.scope],
        "bearer_methods_supported": ["header"],
{%- if cookiecutter.proof_of_possession == "dpop" %}
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "dpop_bound_access_tokens_required": False,
{%- endif %}
    }


def test_401_challenges_point_at_the_configured_public_url(
    make_app: Callable[..., Flask], settings: OAuthSettings, tokens: TokenFactory
) -> None:
    client = make_app(settings, public_url="https://api.example.net/orders").test_client()
    for headers in ({}, tokens.header("a.b.c"), {"Host": "evil.example"}):
        challenge = client.get("/api/data", headers=headers).headers["WWW-Authenticate"]
        assert f'resource_metadata="https://api.example.net/orders{METADATA}"' in challenge
    assert client.get(METADATA).json["resource"] == "https://api.example.net/orders"


def test_only_a_trusted_host_may_name_the_api(
    make_app: Callable[..., Flask], settings: OAuthSettings
) -> None:
    client = make_app(settings, trusted_hosts=("api.example.net:8443",)).test_client()
    trusted = client.get("/api/data", headers={"Host": "API.example.net:8443"})
    challenge = trusted.headers["WWW-Authenticate"]
    assert f'resource_metadata="http://API.example.net:8443{METADATA}"' in challenge
    for host in ("evil.example", "api.example.net", "api.example.net:8443.evil.example"):
        response = client.get("/api/data", headers={"Host": host})
        assert "resource_metadata" not in response.headers["WWW-Authenticate"]
        assert host not in response.headers["WWW-Authenticate"]
        assert client.get(METADATA, headers={"Host": host}).json["resource"] == settings.audience


def test_without_a_public_url_or_trusted_hosts_no_host_is_echoed(client: FlaskClient) -> None:
    for host in ("localhost", "api.example.com", "evil.example:80"):
        challenge = client.get("/api/data", headers={"Host": host}).headers["WWW-Authenticate"]
        assert "resource_metadata" not in challenge
        assert host not in challenge


def test_request_id_is_kept_or_made(client: FlaskClient) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
    assert kept == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "bad id\u00e9"}).headers["X-Request-ID"]
    assert made and made != "bad id\u00e9" and len(made) == 32


def test_refusals_are_logged_without_the_token(
    client: FlaskClient, tokens: TokenFactory, caplog
) -> None:
    token = tokens.mint(iss="https://evil.example.com")
    with caplog.at_level(logging.DEBUG):
        response = client.get("/api/data", headers=tokens.header(token))
    assert response.status_code == 401
    decisions = [r for r in caplog.records if hasattr(r, "auth")]
    assert decisions and decisions[-1].auth["outcome"] == "invalid_token"
    assert decisions[-1].auth["route"] == "/api/data"
    reasons = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("issuer" in reason for reason in reasons)
    for record in caplog.records:
        for part in token.split("."):
            assert part not in record.getMessage()
            assert part not in str(getattr(record, "auth", ""))


def test_accepted_tokens_are_logged_at_debug(
    client: FlaskClient, tokens: TokenFactory, caplog
) -> None:
    caplog.handler.addFilter(RequestIdFilter())  # as the app's log setup does
    with caplog.at_level(logging.INFO):
        client.get("/api/data", headers=tokens.header(tokens.mint(sub="carol")))
    assert not [r for r in caplog.records if hasattr(r, "auth")]  # nothing at INFO
    with caplog.at_level(logging.DEBUG):
        client.get("/api/data", headers=tokens.header(tokens.mint(sub="carol")))
    record = next(r for r in caplog.records if hasattr(r, "auth"))
    assert record.levelno == logging.DEBUG
    decision = record.auth
    assert decision["outcome"] == "allowed"
    assert decision["sub"] == "carol" and decision["status"] == 200
    assert 0 < decision["latency_ms"] < 10_000
    assert len(record.request_id) == 32
