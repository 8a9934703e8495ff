"""RFC 9728 metadata, request ids and the auth decision log."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.auth import OAuthSettings
{%- if cookiecutter.proof_of_possession == "dpop" %}
from {{ cookiecutter.package_name }}.auth.config import DPOP_ALGORITHMS
{%- endif %}
from {{ cookiecutter.package_name }}.auth.decisions import DECISIONS_LOG
from {{ cookiecutter.package_name }}.request_log import JsonFormatter, RequestIdFilter

from support import AuthorizationServer, TokenFactory

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
    client = make_app(settings, trusted_hosts=("api.example.net",)).test_client()
    trusted = client.get("/api/data", headers={"Host": "API.example.net"})
    challenge = trusted.headers["WWW-Authenticate"]
    assert f'resource_metadata="http://API.example.net{METADATA}"' in challenge
    for host in ("evil.example", "api.example.net.evil.example", "api.example.net:8443"):
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


def test_only_a_plain_request_id_of_at_most_128_characters_is_kept(client: FlaskClient) -> None:
    for plain in ("a" * 128, "trace:1.2_3-x"):
        kept = client.get("/health", headers={"X-Request-ID": plain}).headers["X-Request-ID"]
        assert kept == plain
    for hostile in ("a" * 129, "abc def", "abc\tdef", 'abc"def', "abc,def"):
        made = client.get("/health", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert made != hostile and len(made) == 32


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


def test_refusals_are_logged_at_info(client: FlaskClient, tokens: TokenFactory, caplog) -> None:
    with caplog.at_level(logging.INFO):
        client.get("/api/data", headers=tokens.header(tokens.forge()))
        client.get("/api/data")
    decisions = [r for r in caplog.records if hasattr(r, "auth")]
    assert [r.auth["outcome"] for r in decisions] == ["invalid_token", "invalid_token"]
    assert {r.levelno for r in decisions} == {logging.INFO}


def test_a_token_in_the_query_string_is_never_logged(
    client: FlaskClient, tokens: TokenFactory, caplog
) -> None:
    token = tokens.mint()
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/api/data?access_token={token}&x=1")
    assert response.status_code == 400
    decisions = [r for r in caplog.records if hasattr(r, "auth")]
    assert decisions and decisions[-1].auth["route"] == "/api/data"
    for record in caplog.records:
        assert token not in record.getMessage() and token not in str(record.__dict__)


def test_accepted_tokens_are_logged_at_debug(
    client: FlaskClient, tokens: TokenFactory, auth_server: AuthorizationServer, caplog
) -> None:
{%- if cookiecutter.token_format == "jwt" %}
    auth_server.jwks.delay = 0.05  # the first check waits this long for the key set
{%- else %}
    auth_server.introspection.delay = 0.05  # each check waits this long for the answer
{%- endif %}
    caplog.handler.addFilter(RequestIdFilter())  # as the app's log setup does
    token = tokens.mint(sub="carol")
    with caplog.at_level(logging.DEBUG):
        started = time.perf_counter()
        assert client.get("/api/data", headers=tokens.header(token)).status_code == 200
        elapsed_ms = (time.perf_counter() - started) * 1000
    (record,) = [r for r in caplog.records if hasattr(r, "auth")]
    assert record.levelno == logging.DEBUG
    decision = record.auth
    assert decision["outcome"] == "allowed"
    assert decision["sub"] == "carol" and decision["status"] == 200
    assert 50 <= decision["latency_ms"] <= elapsed_ms  # measured from the request's start
    assert len(record.request_id) == 32
    for part in token.split("."):
        assert part not in str(decision)

    caplog.clear()
    with caplog.at_level(logging.INFO):  # the default level: no line per accepted request
        assert client.get("/api/data", headers=tokens.header(tokens.mint())).status_code == 200
    assert not [r for r in caplog.records if hasattr(r, "auth")]


def test_json_log_lines_carry_the_request_id_and_the_decision(
    client: FlaskClient, tokens: TokenFactory, caplog
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO, logger=DECISIONS_LOG.name)
    DECISIONS_LOG.addHandler(handler)
    try:
        headers = {**tokens.header(tokens.forge()), "X-Request-ID": "trace-42"}
        assert client.get("/api/data", headers=headers).status_code == 401
    finally:
        DECISIONS_LOG.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "trace-42"
    assert entry["level"] == "INFO" and entry["logger"] == DECISIONS_LOG.name
    assert entry["outcome"] == "invalid_token" and entry["status"] == 401
    assert entry["route"] == "/api/data" and entry["method"] == "GET"
