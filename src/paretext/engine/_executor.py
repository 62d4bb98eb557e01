"""Where rollouts run: one (candidate, example) pair, program then metric.

:func:`run_rollout` is the whole of one rollout and depends on nothing of the
engine's, so it can run in this process (:class:`InProcessExecutor`, the
default) or on a remote worker.  The engine keeps caching, recording, the
budget and the concurrency limit; an executor only decides *where* a cache
miss runs.  A per-example failure is a failed :class:`~paretext.Rollout`,
never an exception.
"""

from __future__ import annotations

import json
import traceback
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from .._ids import ExampleId
from .._types import Example, Rollout, TraceStep
from ..metric import Metric, MetricError
from ..program import Program

__all__ = ["InProcessExecutor", "RolloutExecutor", "failed_rollout", "run_rollout"]


def _normalise(value: Any) -> Any:
    """Through JSON, so a fresh rollout and one read back from the store are identical."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=repr))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, MetricError):  # it names the user's metric itself, not paretext's line
        return f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


#: What user code may raise that is still one example's failure (``sys.exit()`` included).
USER_FAILURES = (Exception, SystemExit)


async def run_rollout(
    program: Program,
    metric: Metric,
    components: Mapping[str, str],
    candidate_hash: str,
    example: Example,
) -> Rollout:
    """Program then metric for one pair; a per-example failure is a failed Rollout, never raised.

    Failures include an exception or ``sys.exit()`` in the program or the metric, and an
    output that cannot be recorded (circular, non-string keys): each is one failed rollout
    naming it, never the end of the run.
    """
    try:
        result = await program.run(dict(components), example.data)
    except USER_FAILURES as exc:
        message = _error_text(exc)
        why = f"The program failed on this example: {message}"
        return failed_rollout(candidate_hash, example, why, message)
    try:
        output = _normalise(result.output)
        trace = tuple(
            TraceStep(s.component, _normalise(s.inputs), _normalise(s.output), s.name)
            for s in result.trace
        )
    except (ValueError, TypeError, RecursionError) as exc:
        message = f"the program's output cannot be recorded: {type(exc).__name__}: {exc}"
        return failed_rollout(candidate_hash, example, message, message)
    try:
        feedback = await metric(example.data, output, trace)
    except USER_FAILURES as exc:
        message = f"metric failed: {_error_text(exc)}"
        return Rollout(candidate_hash, example.id, output, trace, 0.0, message, error=message)
    return Rollout(
        candidate_hash,
        example.id,
        output,
        trace,
        feedback.score,
        feedback.text,
        objectives=dict(feedback.objectives),
        component_feedback=dict(feedback.components),
    )


def failed_rollout(candidate_hash: str, example: Example, feedback: str, error: str) -> Rollout:
    """A rollout that produced nothing usable: score 0, ``error`` set."""
    return Rollout(candidate_hash, example.id, None, (), 0.0, feedback, error=error)


class RolloutExecutor(ABC):
    """Where rollouts run.  The engine keeps caching, recording, budget and the concurrency limit.

    ``start`` is called once per run before any rollout; ``run`` for each cache
    miss, under the run's concurrency limit; ``aclose`` once at the end.
    """

    program: Program
    metric: Metric
    examples: Mapping[ExampleId, Example]

    async def start(
        self, program: Program, metric: Metric, examples: Mapping[ExampleId, Example]
    ) -> None:
        """Receive what every rollout of the run needs (the default keeps it)."""
        self.program = program
        self.metric = metric
        self.examples = examples

    @abstractmethod
    async def run(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> Rollout: ...

    async def aclose(self) -> None:  # noqa: B027 - an optional hook
        """Release what ``start`` acquired; the default holds nothing."""


class InProcessExecutor(RolloutExecutor):
    """The default: :func:`run_rollout` on this event loop."""

    async def run(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> Rollout:
        return await run_rollout(
            self.program, self.metric, components, candidate_hash, self.examples[example_id]
        )
