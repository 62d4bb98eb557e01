"""Evaluations: each (candidate, example) pair paid once, recorded once, under the limit.

A pair's rollout comes from memory, then the store, then the executor (within
``EngineConfig.rollout_timeout``, else a failed rollout);
concurrent requests for the same pair share one run.  Store reads and writes
run in a worker thread, off the loop.  The rollout ledger is charged here,
as a rollout is launched, from the reservation its proposal holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from .._flight import SingleFlight
from .._ids import ExampleId
from .._types import Rollout
from ..store import RunStore, as_stored
from ._budget import Reservation
from ._executor import RolloutExecutor, failed_rollout

__all__ = ["Evaluator"]

Key = tuple[str, ExampleId]


class Evaluator:
    def __init__(
        self,
        executor: RolloutExecutor,
        store: RunStore,
        limiter: asyncio.Semaphore,
        on_charge: Callable[[], None] = lambda: None,
        *,
        timeout: float | None = None,
    ) -> None:
        self._executor = executor
        self._timeout = timeout
        self._store = store
        self._limiter = limiter
        self._on_charge = on_charge
        self._known: dict[Key, Rollout] = {}
        #: Charged rollouts not finished yet (a progress display counts only finished ones).
        self.running = 0
        self._flights: SingleFlight[Key, Rollout] = SingleFlight()

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
                    rollout = await self._run(components, candidate_hash, example_id)
                await asyncio.to_thread(self._store.put_rollout, rollout)
            self._known[key] = rollout
            return rollout

        rollout, _shared = await self._flights.run(key, recorded_or_run)
        return rollout

    async def _run(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> Rollout:
        """A cache miss, within ``rollout_timeout``, as the store will read it back (so a
        resumed run sees exactly what this one saw)."""
        try:
            rollout = await asyncio.wait_for(
                self._executor.run(components, candidate_hash, example_id), self._timeout
            )
        except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
            message = f"timed out after {self._timeout:g} s (EngineConfig.rollout_timeout)"
            example = self._executor.examples[example_id]
            rollout = failed_rollout(candidate_hash, example, f"The program {message}", message)
        return as_stored(rollout)

    def launch(
        self,
        components: Mapping[str, str],
        candidate_hash: str,
        ids: Sequence[ExampleId],
        reservation: Reservation,
        paid: frozenset[ExampleId] | None = None,
    ) -> list[asyncio.Task[Rollout]]:
        """Start evaluating ``ids``; charge ``reservation`` for those in ``paid`` (or all)."""
        tasks = []
        for ex in ids:
            task = asyncio.ensure_future(self.evaluate(components, candidate_hash, ex))
            if paid is None or ex in paid:
                reservation.charge(1)
                self.running += 1
                task.add_done_callback(self._finished)
            tasks.append(task)
        self._on_charge()
        return tasks

    def _finished(self, _task: asyncio.Task[Rollout]) -> None:
        """A charged rollout is done: progress counts it now."""
        self.running -= 1
        self._on_charge()

    async def evaluate_many(
        self,
        components: Mapping[str, str],
        candidate_hash: str,
        ids: Sequence[ExampleId],
        reservation: Reservation,
        paid: frozenset[ExampleId] | None = None,
    ) -> dict[Key, Rollout]:
        """Evaluate ``ids`` (see :meth:`launch`), all of them."""
        rollouts = await asyncio.gather(
            *self.launch(components, candidate_hash, ids, reservation, paid)
        )
        return {(candidate_hash, r.example_id): r for r in rollouts}

