"""``KeySetCache`` on its own: a fake fetch function and a hand-driven clock, no sleeps.

Plus the ``flask auth keys`` command, which shows the cache's state to operators.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.auth.errors import InvalidToken, KeySetUnavailable
from {{ cookiecutter.package_name }}.auth.key_cache import KeySetCache
from {{ cookiecutter.package_name }}.auth.remote import Fetched, FetchError

from support import AuthorizationServer, SigningKey

ACCEPTED = frozenset({"EdDSA"})
KEY_A = SigningKey.generate("EdDSA", kid="key-a")
KEY_B = SigningKey.generate("EdDSA", kid="key-b")


class Clock:
    """Monotonic time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeServer:
    """The fetch function: publishes ``keys`` or fails, and records every call's ETag."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.failing = False
        self.max_age: float | None = None
        self.etag: str | None = None
        self.calls: list[str | None] = []

    def __call__(self, etag: str | None) -> Fetched:
        self.calls.append(etag)
        if self.failing:
            raise FetchError("GET https://issuer.test/jwks: HTTP 503")
        if self.etag is not None and etag == self.etag:
            return Fetched(None, etag, self.max_age)
        document = {"keys": [key.public_jwk() for key in self.keys]}
        return Fetched(document, self.etag, self.max_age)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(KEY_A)


def make_cache(server: FakeServer, clock: Clock, **settings: float) -> KeySetCache:
    options = {"max_age": 300, "min_refresh": 30, "max_stale": 3_600, "wait_timeout": 5}
    options.update(settings)
    return KeySetCache(server, ACCEPTED, clock=clock, **options)


def test_nothing_is_fetched_before_a_key_is_needed(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock)
    assert server.calls == []
    assert not cache.ready
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"
    assert server.calls == [None]


def test_cooldown_counts_failed_attempts(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, min_refresh=30)
    server.failing = True
    with pytest.raises(KeySetUnavailable):
        cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 1

    server.failing = False  # back up, but the failed attempt started the cooldown
    clock.advance(29)
    with pytest.raises(KeySetUnavailable):
        cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 1

    clock.advance(1)
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"
    assert len(server.calls) == 2


def test_unknown_kid_inside_the_cooldown_fails_fast_without_fetching(
    server: FakeServer, clock: Clock
) -> None:
    cache = make_cache(server, clock, min_refresh=30)
    cache.key_for("key-a", "EdDSA")
    server.keys.append(KEY_B)

    clock.advance(10)
    for kid in ("key-b", "nobody", "key-b"):
        with pytest.raises(InvalidToken):
            cache.key_for(kid, "EdDSA")
    assert len(server.calls) == 1

    clock.advance(20)  # 30 s after the last fetch: one refetch, which finds key-b
    assert cache.key_for("key-b", "EdDSA").kid == "key-b"
    with pytest.raises(InvalidToken):
        cache.key_for("nobody", "EdDSA")
    assert len(server.calls) == 2


def test_unknown_kid_flood_during_an_outage_fetches_once(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, min_refresh=30)
    cache.key_for("key-a", "EdDSA")
    clock.advance(60)
    server.failing = True
    for _ in range(100):  # a flood of unknown kids during an outage
        with pytest.raises(InvalidToken):
            cache.key_for("unknown", "EdDSA")
    assert len(server.calls) == 2
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"


def test_max_age_expiry_triggers_exactly_one_refetch(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, max_age=60)
    cache.key_for("key-a", "EdDSA")
    clock.advance(59.9)
    cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 1

    clock.advance(0.1)
    for _ in range(5):
        cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 2
    clock.advance(59.9)
    cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 2


@pytest.mark.parametrize(
    ("max_age", "header", "fresh_for"),
    [(300, 60, 60), (300, 3_600, 300), (60, None, 60), (1, 3_600, 1)],
    ids=["shortened", "never-lengthened", "no-header", "small-setting"],
)
def test_cache_control_max_age_only_shortens(
    server: FakeServer, clock: Clock, max_age: float, header: float | None, fresh_for: float
) -> None:
    server.max_age = header
    cache = make_cache(server, clock, max_age=max_age)
    cache.key_for("key-a", "EdDSA")
    assert cache.status()["fresh_for_seconds"] == fresh_for
    clock.advance(fresh_for)
    cache.key_for("key-a", "EdDSA")
    assert len(server.calls) == 2


def test_stale_keys_serve_until_max_stale(
    server: FakeServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(server, clock, max_age=60, min_refresh=10, max_stale=100)
    cache.key_for("key-a", "EdDSA")
    server.failing = True
    caplog.set_level(logging.WARNING)

    clock.advance(60)
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"
    assert len(server.calls) == 2
    assert [r for r in caplog.records if r.levelno == logging.WARNING]
    assert cache.ready and cache.last_error

    clock.advance(99.9)  # 159.9 s old: still within max age + max stale
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"
    clock.advance(0.1)
    with pytest.raises(KeySetUnavailable):
        cache.key_for("key-a", "EdDSA")
    assert not cache.ready

    server.failing = False
    clock.advance(10)
    assert cache.key_for("key-a", "EdDSA").kid == "key-a"
    assert cache.ready and cache.last_error is None


def test_not_modified_keeps_the_same_keys(server: FakeServer, clock: Clock) -> None:
    server.etag = '"v1"'
    cache = make_cache(server, clock, max_age=60)
    key = cache.key_for("key-a", "EdDSA")
    server.keys = []  # a full answer would now carry nothing
    clock.advance(60)
    assert cache.key_for("key-a", "EdDSA") is key
    assert server.calls == [None, '"v1"']
    assert cache.is_current(key)


@pytest.mark.parametrize("fails", [False, True], ids=["fetch-succeeds", "fetch-fails"])
def test_concurrent_misses_share_one_fetch(clock: Clock, fails: bool) -> None:
    entered, release = threading.Event(), threading.Event()
    calls = []
    fake = FakeServer(KEY_A)
    fake.failing = fails

    def blocking_fetch(etag: str | None) -> Fetched:
        calls.append(etag)
        entered.set()
        assert release.wait(5)
        return fake(etag)

    cache = KeySetCache(
        blocking_fetch,
        ACCEPTED,
        max_age=300,
        min_refresh=0,
        max_stale=0,
        wait_timeout=5,
        clock=clock,
    )
    count = 20
    start = threading.Barrier(count + 1, timeout=5)
    results: list[object] = [None] * count

    def lookup(index: int) -> None:
        start.wait()
        try:
            results[index] = cache.key_for("key-a", "EdDSA").kid
        except KeySetUnavailable as error:
            results[index] = error

    threads = [threading.Thread(target=lookup, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    assert entered.wait(5)
    time.sleep(0.05)  # not a clock: lets the other threads reach the wait on the fetch
    release.set()
    for thread in threads:
        thread.join(5)

    assert len(calls) == 1
    if fails:
        assert all(isinstance(result, KeySetUnavailable) for result in results)
    else:
        assert results == ["key-a"] * count


def test_known_good_keys_are_not_evicted_by_a_miss(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, min_refresh=30)
    key = cache.key_for("key-a", "EdDSA")
    server.keys = [KEY_B]
    server.failing = True
    clock.advance(30)
    with pytest.raises(InvalidToken):
        cache.key_for("key-b", "EdDSA")  # the refetch fails
    assert cache.key_for("key-a", "EdDSA") is key
    assert cache.is_current(key)
    assert len(server.calls) == 2


def test_is_current_turns_false_when_the_key_is_removed_or_stale(
    server: FakeServer, clock: Clock
) -> None:
    server.keys = [KEY_A, KEY_B]
    cache = make_cache(server, clock, max_age=60, min_refresh=0)
    key_a = cache.key_for("key-a", "EdDSA")
    key_b = cache.key_for("key-b", "EdDSA")
    assert cache.is_current(key_a) and cache.is_current(key_b)

    clock.advance(60)
    assert not cache.is_current(key_b)  # stale: a cached token must be checked again

    server.keys = [KEY_B]
    assert cache.key_for("key-b", "EdDSA").kid == "key-b"  # the refetch
    assert not cache.is_current(key_a)
    with pytest.raises(InvalidToken):
        cache.key_for("key-a", "EdDSA")


def test_token_without_kid_needs_exactly_one_fitting_key(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, min_refresh=0)
    assert cache.key_for(None, "EdDSA").kid == "key-a"
    with pytest.raises(InvalidToken):
        cache.key_for(None, "ES256")
    server.keys.append(KEY_B)
    clock.advance(300)
    with pytest.raises(InvalidToken):
        cache.key_for(None, "EdDSA")


def test_ready_and_status(server: FakeServer, clock: Clock) -> None:
    cache = make_cache(server, clock, max_age=60, min_refresh=0)
    assert cache.status() == {
        "ready": False,
        "keys": [],
        "age_seconds": None,
        "fresh_for_seconds": None,
        "fetches": 0,
        "last_error": None,
    }

    server.failing = True
    assert cache.prefetch() is False
    state = cache.status()
    assert not state["ready"] and state["fetches"] == 1
    assert "503" in state["last_error"]

    server.failing = False
    assert cache.prefetch() is True
    clock.advance(15)
    assert cache.ready
    assert cache.status() == {
        "ready": True,
        "keys": [{"kid": "key-a", "algorithms": ["EdDSA"]}],
        "age_seconds": 15,
        "fresh_for_seconds": 45,
        "fetches": 2,
        "last_error": None,
    }


# -- flask auth keys -------------------------------------------------------------------


def test_cli_shows_the_loaded_keys(
    make_app, settings, auth_server: AuthorizationServer, signing_key: SigningKey
) -> None:
    app: Flask = make_app(settings)
    result = app.test_cli_runner().invoke(args=["auth", "keys"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["ready"] is True
    assert state["jwks_uri"] == auth_server.jwks_uri
    assert [key["kid"] for key in state["keys"]] == [signing_key.kid]
    assert state["last_error"] is None
    assert auth_server.fetches() == 1


def test_cli_fails_when_keys_cannot_be_loaded(
    make_app, settings, auth_server: AuthorizationServer
) -> None:
    auth_server.jwks.status = 503
    app: Flask = make_app(settings)
    result = app.test_cli_runner().invoke(args=["auth", "keys"])
    assert result.exit_code == 1
    state = json.loads(result.output)
    assert state["ready"] is False
    assert state["keys"] == []
    assert "503" in state["last_error"]
