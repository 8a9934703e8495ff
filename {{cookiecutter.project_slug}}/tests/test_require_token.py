"""``@require_token`` and ``current_token``: one meaning in both protection modes.

A route's requirement adds to ``OAUTH_REQUIRED_SCOPE``; the decorator works bare and
called; a misuse fails at import time with a message that says the fix.
"""

from __future__ import annotations

import pytest
from flask import Flask, jsonify

from {{ cookiecutter.package_name }}.auth import OAuth, current_token, require_token

from support import TokenFactory


def add_routes(app: Flask) -> None:
    @app.get("/bare")
    @require_token
    def bare_route():
        return jsonify(
            subject=current_token.subject,
            client_id=current_token.client_id,
            issuer=current_token.issuer,
            scopes=sorted(current_token.scopes),
        )

    @app.get("/called")
    @require_token()
    def called_route():
        return jsonify(subject=current_token.subject)

    @app.get("/write")
    @require_token("write")
    def write_route():
        return jsonify(written=True)

    @app.get("/write-and-delete")
    @require_token(["write", "delete"])
    def write_and_delete_route():
        return jsonify(done=True)

    @app.get("/write-or-delete")
    @require_token("write delete", any_scope=True)
    def write_or_delete_route():
        return jsonify(done=True)

    @app.get("/admin")
    @require_token(claims={"role": ["admin", "owner"]})
    def admin_route():
        return jsonify(admin=True)

    @app.get("/with-role")
    @require_token(claims={"role": None})
    def with_role_route():
        return jsonify(done=True)

    @app.get("/write-as-admin")
    @require_token("write", claims={"role": "admin"})
    def write_as_admin_route():
        return jsonify(done=True)


def status(app: Flask, path: str, tokens: TokenFactory, **claims: object) -> int:
    token = tokens.mint(**claims)
    return app.test_client().get(path, headers=tokens.header(token)).status_code


@pytest.mark.parametrize("path", ["/bare", "/called"])
def test_bare_and_called_forms_need_a_token_with_the_base_scope(
    app: Flask, tokens: TokenFactory, path: str
) -> None:
    add_routes(app)
    assert app.test_client().get(path).status_code == 401
    assert status(app, path, tokens) == 200
    assert status(app, path, tokens, scope="unrelated") == 403


def test_current_token_carries_subject_client_issuer_and_scopes(
    app: Flask, tokens: TokenFactory
) -> None:
    add_routes(app)
    token = tokens.mint(sub="bob", client_id="web-app", scope=f"{tokens.scope} extra")
    response = app.test_client().get("/bare", headers=tokens.header(token))
    assert response.json == {
        "subject": "bob",
        "client_id": "web-app",
        "issuer": tokens.issuer,
        "scopes": sorted({tokens.scope, "extra"}),
    }


def test_route_scopes_add_to_the_base_scope(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    assert status(app, "/write", tokens, scope=f"{tokens.scope} write") == 200
    assert status(app, "/write", tokens, scope="write") == 403  # the base scope is missing
    assert status(app, "/write", tokens, scope=tokens.scope) == 403


def test_all_scopes_are_required_by_default(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    path = "/write-and-delete"
    assert status(app, path, tokens, scope=f"{tokens.scope} write delete") == 200
    assert status(app, path, tokens, scope=f"{tokens.scope} write") == 403
    assert status(app, path, tokens, scope=f"{tokens.scope} delete") == 403


def test_any_scope_needs_one_of_them(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    path = "/write-or-delete"
    assert status(app, path, tokens, scope=f"{tokens.scope} delete") == 200
    response = app.test_client().get(path, headers=tokens.header(tokens.mint()))
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"
    assert 'scope="delete write"' in response.headers["WWW-Authenticate"]


def test_claims_with_one_of_values(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    assert status(app, "/admin", tokens, role="owner") == 200
    response = app.test_client().get("/admin", headers=tokens.header(tokens.mint(role="user")))
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
    assert "WWW-Authenticate" not in response.headers
    assert status(app, "/admin", tokens) == 403  # no role at all


@pytest.mark.parametrize(
    "scope",
    ["writer", "rewrite", "wri", "WRITE", "write:all", "writes"],
)
def test_scopes_match_exactly(app: Flask, tokens: TokenFactory, scope: str) -> None:
    add_routes(app)
    assert status(app, "/write", tokens, scope=f"{tokens.scope} {scope}") == 403
    assert status(app, "/write-or-delete", tokens, scope=f"{tokens.scope} {scope}") == 403


@pytest.mark.parametrize(
    "role",
    ["admin2", "adm", "ADMIN", "owner ", ["administrator"], {"role": "admin"}, "admin,owner"],
)
def test_claim_values_match_exactly(app: Flask, tokens: TokenFactory, role: object) -> None:
    add_routes(app)
    assert status(app, "/admin", tokens, role=role) == 403


def test_a_presence_requirement_needs_the_claim(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    assert status(app, "/with-role", tokens, role="anything") == 200
    assert status(app, "/with-role", tokens, role=["a"]) == 200
    assert status(app, "/with-role", tokens) == 403
    assert status(app, "/with-role", tokens, role=None) == 403


def test_scopes_and_claims_are_both_checked(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    path = "/write-as-admin"
    assert status(app, path, tokens, scope=f"{tokens.scope} write", role="admin") == 200
    assert status(app, path, tokens, scope=f"{tokens.scope} write", role="user") == 403
    assert status(app, path, tokens, scope=tokens.scope, role="admin") == 403


def test_a_token_accepted_for_one_route_is_checked_again_for_another(
    app: Flask, tokens: TokenFactory
) -> None:
    add_routes(app)
    client = app.test_client()
    header = tokens.header(tokens.mint())
    assert client.get("/called", headers=header).status_code == 200
    assert client.get("/write", headers=header).status_code == 403
    assert client.get("/admin", headers=header).status_code == 403


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((42,), "scopes=42"),
        ((["read", 3],), "list of scope strings"),
        (('read wr"ite',), "not a scope token"),
        ((), "any_scope=True needs scopes"),
    ],
)
def test_misuse_fails_at_import_with_the_fix(arguments: tuple, message: str) -> None:
    options = {"any_scope": True} if not arguments else {}
    with pytest.raises((TypeError, ValueError), match=message):
        require_token(*arguments, **options)


def test_claims_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="claims="):
        require_token(claims=["role"])  # type: ignore[arg-type]


def test_oauth_is_registered_once(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already registered"):
        OAuth().init_app(app)
    oauth = app.extensions["oauth"]
    other = Flask("other")
    other.config["OAUTH_SETTINGS"] = oauth.settings
    with pytest.raises(RuntimeError, match="already registered"):
        oauth.init_app(other)


def test_oauth_needs_settings_in_the_app_config() -> None:
    with pytest.raises(RuntimeError, match="OAUTH_SETTINGS"):
        OAuth(Flask("bare"))


def test_current_token_outside_a_checked_request_is_an_error(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="@require_token"):
        current_token.subject  # noqa: B018
