"""The key set cache over real HTTP: outages, hostile answers, rotation and fetch limits.

Every test runs the app against a real HTTP server on 127.0.0.1 (``AuthorizationServer``)
with really signed tokens, and counts what that server was asked, so each promise of the
contract's "Key set cache" section is checked from the outside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from support import AuthorizationServer, Response, SigningKey, TokenFactory

MIB = 1024 * 1024


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["code"] == code


def header_of(headers: dict[str, str], name: str) -> str | None:
    """A request header as the server saw it, whatever its capitalisation."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def keys_of(app: Flask):
    return app.extensions["oauth"].keys


def get_data(client: FlaskClient, token: str):
    return client.get("/api/data", headers=TokenFactory.header(token))


def json_answer(document: object, **fields: object) -> Response:
    return Response(body=json.dumps(document).encode(), **fields)


@pytest.fixture(scope="module")
def other_key(configured_settings) -> SigningKey:
    """A second key of the configured algorithm, unknown to the server until published."""
    return SigningKey.generate(configured_settings.algorithms[0], kid="other-key")


@pytest.fixture(scope="module")
def attacker_key(configured_settings) -> SigningKey:
    return SigningKey.generate(configured_settings.algorithms[0], kid="attacker-key")


@pytest.fixture
def spy_server(signing_key: SigningKey, attacker_key: SigningKey) -> Iterator[AuthorizationServer]:
    """A second server that must never be asked anything; it even holds the real key."""
    server = AuthorizationServer([attacker_key, signing_key])
    yield server
    server.stop()


# -- outages ---------------------------------------------------------------------------


def test_cold_start_with_the_server_down(
    make_app: Callable[..., Flask], settings, auth_server: AuthorizationServer, tokens
) -> None:
    app = make_app(settings, jwks_min_refresh_seconds=60)
    assert auth_server.requests == [], "creating the app must not fetch anything"
    auth_server.stop()
    client = app.test_client()

    assert client.get("/health").status_code == 200
    response = get_data(client, tokens.mint())
    assert_error(response, 500, "server_error")
    assert "WWW-Authenticate" not in response.headers
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503
    assert keys_of(app).status()["last_error"]


def test_outage_at_start_then_recovery(client: FlaskClient, tokens, auth_server) -> None:
    auth_server.jwks.status = 503
    assert_error(get_data(client, tokens.mint()), 500, "server_error")
    auth_server.jwks.status = 200
    assert get_data(client, tokens.mint()).status_code == 200


def test_stale_keys_serve_while_the_refetch_fails(
    make_app, settings, auth_server, tokens, caplog
) -> None:
    app = make_app(settings, jwks_cache_seconds=0.2)
    client = app.test_client()
    token = tokens.mint()
    assert get_data(client, token).status_code == 200
    assert auth_server.fetches() == 1

    auth_server.jwks.status = 503
    time.sleep(0.25)  # the key set is now past its max age
    caplog.set_level(logging.WARNING)
    assert get_data(client, token).status_code == 200
    assert get_data(client, tokens.mint()).status_code == 200
    assert auth_server.fetches() >= 2, "the expired key set must be refetched"
    warnings_logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings_logged, "serving stale keys must be logged"
    assert keys_of(app).status()["last_error"]


def test_stale_keys_stop_serving_after_max_stale(make_app, settings, auth_server, tokens) -> None:
    app = make_app(settings, jwks_cache_seconds=0.1, jwks_max_stale_seconds=0.1)
    client = app.test_client()
    assert get_data(client, tokens.mint()).status_code == 200
    auth_server.jwks.status = 503
    time.sleep(0.25)
    assert_error(get_data(client, tokens.mint()), 500, "server_error")


def test_slow_server_costs_at_most_the_timeout(make_app, settings, auth_server, tokens) -> None:
    timeout = 0.3
    client = make_app(settings, http_timeout_seconds=timeout).test_client()
    auth_server.jwks.delay = 2.0
    token = tokens.mint()
    started = time.monotonic()
    response = get_data(client, token)
    elapsed = time.monotonic() - started
    assert_error(response, 500, "server_error")
    assert elapsed < timeout + 1, f"answered after {elapsed:.2f}s"
    assert auth_server.fetches() == 1


class TricklingServer:
    """Answers at once, then sends its key set one byte at a time (a "slow loris").

    Every byte arrives well within the socket timeout; only a deadline on the whole
    exchange stops the client from waiting for all of them.
    """

    def __init__(self, document: dict, seconds: float) -> None:
        self.body = json.dumps(document).encode()
        self.interval = seconds / len(self.body)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/jwks"

    def stop(self) -> None:
        self._stopped.set()

    def _serve(self) -> None:
        with self._listener:
            while not self._stopped.is_set():
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        )
        with connection, contextlib.suppress(OSError):
            connection.recv(65536)
            connection.sendall(head.encode())
            for byte in self.body:
                if self._stopped.is_set():
                    return
                connection.sendall(bytes([byte]))
                time.sleep(self.interval)


