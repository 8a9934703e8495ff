"""Step-up authentication (RFC 9470): a route may ask for a stronger or a recent login."""

from __future__ import annotations

import time

import pytest
from flask import Flask, jsonify

from {{ cookiecutter.package_name }}.auth import (
    AccessToken,
    InsufficientUserAuthentication,
    require_token,
)
from {{ cookiecutter.package_name }}.auth.access_token import frozen_claims
from {{ cookiecutter.package_name }}.auth.requirements import Requirement

from support import TokenFactory

STRONG = "urn:example:acr:mfa"


def add_routes(app: Flask) -> None:
    @app.get("/strong")
    @require_token(acr_values=[STRONG, "phr"])
    def strong_route():
        return jsonify(ok=True)

    @app.get("/recent")
    @require_token(max_age=300)
    def recent_route():
        return jsonify(ok=True)

    @app.get("/strong-and-recent")
    @require_token("write", acr_values=[STRONG], max_age=60)
    def strong_and_recent_route():
        return jsonify(ok=True)


def call(app: Flask, tokens: TokenFactory, path: str, **claims: object):
    return app.test_client().get(path, headers=tokens.header(tokens.mint(**claims)))


def assert_step_up(response, attributes: str) -> None:
    assert response.status_code == 401
    assert response.json["code"] == "insufficient_user_authentication"
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge
    assert challenge.endswith(attributes) or f"{attributes}," in challenge


@pytest.mark.parametrize("acr", [STRONG, "phr"])
def test_an_accepted_acr_passes(app: Flask, tokens: TokenFactory, acr: str) -> None:
    add_routes(app)
    assert call(app, tokens, "/strong", acr=acr).status_code == 200


@pytest.mark.parametrize(
    "acr",
    [None, "pwd", STRONG.upper(), STRONG + " ", STRONG[:-1], "phr2", [STRONG], 1, {"v": STRONG}],
    ids=["none", "other", "case", "space", "prefix", "suffix", "list", "number", "object"],
)
def test_any_other_acr_asks_for_a_step_up(app: Flask, tokens: TokenFactory, acr: object) -> None:
    add_routes(app)
    claims = {} if acr is None else {"acr": acr}
    response = call(app, tokens, "/strong", **claims)
    assert_step_up(response, f'acr_values="{STRONG} phr"')
    assert "max_age" not in response.headers["WWW-Authenticate"]


def test_a_recent_login_passes_up_to_max_age(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    now = time.time()
    assert call(app, tokens, "/recent", auth_time=int(now) - 10).status_code == 200
    assert call(app, tokens, "/recent", auth_time=now - 295).status_code == 200


@pytest.mark.parametrize(
    "auth_time",
    [None, -310, -(10**6), "recently", True, 3600],
    ids=["missing", "too-old", "ancient", "string", "boolean", "future"],
)
def test_a_missing_old_or_odd_auth_time_asks_for_a_step_up(
    app: Flask, tokens: TokenFactory, auth_time: object
) -> None:
    add_routes(app)
    claims = {}
    if auth_time is not None:
        offset = auth_time
        claims["auth_time"] = time.time() + offset if type(offset) is int else offset
    response = call(app, tokens, "/recent", **claims)
    assert_step_up(response, 'max_age="300"')
    assert "acr_values" not in response.headers["WWW-Authenticate"]


def test_both_requirements_are_named_in_the_challenge(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    scope = f"{tokens.scope} write"
    ok = call(app, tokens, "/strong-and-recent", scope=scope, acr=STRONG, auth_time=time.time())
    assert ok.status_code == 200
    response = call(
        app, tokens, "/strong-and-recent", scope=scope, acr="pwd", auth_time=time.time()
    )
    assert_step_up(response, f'acr_values="{STRONG}", max_age="60"')
    stale = call(
        app, tokens, "/strong-and-recent", scope=scope, acr=STRONG, auth_time=time.time() - 120
    )
    assert_step_up(stale, f'acr_values="{STRONG}", max_age="60"')


def test_a_missing_scope_is_a_403_before_any_step_up(app: Flask, tokens: TokenFactory) -> None:
    add_routes(app)
    response = call(app, tokens, "/strong-and-recent", acr="pwd")
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"acr_values": [1]}, "acr_values="),
        ({"acr_values": ['a"b']}, "acr_values="),
        ({"max_age": -1}, "max_age="),
        ({"max_age": "60"}, "max_age="),
        ({"max_age": True}, "max_age="),
    ],
)
def test_misuse_fails_at_import(options: dict, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        require_token(**options)


def test_max_age_and_leeway_boundaries_are_inclusive() -> None:
    requirement = Requirement.of(max_age=300)
    token = AccessToken(frozen_claims({"auth_time": 1000}), frozenset(), "")
    requirement.check(token, now=1300, leeway=5)  # exactly max_age old
    requirement.check(token, now=995, leeway=5)  # exactly the leeway in the future
    for now in (1300.001, 994.999):
        with pytest.raises(InsufficientUserAuthentication):
            requirement.check(token, now=now, leeway=5)
