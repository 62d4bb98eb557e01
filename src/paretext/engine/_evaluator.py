"""Evaluations: each (candidate, example) pair run at most once, recorded once, under the limit.

A pair's rollout comes from memory, then the store, then the executor;
concurrent requests for the same pair share one run.  Store reads and writes
run in a worker thread, off the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from .._flight import SingleFlight
from .._ids import ExampleId
from .._types import Rollout
from ..store import RunStore
from ._executor import RolloutExecutor

__all__ = ["Evaluator"]

Key = tuple[str, ExampleId]


class Evaluator:
    def __init__(
        self,
        executor: RolloutExecutor,
        store: RunStore,
        limiter: asyncio.Semaphore,
    ) -> None:
        self._executor = executor
        self._store = store
        self._limiter = limiter
        self._known: dict[Key, Rollout] = {}
        self._flights: SingleFlight[Key, Rollout] = SingleFlight()

    def known(self, candidate_hash: str, example_id: ExampleId) -> Rollout | None:
        return self._known.get((candidate_hash, example_id))

    async def evaluate(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> Rollout:
        key = (candidate_hash, example_id)
        if key in self._known:
            return self._known[key]

        async def recorded_or_run() -> Rollout:
            rollout = await asyncio.to_thread(self._store.get_rollout, candidate_hash, example_id)
            if rollout is None:
                async with self._limiter:
                    rollout = await self._executor.run(components, candidate_hash, example_id)
                await asyncio.to_thread(self._store.put_rollout, rollout)
            self._known[key] = rollout
            return rollout

        rollout, _shared = await self._flights.run(key, recorded_or_run)
        return rollout