def test_trickling_server_costs_at_most_the_timeout(
    make_app, settings, auth_server, tokens
) -> None:
    timeout = 0.3
    trickling = TricklingServer(auth_server.jwks_document(), seconds=5)
    try:
        client = make_app(
            settings, jwks_uri=trickling.url, http_timeout_seconds=timeout
        ).test_client()
        started = time.monotonic()
        response = get_data(client, tokens.mint())
        elapsed = time.monotonic() - started
    finally:
        trickling.stop()
    assert_error(response, 500, "server_error")
    assert elapsed < timeout + 1, f"answered after {elapsed:.2f}s"


# -- hostile or broken answers ---------------------------------------------------------


def _bad_json(server: AuthorizationServer) -> None:
    server.jwks = Response(body=b'{"keys": [')


def _not_json_content_type(server: AuthorizationServer) -> None:
    server.jwks = json_answer(server.jwks_document(), content_type="text/html")


def _not_a_key_set(server: AuthorizationServer) -> None:
    server.jwks = json_answer([server.jwks_document()])


def _larger_than_1_mib(server: AuthorizationServer) -> None:
    server.jwks = json_answer({**server.jwks_document(), "padding": "x" * MIB})


@pytest.mark.parametrize(
    "answer", [_bad_json, _not_json_content_type, _not_a_key_set, _larger_than_1_mib]
)
def test_unusable_answer_is_server_error(
    client: FlaskClient, tokens, auth_server, answer: Callable[[AuthorizationServer], None]
) -> None:
    answer(auth_server)
    assert_error(get_data(client, tokens.mint()), 500, "server_error")
    assert auth_server.fetches() >= 1


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/jwk-set+json"]
)
def test_json_answers_just_under_the_limits_are_read(
    client: FlaskClient, tokens, auth_server, content_type: str
) -> None:
    """The counterpart of the refusals above: the same keys in an acceptable answer."""
    padded = {**auth_server.jwks_document(), "padding": "x" * (MIB - 64 * 1024)}
    auth_server.jwks = json_answer(padded, content_type=content_type)
    assert get_data(client, tokens.mint()).status_code == 200


def test_redirect_is_not_followed(
    client: FlaskClient, tokens, auth_server, spy_server: AuthorizationServer
) -> None:
    auth_server.jwks = Response(status=302, body=b"", headers={"Location": spy_server.jwks_uri})
    assert_error(get_data(client, tokens.mint()), 500, "server_error")
    assert auth_server.fetches() >= 1
    assert spy_server.requests == []


