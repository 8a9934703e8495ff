"""A bounded map of validated tokens, read without a lock on every protected request."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TokenCache(Generic[K, V]):
    """At most ``size`` entries; when full, the oldest eighth makes room at once.

    Reads are plain dict lookups (atomic under the GIL). Popping the oldest entry one at a
    time would leave deleted slots at the front of the dict for every later eviction to
    walk over, a cost that grows with the cache, so the newest seven eighths are
    copied into a new dict instead. ``size=0`` keeps nothing.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def remember(self, key: K, value: V) -> None:
        if self._size <= 0:
            return
        entries = self._entries
        if len(entries) >= self._size:
            keep = self._size - max(1, self._size // 8)
            try:
                entries = dict(islice(entries.items(), len(entries) - keep, None))
            except RuntimeError:  # another thread changed it meanwhile: start afresh
                entries = {}
            self._entries = entries
        entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))
