"""RFC 9728 metadata, request ids and the auth decision log."""

from __future__ import annotations

import logging

from flask.testing import FlaskClient

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
    }


def test_401_challenges_point_at_the_metadata(client: FlaskClient, tokens: TokenFactory) -> None:
    for headers in ({}, tokens.header("a.b.c")):
        challenge = client.get("/api/data", headers=headers).headers["WWW-Authenticate"]
        assert f'resource_metadata="http://localhost{METADATA}"' in challenge


def test_a_hostile_host_header_never_enters_the_challenge(client: FlaskClient) -> None:
    response = client.get("/api/data", headers={"Host": 'evil", error="x'})
    assert "resource_metadata" not in response.headers.get("WWW-Authenticate", "")
    assert 'error="x' not in response.headers.get("WWW-Authenticate", "")


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
    with caplog.at_level(logging.DEBUG):
        client.get("/api/data", headers=tokens.header(tokens.mint(sub="carol")))
    decision = next(r.auth for r in caplog.records if hasattr(r, "auth"))
    assert decision["outcome"] == "allowed"
    assert decision["sub"] == "carol" and decision["status"] == 200
    assert decision["latency_ms"] >= 0
