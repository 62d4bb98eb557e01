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
from ..store._codec import as_stored

__all__ = ["Evaluator", "run_rollout"]

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
        timeout: float | None = None,
    ) -> None:
        self._program = program
        self._metric = metric
        self._examples = examples
        self._store = store
        self._limiter = limiter
        self._timeout = timeout
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
            return await run_rollout(
                self._program,
                self._metric,
                components,
                candidate_hash,
                example,
                timeout=self._timeout,
            )


#: What user code may raise that is still one example's failure (``sys.exit()`` included).
USER_FAILURES = (Exception, SystemExit)


async def run_rollout(
    program: Program,
    metric: Metric,
    components: Mapping[str, str],
    candidate_hash: str,
    example: Example,
    *,
    timeout: float | None = None,
) -> Rollout:
    """Program then metric for one pair, within ``timeout`` seconds.

    Whatever goes wrong with this one example (an exception, ``sys.exit()``, an output
    that cannot be recorded, a timeout) becomes one failed rollout naming it; never raised.
    The rollout is returned as the store will read it back, so a resumed run sees the same.
    """
    try:
        rollout = await asyncio.wait_for(
            _program_then_metric(program, metric, components, candidate_hash, example), timeout
        )
    except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
        message = f"timed out after {timeout:g} s (EngineConfig.rollout_timeout)"
        rollout = _failed(candidate_hash, example, None, (), f"The program {message}", message)
    return as_stored(rollout)


async def _program_then_metric(
    program: Program,
    metric: Metric,
    components: Mapping[str, str],
    candidate_hash: str,
    example: Example,
) -> Rollout:
    try:
        result = await program.run(dict(components), example.data)
    except USER_FAILURES as exc:
        message = _error_text(exc)
        why = f"The program failed on this example: {message}"
        return _failed(candidate_hash, example, None, (), why, message)
    try:
        output = _normalise(result.output)
        trace = tuple(
            TraceStep(s.component, _normalise(s.inputs), _normalise(s.output), s.name)
            for s in result.trace
        )
    except (ValueError, TypeError, RecursionError) as exc:
        message = f"the program's output cannot be recorded: {type(exc).__name__}: {exc}"
        return _failed(candidate_hash, example, None, (), message, message)
    try:
        feedback = await metric(example.data, output, trace)
    except USER_FAILURES as exc:
        message = f"metric failed: {_error_text(exc)}"
        return _failed(candidate_hash, example, output, trace, message, message)
    return Rollout(
        candidate_hash,
        example.id,
        output,
        trace,
        feedback.score,
        feedback.text,
        objectives=dict(feedback.objectives),
    )


def _failed(
    candidate_hash: str,
    example: Example,
    output: Any,
    trace: tuple[TraceStep, ...],
    feedback: str,
    error: str,
) -> Rollout:
    return Rollout(candidate_hash, example.id, output, trace, 0.0, feedback, error=error)
