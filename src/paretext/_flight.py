"""Share one in-flight computation between concurrent callers of the same key.

The evaluator (one rollout per candidate and example) and the LM response cache
(one call per request) both must never pay twice for work already under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Runs ``compute`` once per key at a time; later callers await the first one's result."""

    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """``(value, shared)``: ``shared`` is true when another caller's computation gave it.

        An exception reaches every caller.  The pending entry is registered before
        the first await, so callers that start together share one computation.
        """
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._pending[key]
        future.set_result(value)
        return value, False
