"""Token validation rules and the attacks they stop (RFC 8725, RFC 9068)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask

from {{ cookiecutter.package_name }}.settings import SUPPORTED_ALGORITHMS, Settings

from support import AuthorizationServer, SigningKey, TokenFactory


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signature: bytes = b"") -> str:
    """An unsigned (or wrongly signed) token with exactly the given parts."""
    parts = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return ".".join([*(b64(part) for part in parts), b64(signature)])


def status_of(app: Flask, token: str) -> int:
    response = app.test_client().get("/api/data", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


# -- attacks ------------------------------------------------------------------------------


def test_alg_none_is_refused(app: Flask, tokens: TokenFactory) -> None:
    assert status_of(app, forge({"alg": "none", "typ": "at+jwt"}, tokens.claims())) == 401
    assert status_of(app, forge({"alg": "none"}, tokens.claims())[:-1]) == 401


def test_hmac_with_the_public_key_as_secret_is_refused(
    app: Flask, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": signing_key.kid, "typ": "at+jwt"}
    claims = json.dumps(tokens.claims()).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert status_of(app, f"{signing_input}.{b64(mac)}") == 401


def test_algorithm_outside_the_allow_list_is_refused(
    make_app: Callable[..., Flask], settings: Settings, tokens: TokenFactory
) -> None:
    other = next(alg for alg in SUPPORTED_ALGORITHMS if alg not in settings.algorithms)
    key = SigningKey.generate(other, kid=tokens.key.kid)
    app = make_app(settings)
    assert status_of(app, tokens.mint(key=key)) == 401


def test_header_supplied_keys_are_never_used_or_fetched(
    app: Flask, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    attacker = SigningKey.generate(signing_key.algorithm, kid="attacker")
    spy = AuthorizationServer([attacker])
    try:
        token = tokens.mint(
            key=attacker,
            headers={
                "jku": spy.jwks_uri,
                "x5u": f"{spy.url}/cert.pem",
                "jwk": attacker.public_jwk(),
            },
        )
        assert status_of(app, token) == 401
        assert spy.requests == []
    finally:
        spy.stop()


def test_critical_header_extensions_are_refused(app: Flask, tokens: TokenFactory) -> None:
    token = tokens.mint(headers={"crit": ["exp"], "exp": 1})
    assert status_of(app, token) == 401


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.rsplit(".", 1)[0] + ".",  # signature stripped
        lambda t: t.rsplit(".", 1)[0],  # signature and separator stripped
        lambda t: t + ".e30",  # four segments
        lambda t: t + ".e30.e30",  # five segments: a JWE shape
        lambda t: t.replace(".", "..", 1),  # empty segment
        lambda t: "!" + t,  # not base64url
        lambda t: t.split(".")[0] + "=." + ".".join(t.split(".")[1:]),  # padding
        lambda t: "e30." + t.split(".", 1)[1],  # header {} without alg
        lambda t: b64(b"[]") + "." + t.split(".", 1)[1],  # header not an object
        lambda t: b64(b"not json") + "." + t.split(".", 1)[1],
    ],
    ids=[
        "no-signature",
        "two-segments",
        "four-segments",
        "jwe-shape",
        "empty-segment",
        "bad-base64",
        "padding",
        "no-alg",
        "header-array",
        "header-not-json",
    ],
)
def test_malformed_tokens_are_refused(app: Flask, tokens: TokenFactory, mangle) -> None:
    assert status_of(app, mangle(tokens.mint())) in (400, 401)


def test_tampered_payload_is_refused(app: Flask, tokens: TokenFactory) -> None:
    header, _, signature = tokens.mint().split(".")
    payload = b64(json.dumps(tokens.claims(scope="admin " + tokens.scope)).encode())
    assert status_of(app, f"{header}.{payload}.{signature}") == 401


def test_oversized_token_is_refused_before_decoding(
    make_app: Callable[..., Flask], settings: Settings, tokens: TokenFactory
) -> None:
    app = make_app(settings, max_token_bytes=1024)
    token = tokens.mint(padding="x" * 2000)
    assert status_of(app, token) == 401
    assert status_of(app, tokens.mint()) == 200


def test_duplicate_json_members_are_refused(app: Flask, tokens: TokenFactory, signing_key) -> None:
    claims = json.dumps(tokens.claims())[:-1] + f', "iss": "{tokens.issuer}"}}'
    header = json.dumps({"alg": signing_key.algorithm, "kid": signing_key.kid})
    token = jwt.api_jws.encode(
        claims.encode(),
        signing_key.private_key,
        algorithm=signing_key.algorithm,
        headers=json.loads(header),
    )
    assert status_of(app, token) == 401


def test_kid_is_only_a_lookup_key(app: Flask, tokens: TokenFactory) -> None:
    for kid in ["../../etc/passwd", "?x=1#", "k" * 5000, "\u0000\n"]:
        assert status_of(app, tokens.mint(headers={"kid": kid})) == 401


# -- claims -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({}, 200),
        ({"iss": "https://evil.example.com"}, 401),
        ({"iss": None}, 401),
        ({"aud": "https://other.example.com"}, 401),
        ({"aud": None}, 401),
        ({"aud": ["https://other.example.com", "__AUDIENCE__"]}, 200),
        ({"aud": ["https://other.example.com"]}, 401),
        ({"exp": None}, 401),
        ({"exp": "tomorrow"}, 401),
        ({"exp": True}, 401),
        ({"exp": -3600}, 401),
        ({"exp": -5}, 200),  # within the leeway
        ({"nbf": 3600}, 401),
        ({"nbf": 5}, 200),
        ({"iat": 3600}, 401),
        ({"scope": None, "scp": "__SCOPE__"}, 200),
        ({"scope": 42}, 401),
    ],
    ids=[
        "valid",
        "wrong-iss",
        "no-iss",
        "wrong-aud",
        "no-aud",
        "aud-list-with-ours",
        "aud-list-without-ours",
        "no-exp",
        "exp-string",
        "exp-bool",
        "expired",
        "expired-within-leeway",
        "nbf-future",
        "nbf-within-leeway",
        "iat-future",
        "scp-string",
        "scope-not-string",
    ],
)
def test_claim_rules(app: Flask, tokens: TokenFactory, claims: dict, status: int) -> None:
    now = int(time.time())
    resolved = {}
    for name, value in claims.items():
        if value == "__AUDIENCE__" or value == "__SCOPE__":
            value = tokens.audience if value == "__AUDIENCE__" else tokens.scope
        elif isinstance(value, list):
            value = [tokens.audience if v == "__AUDIENCE__" else v for v in value]
        elif name in ("exp", "nbf", "iat") and type(value) is int:
            value = now + value
        resolved[name] = value
    assert status_of(app, tokens.mint(**resolved)) == status


def test_leeway_setting_is_honoured(
    make_app: Callable[..., Flask], settings: Settings, tokens: TokenFactory
) -> None:
    token = tokens.mint(exp=int(time.time()) - 5)
    assert status_of(make_app(settings, leeway_seconds=0), token) == 401
    assert status_of(make_app(settings, leeway_seconds=60), token) == 200


@pytest.mark.parametrize(
    ("typ", "status"),
    [
        ("at+jwt", 200),
        ("application/at+jwt", 200),
        ("JWT", 200),
        (None, 200),
        ("logout+jwt", 401),
        ("id_token+jwt", 401),
        ("secevent+jwt", 401),
    ],
)
def test_typ_is_lenient_by_default(app: Flask, tokens: TokenFactory, typ, status: int) -> None:
    assert status_of(app, tokens.mint(headers={"typ": typ})) == status


def test_strict_rfc9068_mode(
    make_app: Callable[..., Flask], settings: Settings, tokens: TokenFactory
) -> None:
    app = make_app(settings, strict_rfc9068=True)
    assert status_of(app, tokens.mint()) == 200
    assert status_of(app, tokens.mint(headers={"typ": "JWT"})) == 401
    assert status_of(app, tokens.mint(headers={"typ": None})) == 401
    for claim in ("sub", "client_id", "iat", "jti"):
        assert status_of(app, tokens.mint(**{claim: None})) == 401, claim


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_every_supported_algorithm_verifies(
    make_app: Callable[..., Flask],
    settings: Settings,
    auth_server: AuthorizationServer,
    tokens: TokenFactory,
    algorithm: str,
) -> None:
    key = SigningKey.generate(algorithm)
    auth_server.keys.append(key)
    app = make_app(settings, algorithms=(algorithm,))
    assert status_of(app, tokens.mint(key=key)) == 200
    # the same signature presented under another algorithm of the same family is refused
    other = {"RS256": "PS256", "PS256": "RS256", "ES256": "ES384", "EdDSA": "ES256"}
    _, payload, signature = tokens.mint(key=key).split(".")
    header = {"alg": other.get(algorithm, "RS256"), "kid": key.kid, "typ": "at+jwt"}
    relabelled = f"{b64(json.dumps(header).encode())}.{payload}.{signature}"
    assert status_of(make_app(settings), relabelled) == 401


def test_token_without_kid_needs_exactly_one_fitting_key(
    app: Flask, auth_server: AuthorizationServer, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    without_kid = {"kid": None}
    assert status_of(app, tokens.mint(headers=without_kid)) == 200
    auth_server.keys.append(SigningKey.generate(signing_key.algorithm, kid="second"))
    fresh_app_status = status_of(app, tokens.mint(headers=without_kid, jti="other"))
    # the cached key set still has one key; a fresh app sees two and refuses to guess
    assert fresh_app_status == 200
    app.extensions["oauth"].keys._key_set = None
    assert status_of(app, tokens.mint(headers=without_kid, jti="third")) == 401
