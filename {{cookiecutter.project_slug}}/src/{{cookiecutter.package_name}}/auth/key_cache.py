"""The key set cache: which signing keys are trusted right now, and when to fetch again.

States, in the terms the rest of the code uses:
- *fresh*: the key set is younger than its max age; lookups read it without a lock.
- *stale*: past its max age; the next lookup refetches. When that fails, the old keys keep
  serving (stale-if-error) for up to ``max_stale`` seconds, and each failure is logged.
- *cooling down*: a fetch was tried less than ``min_refresh`` seconds ago; an unknown
  ``kid`` (or a retry after a failure) is refused at once instead of fetching again.
- *reloading*: one fetch is under way; every caller that needs it waits on that one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidToken, KeySetUnavailable
from .jwk import UnusableKey, VerificationKey, parse_jwks
from .remote import Fetched, FetchError

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class KeySet:
    """One fetched key set, immutable: replaced whole, never changed in place."""

    keys: tuple[VerificationKey, ...]
    fetched_at: float
    fresh_until: float
    usable_until: float
    etag: str | None = None
    by_kid: dict[str, tuple[VerificationKey, ...]] = field(default_factory=dict)
    members: frozenset[VerificationKey] = frozenset()

    @classmethod
    def build(cls, keys: tuple[VerificationKey, ...], **times: Any) -> KeySet:
        by_kid: dict[str, tuple[VerificationKey, ...]] = {}
        for key in keys:
            if key.kid is not None:
                by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        return cls(keys, by_kid=by_kid, members=frozenset(keys), **times)

    def find(self, kid: str | None, algorithm: str) -> VerificationKey | None:
        """The key for this ``kid`` and algorithm; without a kid, only an unambiguous one."""
        candidates = self.keys if kid is None else self.by_kid.get(kid, ())
        fitting = [key for key in candidates if algorithm in key.algorithms]
        return fitting[0] if len(fitting) == 1 else None


class KeySetCache:
    """Lazily fetched, thread-safe key set with single-flight refresh and a cooldown."""

    def __init__(
        self,
        fetch: Callable[[str | None], Fetched],
        accepted_algorithms: frozenset[str],
        *,
        max_age: float,
        min_refresh: float,
        max_stale: float,
        wait_timeout: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._accepted = accepted_algorithms
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._max_stale = max_stale
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._lock = threading.Lock()  # guards the three fields below, never held while fetching
        self._pending: Future[bool] | None = None
        self._last_attempt: float | None = None
        self._last_attempt_failed = False
        self._key_set: KeySet | None = None
        self.last_error: str | None = None
        self.fetch_count = 0

    # -- lookups -------------------------------------------------------------------------

    def key_for(self, kid: str | None, algorithm: str) -> VerificationKey:
        """The trusted key for a token's ``kid`` and ``alg``, fetching only when due."""
        key_set = self._key_set
        if key_set is None or self._clock() >= key_set.fresh_until:
            self._refresh(unknown_kid=False)
            key_set = self._usable_key_set()
        key = key_set.find(kid, algorithm)
        if key is None and self._refresh(unknown_kid=True):
            key = self._usable_key_set().find(kid, algorithm)
        if key is None:
            raise InvalidToken("No trusted key matches the access token's kid and alg")
        return key

    def is_current(self, key: VerificationKey) -> bool:
        """Whether ``key`` is still in a fresh key set (checked on verified-token cache hits)."""
        key_set = self._key_set
        return (
            key_set is not None and key in key_set.members and self._clock() < key_set.fresh_until
        )

    @property
    def ready(self) -> bool:
        """True while usable keys are loaded."""
        key_set = self._key_set
        return key_set is not None and self._clock() < key_set.usable_until

    def status(self) -> dict[str, Any]:
        """A snapshot for operators: keys, ages and the last error."""
        key_set, now = self._key_set, self._clock()
        return {
            "ready": self.ready,
            "keys": [
                {"kid": key.kid, "algorithms": sorted(key.algorithms)}
                for key in (key_set.keys if key_set else ())
            ],
            "age_seconds": round(now - key_set.fetched_at, 3) if key_set else None,
            "fresh_for_seconds": round(key_set.fresh_until - now, 3) if key_set else None,
            "fetches": self.fetch_count,
            "last_error": self.last_error,
        }

    def prefetch(self) -> bool:
        """Try to load the key set now; a failure is logged, not raised."""
        return bool(self._refresh(unknown_kid=False))

    # -- refresh -------------------------------------------------------------------------

    def _usable_key_set(self) -> KeySet:
        key_set = self._key_set
        if key_set is None or self._clock() >= key_set.usable_until:
            raise KeySetUnavailable()
        return key_set

    def _refresh(self, *, unknown_kid: bool) -> bool:
        """Fetch once, shared by concurrent callers; False when cooling down or failed."""
        with self._lock:
            pending = self._pending
            leader = pending is None
            if leader:
                now = self._clock()
                if not self._may_fetch(now, unknown_kid):
                    return False
                pending = self._pending = Future()
                self._last_attempt = now
        assert pending is not None
        if leader:
            loaded = False
            try:
                loaded = self._fetch_and_store()
            finally:  # even on an unexpected error, release the callers waiting on us
                with self._lock:
                    self._pending = None
                pending.set_result(loaded)
        try:
            return pending.result(timeout=self._wait_timeout)
        except FutureTimeout:
            return False

    def _may_fetch(self, now: float, unknown_kid: bool) -> bool:
        key_set = self._key_set
        if not unknown_kid and key_set is not None and now < key_set.fresh_until:
            return False  # someone else refreshed it a moment ago
        if self._last_attempt is None:
            return True
        if unknown_kid or self._last_attempt_failed:
            return now - self._last_attempt >= self._min_refresh
        return True

    def _fetch_and_store(self) -> bool:
        previous = self._key_set
        self.fetch_count += 1
        try:
            fetched = self._fetch(previous.etag if previous else None)
            if fetched.body is None and previous is not None:
                keys = previous.keys  # 304 Not Modified: same key objects, renewed times
            else:
                keys = parse_jwks(fetched.body, self._accepted)
        except (FetchError, UnusableKey) as error:
            self._last_attempt_failed = True
            self.last_error = str(error)
            self._log_failure(previous)
            return False
        now = self._clock()
        max_age = self._max_age
        if fetched.max_age is not None:  # the server may shorten, never lengthen, the cache
            max_age = min(max_age, max(fetched.max_age, min(max_age, 10.0)))
        self._key_set = KeySet.build(
            keys,
            fetched_at=now,
            fresh_until=now + max_age,
            usable_until=now + max_age + self._max_stale,
            etag=fetched.etag,
        )
        self._last_attempt_failed = False
        self.last_error = None
        log.info("loaded %d signing key(s), trusted for %gs", len(keys), max_age)
        return True

    def _log_failure(self, previous: KeySet | None) -> None:
        now = self._clock()
        if previous is not None and now < previous.usable_until:
            log.warning(
                "key set refresh failed (%s); serving the cached keys, %.0fs old",
                self.last_error,
                now - previous.fetched_at,
            )
        else:
            log.error("key set could not be loaded: %s", self.last_error)
