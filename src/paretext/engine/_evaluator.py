"""Runs rollouts: program then metric, under the concurrency limit, each recorded once.

A (candidate, example) pair is evaluated at most once per run: results come
from memory, then the store, then a real run; concurrent requests for the same
pair share one run.  Store reads and writes run in a worker thread, off the
loop.  Outputs and traces are normalised through JSON right away, so a fresh
run and a resumed one see identical values.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Mapping
from typing import Any

from .._flight import SingleFlight
from .._ids import ExampleId
from .._types import Example, Rollout, TraceStep
from ..metric import Metric
from ..program import Program
from ..store import RunStore

__all__ = ["Evaluator"]

Key = tuple[str, ExampleId]


def _normalise(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=repr))


def _error_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Evaluator:
    def __init__(
        self,
        program: Program,
        metric: Metric,
        examples: Mapping[ExampleId, Example],
        store: RunStore,
        limiter: asyncio.Semaphore,
    ) -> None:
        self._program = program
        self._metric = metric
        self._examples = examples
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
                rollout = await self._run(components, candidate_hash, self._examples[example_id])
                await asyncio.to_thread(self._store.put_rollout, rollout)
            self._known[key] = rollout
            return rollout

        rollout, _shared = await self._flights.run(key, recorded_or_run)
        return rollout

    async def _run(
        self, components: Mapping[str, str], candidate_hash: str, example: Example
    ) -> Rollout:
        async with self._limiter:
            try:
                result = await self._program.run(dict(components), example.data)
            except Exception as exc:
                message = _error_text(exc)
                return Rollout(
                    candidate_hash,
                    example.id,
                    None,
                    (),
                    0.0,
                    f"The program failed on this example: {message}",
                    error=message,
                )
            output = _normalise(result.output)
            trace = tuple(
                TraceStep(s.component, _normalise(s.inputs), _normalise(s.output), s.name)
                for s in result.trace
            )
            try:
                feedback = await self._metric(example.data, output, trace)
            except Exception as exc:
                message = f"metric failed: {_error_text(exc)}"
                return Rollout(
                    candidate_hash, example.id, output, trace, 0.0, message, error=message
                )
        return Rollout(
            candidate_hash,
            example.id,
            output,
            trace,
            feedback.score,
            feedback.text,
            objectives=dict(feedback.objectives),
        )
