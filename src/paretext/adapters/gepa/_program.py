"""A ``gepa.GEPAAdapter`` as a paretext :class:`~paretext.program.Program`.

A rollout is the adapter's ``evaluate([example], candidate, capture_traces=True)``
in a worker thread; the score is the adapter's.  Right away, while its
trajectory is alive, the adapter's ``make_reflective_dataset`` turns it into one
record per component (gepa asks for one component at a time, and so does this),
and the records go into the rollout's trace: trajectories need not be JSON, the
records are (gepa's contract says so), so a resumed run reflects on exactly
what the first one saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._types import TraceStep
from ...errors import ConfigError
from ...program import ProgramOutput

__all__ = ["RECORD_STEP", "AdapterProgram"]

#: Name of the trace steps that hold a component's reflective record.
RECORD_STEP = "reflective record"


def _one(values: Sequence[Any] | None, what: str) -> Any:
    if values is None or len(values) != 1:
        got = "none" if values is None else len(values)
        raise ConfigError(f"the adapter's evaluate returned {got} {what} for a batch of one")
    return values[0]


class AdapterProgram:
    """Runs ``adapter`` on one example at a time (several threads at once)."""

    def __init__(
        self, adapter: Any, examples: Mapping[str, Any], components: Sequence[str], threads: int
    ) -> None:
        self._adapter = adapter
        self._examples = examples
        self._components = tuple(components)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="paretext-gepa")

    def uses_components(self) -> frozenset[str]:
        return frozenset(self._components)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, candidate: Mapping[str, str], example: Any) -> ProgramOutput:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, dict(candidate), example["id"])

    def _run(self, candidate: dict[str, str], example_id: str) -> ProgramOutput:
        batch = self._adapter.evaluate([self._examples[example_id]], candidate, capture_traces=True)
        score = float(_one(batch.scores, "scores"))
        output = _one(batch.outputs, "outputs")
        _one(batch.trajectories, "trajectories")
        objectives = (
            _one(batch.objective_scores, "objective scores") if batch.objective_scores else {}
        )
        steps: list[TraceStep] = []
        notes: list[str] = []
        for component in self._components:
            try:
                dataset = self._adapter.make_reflective_dataset(candidate, batch, [component])
            except Exception as exc:  # the adapter found nothing to say about this component
                notes.append(
                    f"{component}: make_reflective_dataset failed: {type(exc).__name__}: {exc}"
                )
                continue
            for record in dataset.get(component, ()):
                steps.append(TraceStep(component, dict(record), None, RECORD_STEP))
        feedbacks = [str(s.inputs["Feedback"]) for s in steps if "Feedback" in s.inputs]
        feedback = feedbacks[0] if feedbacks else f"This trajectory got a score of {score}."
        if notes:
            feedback += "\n" + "\n".join(notes)
        return ProgramOutput(
            output={
                "output": output,
                "score": score,
                "feedback": feedback,
                "objectives": dict(objectives),
            },
            trace=tuple(steps),
        )