def test_unusable_keys_are_skipped_and_the_good_key_still_works(
    make_app, settings, auth_server, tokens, signing_key, other_key
) -> None:
    small = SigningKey("small-rsa", "RS256", rsa.generate_private_key(65537, 1024))
    auth_server.jwks = json_answer(
        {
            "keys": [
                {"kty": "RSA", "kid": "broken", "use": "sig", "n": "not base64!", "e": "AQAB"},
                {"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
                {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
                {"kid": "no-kty"},
                "not an object",
                other_key.public_jwk(use="enc"),
                small.public_jwk(),
                signing_key.public_jwk(),
            ]
        }
    )
    algorithms = tuple(dict.fromkeys((*settings.algorithms, "RS256")))
    client = make_app(settings, algorithms=algorithms).test_client()

    assert get_data(client, tokens.mint()).status_code == 200
    assert_error(get_data(client, tokens.mint(key=other_key)), 401, "invalid_token")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about signing with a short key
        small_token = tokens.mint(key=small)
    assert_error(get_data(client, small_token), 401, "invalid_token")
    assert_error(get_data(client, tokens.mint(headers={"kid": "broken"})), 401, "invalid_token")


# -- rotation and removal --------------------------------------------------------------


def test_newly_published_key_is_accepted_without_restart(
    client: FlaskClient, tokens, auth_server, other_key
) -> None:
    assert get_data(client, tokens.mint()).status_code == 200
    assert_error(get_data(client, tokens.mint(key=other_key)), 401, "invalid_token")
    auth_server.keys.append(other_key)
    assert get_data(client, tokens.mint(key=other_key)).status_code == 200
    assert get_data(client, tokens.mint()).status_code == 200


def test_removed_key_is_refused_after_the_next_refetch_even_for_a_cached_token(
    client: FlaskClient, tokens, auth_server, other_key
) -> None:
    token = tokens.mint()
    assert get_data(client, token).status_code == 200
    assert get_data(client, token).status_code == 200  # now answered by the verified cache
    auth_server.keys = [other_key]
    # The new key's unknown kid causes the refetch that drops the old key.
    assert get_data(client, tokens.mint(key=other_key)).status_code == 200
    assert_error(get_data(client, token), 401, "invalid_token")
    assert_error(get_data(client, tokens.mint()), 401, "invalid_token")


def test_removed_key_is_refused_once_the_key_set_expires(
    make_app, settings, tokens, auth_server, other_key
) -> None:
    client = make_app(settings, jwks_cache_seconds=0.2).test_client()
    token = tokens.mint()
    assert get_data(client, token).status_code == 200
    auth_server.keys = [other_key]
    time.sleep(0.25)
    assert_error(get_data(client, token), 401, "invalid_token")


# -- fetch limits ----------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["none", "after-load", "cold"])
def test_unknown_kid_flood_causes_at_most_one_fetch(
    make_app, settings, auth_server, tokens, signing_key, outage: str
) -> None:
    client = make_app(settings, jwks_min_refresh_seconds=60).test_client()
    if outage != "cold":
        assert get_data(client, tokens.mint()).status_code == 200
    if outage != "none":
        auth_server.jwks.status = 503
    before = auth_server.fetches()
    expected = (500, "server_error") if outage == "cold" else (401, "invalid_token")

    started = time.monotonic()
    for _ in range(100):
        forged = dataclasses.replace(signing_key, kid=uuid.uuid4().hex)
        assert_error(get_data(client, tokens.mint(key=forged)), *expected)
    elapsed = time.monotonic() - started

    assert auth_server.fetches() - before <= 1
    assert elapsed < 5, "requests inside the cooldown must fail at once"
    if outage != "cold":
        assert get_data(client, tokens.mint()).status_code == 200


@pytest.mark.parametrize("server_up", [True, False], ids=["up", "down"])
def test_concurrent_cold_requests_share_one_fetch(
    make_app, settings, auth_server, tokens, server_up: bool
) -> None:
    app = make_app(settings, jwks_min_refresh_seconds=60)
    auth_server.jwks.delay = 0.2  # long enough for every request to arrive during the fetch
    if not server_up:
        auth_server.jwks.status = 503
    count = 50
    minted = [tokens.mint() for _ in range(count)]
    start = threading.Barrier(count, timeout=10)

    def call(token: str) -> int:
        client = app.test_client()
        start.wait()
        return get_data(client, token).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        statuses = list(pool.map(call, minted))

    assert statuses == [200 if server_up else 500] * count
    assert auth_server.fetches() == 1


def test_cache_control_max_age_shortens_the_cache_time(
    make_app, settings, auth_server, tokens
) -> None:
    auth_server.jwks.headers["Cache-Control"] = "public, max-age=60"
    app = make_app(settings, jwks_cache_seconds=300)
    assert get_data(app.test_client(), tokens.mint()).status_code == 200
    assert 50 < keys_of(app).status()["fresh_for_seconds"] <= 60


def test_cache_control_max_age_never_lengthens_the_cache_time(
    make_app, settings, auth_server, tokens
) -> None:
    auth_server.jwks.headers["Cache-Control"] = "public, max-age=3600"
    app = make_app(settings, jwks_cache_seconds=0.2)
    client = app.test_client()
    token = tokens.mint()
    assert get_data(client, token).status_code == 200
    assert keys_of(app).status()["fresh_for_seconds"] <= 0.2
    time.sleep(0.25)
    assert get_data(client, token).status_code == 200
    assert auth_server.fetches() == 2


def test_refetch_is_conditional_and_not_modified_keeps_the_keys(
    make_app, settings, auth_server, tokens
) -> None:
    auth_server.jwks.headers["ETag"] = '"v1"'
    client = make_app(settings, jwks_cache_seconds=0.1).test_client()
    token = tokens.mint()
    assert get_data(client, token).status_code == 200
    auth_server.keys = []  # a full answer would now carry no key at all
    time.sleep(0.15)

    assert get_data(client, token).status_code == 200
    assert get_data(client, tokens.mint()).status_code == 200
    (_, first), *refetches = [r for r in auth_server.requests if r[0] == "/jwks"]
    assert header_of(first, "If-None-Match") is None
    assert refetches, "the expired key set must be refetched"
    assert all(header_of(headers, "If-None-Match") == '"v1"' for _, headers in refetches)


# -- discovery -------------------------------------------------------------------------


def publish_metadata(server: AuthorizationServer, path: str, issuer: str) -> None:
    server.metadata[path] = json_answer({"issuer": issuer, "jwks_uri": server.jwks_uri})


def discovering_client(make_app, settings, issuer: str) -> FlaskClient:
    return make_app(settings, jwks_uri="", issuer=issuer).test_client()


@pytest.mark.parametrize("issuer_path", ["", "/tenants/a"], ids=["root", "path"])
def test_discovery_reads_openid_metadata(
    make_app, settings, auth_server, signing_key, other_key, issuer_path: str
) -> None:
    issuer = auth_server.url + issuer_path
    openid = f"{issuer_path}/.well-known/openid-configuration"
    publish_metadata(auth_server, openid, issuer)
    factory = TokenFactory(signing_key, issuer, settings.audience, settings.required_scope)
    client = discovering_client(make_app, settings, issuer)

    assert get_data(client, factory.mint()).status_code == 200
    auth_server.keys.append(other_key)  # a new kid: the key set is refetched...
    assert get_data(client, factory.mint(key=other_key)).status_code == 200
    assert auth_server.fetches() == 2
    assert auth_server.fetches(openid) == 1  # ...but the metadata is cached


@pytest.mark.parametrize("issuer_path", ["", "/tenants/a"], ids=["root", "path"])
def test_discovery_falls_back_to_oauth_metadata(
    make_app, settings, auth_server, signing_key, issuer_path: str
) -> None:
    issuer = auth_server.url + issuer_path
    rfc8414 = f"/.well-known/oauth-authorization-server{issuer_path}"
    publish_metadata(auth_server, rfc8414, issuer)
    factory = TokenFactory(signing_key, issuer, settings.audience, settings.required_scope)
    client = discovering_client(make_app, settings, issuer)

    assert get_data(client, factory.mint()).status_code == 200
    assert auth_server.fetches(f"{issuer_path}/.well-known/openid-configuration") == 1
    assert auth_server.fetches(rfc8414) == 1


def test_discovery_refuses_metadata_of_another_issuer(
    make_app, settings, auth_server, signing_key
) -> None:
    issuer = auth_server.url
    publish_metadata(auth_server, "/.well-known/openid-configuration", "https://evil.example")
    publish_metadata(auth_server, "/.well-known/oauth-authorization-server", issuer + "/")
    factory = TokenFactory(signing_key, issuer, settings.audience, settings.required_scope)
    client = discovering_client(make_app, settings, issuer)
    assert_error(get_data(client, factory.mint()), 500, "server_error")
    assert auth_server.fetches() == 0


def test_discovery_without_metadata_is_server_error(
    make_app, settings, auth_server, signing_key
) -> None:
    issuer = auth_server.url
    factory = TokenFactory(signing_key, issuer, settings.audience, settings.required_scope)
    client = discovering_client(make_app, settings, issuer)
    assert_error(get_data(client, factory.mint()), 500, "server_error")
    assert auth_server.fetches() == 0


# -- what is sent, and what is never fetched -------------------------------------------


@pytest.mark.parametrize("kid", ["attacker", "real"])
@pytest.mark.parametrize("named_by", ["jku", "x5u", "jwk", "all"])
def test_keys_named_in_the_token_header_are_never_fetched_or_used(
    client: FlaskClient,
    tokens,
    auth_server,
    spy_server: AuthorizationServer,
    signing_key,
    attacker_key,
    kid: str,
    named_by: str,
) -> None:
    named = {
        "jku": spy_server.jwks_uri,
        "x5u": f"{spy_server.url}/cert.pem",
        "jwk": attacker_key.public_jwk(),
    }
    headers = named if named_by == "all" else {named_by: named[named_by]}
    headers["kid"] = attacker_key.kid if kid == "attacker" else signing_key.kid
    assert get_data(client, tokens.mint()).status_code == 200

    forged = tokens.mint(key=attacker_key, headers=headers)
    assert_error(get_data(client, forged), 401, "invalid_token")
    assert spy_server.requests == []
    assert {path for path, _ in auth_server.requests} == {"/jwks"}


def test_requests_carry_a_descriptive_user_agent(
    make_app, settings, auth_server, signing_key
) -> None:
    issuer = auth_server.url
    publish_metadata(auth_server, "/.well-known/openid-configuration", issuer)
    factory = TokenFactory(signing_key, issuer, settings.audience, settings.required_scope)
    client = discovering_client(make_app, settings, issuer)
    assert get_data(client, factory.mint()).status_code == 200

    assert len(auth_server.requests) == 2  # metadata, then the key set
    for path, headers in auth_server.requests:
        agent = header_of(headers, "User-Agent") or ""
        assert agent and not agent.startswith("Python-urllib"), (path, agent)
        assert "/" in agent.split()[0], f"{agent!r} names no product/version"
