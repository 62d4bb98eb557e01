"""A small read cache for the hot path (alias → version, token → tenant).

An entry is valid while it is younger than ``ttl`` seconds and no alias changed
through this process since it was stored (``generation``).  A change made by
another process (a worker promoting, another replica rolling back) is seen
within ``ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ReadCache"]

V = TypeVar("V")


class ReadCache(Generic[V]):
    def __init__(
        self, ttl: float, generation: Callable[[], int] = lambda: 0, max_entries: int = 50_000
    ) -> None:
        self.ttl = ttl
        self._generation = generation
        self._max = max_entries
        self._entries: dict[Hashable, tuple[V, float, int]] = {}

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires, generation = entry
        if expires < time.monotonic() or generation != self._generation():
            self._entries.pop(key, None)
            return None
        return value

    def generation(self) -> int:
        """Take this before reading what you will ``put``, so a change during the read counts."""
        return self._generation()

    def put(self, key: Hashable, value: V, generation: int) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + self.ttl, generation)
