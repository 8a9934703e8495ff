"""The example routes and the error answers, through the Flask test client."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.auth import require_token

from support import TokenFactory


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["code"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]


def test_health_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_valid_token_reaches_the_view_with_its_claims(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    token = tokens.mint(sub="alice", role="admin", scope=f"{tokens.scope} extra")
    response = client.get("/api/data", headers=tokens.header(token))
    assert response.status_code == 200
    assert response.json == {
        "message": f"Data for user role 'admin' and scope '{tokens.scope} extra'",
        "subject": "alice",
        "scope": f"{tokens.scope} extra",
        "role": "admin",
    }


def test_scp_list_grants_scopes(client: FlaskClient, tokens: TokenFactory) -> None:
    token = tokens.mint(scope=None, scp=["other", tokens.scope])
    response = client.get("/api/data", headers=tokens.header(token))
    assert response.status_code == 200
    assert response.json["scope"] == f"other {tokens.scope}"


def test_no_authorization_header_is_a_bare_challenge(client: FlaskClient) -> None:
    response = client.get("/api/data")
    assert_error(response, 401, "invalid_token")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="')
    assert "error=" not in challenge


@pytest.mark.parametrize(
    "value",
    ["Basic dXNlcjpwYXNz", "Digest username=x", "Token abc", "Bearerabc", "", "   "],
    ids=["basic", "digest", "other", "glued", "empty", "blank"],
)
def test_another_scheme_is_a_bare_challenge(client: FlaskClient, value: str) -> None:
    response = client.get("/api/data", headers={"Authorization": value})
    assert_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="')
    assert "error" not in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer a, Bearer b",
        "Bearer\tabc",
        "Bearer ab\u00e9",
        "Bearer.abc",
        "Bearer~abc",
    ],
    ids=["alone", "space", "two-tokens", "two-credentials", "tab", "non-ascii", "dot", "tilde"],
)
def test_malformed_authorization_header_is_invalid_request(client: FlaskClient, value: str) -> None:
    response = client.get("/api/data", headers={"Authorization": value})
    assert_error(response, 400, "invalid_request")
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.get("/api/data", headers={"Authorization": f"bEaReR {tokens.mint()}"})
    assert response.status_code == 200


def test_token_in_query_string_is_refused(client: FlaskClient, tokens: TokenFactory) -> None:
    token = tokens.mint()
    response = client.get(f"/api/data?access_token={token}")
    assert_error(response, 400, "invalid_request")
    assert token not in response.get_data(as_text=True)


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the request body was read before the token was checked")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_the_body_is_never_read_before_the_token_is_checked(
    app: Flask, tokens: TokenFactory, content_type: str
) -> None:
    @app.post("/upload")
    @require_token
    def upload():
        return {"size": len(request.get_data())}

    environ = {"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(10 * 1024 * 1024)}
    response = app.test_client().post(
        "/upload", content_type=content_type, environ_overrides=environ
    )
    assert_error(response, 401, "invalid_token")


def test_a_token_in_a_form_body_is_not_accepted(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.post("/api/data", data={"access_token": tokens.mint()})
    assert response.status_code in (401, 405)
    response = client.get("/api/data", data={"access_token": tokens.mint()})
    assert_error(response, 401, "invalid_token")


def test_bad_token_is_invalid_token_and_never_echoed(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    token = tokens.mint()
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get("/api/data", headers=tokens.header(tampered))
    assert_error(response, 401, "invalid_token")
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge and 'error_description="' in challenge
    for part in tampered.split("."):
        assert part not in response.get_data(as_text=True)
        assert part not in challenge


def test_missing_scope_is_insufficient_scope(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.get("/api/data", headers=tokens.header(tokens.mint(scope="unrelated")))
    assert_error(response, 403, "insufficient_scope")
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{tokens.scope}"' in challenge


def test_key_set_unavailable_is_server_error(
    client: FlaskClient, tokens: TokenFactory, auth_server
) -> None:
    auth_server.outage(503)
    response = client.get("/api/data", headers=tokens.header(tokens.mint()))
    assert_error(response, 500, "server_error")
    assert "WWW-Authenticate" not in response.headers


def test_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert_error(response, 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    response = client.post("/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"].split(", ")


def test_an_unexpected_error_is_a_json_500_that_tells_nothing_of_it(
    app, tokens: TokenFactory, caplog
) -> None:
    token = tokens.mint()
    detail = f"connection to db://admin:hunter2@db failed for {token}"

    @app.get("/api/broken")
    def broken():
        raise RuntimeError(detail)

    response = app.test_client().get("/api/broken", headers=tokens.header(token))
    assert_error(response, 500, "server_error")
    # the operators learn what happened from the log, the caller does not
    (logged,) = [r for r in caplog.records if r.exc_info and r.levelno == logging.ERROR]
    assert logged.exc_info[0] is RuntimeError
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "db://" not in body and token not in body
    assert response.json == {"code": "server_error", "message": "An unexpected error occurred"}
