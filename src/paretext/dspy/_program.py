"""A ``dspy.Module`` as a paretext :class:`~paretext.program.Program`.

Every predictor's instruction is a component, named as ``named_predictors()``
names it.  A run executes the module through DSPy (the user's ``dspy.LM`` and
settings) in a worker thread, reads DSPy's own trace of each predictor call,
and scores it with the user's metric on the live objects.  What it returns is
JSON, so a resumed run replays it exactly:
``{"prediction": {...} | None, "score": s, "feedback": text}``.  A reply DSPy's
adapter could not parse is data, not an error: the failed predictor's step
holds the raw reply, and the example scores ``failure_score``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback
from dspy.utils.exceptions import AdapterParseError

from .._ids import content_hash
from .._types import TraceStep
from ..program import ProgramOutput

__all__ = ["UNPARSED", "DspyProgram", "fresh_module", "jsonable", "score_and_feedback"]

#: Key of a failed predictor step's output: the reply DSPy's adapter could not parse.
UNPARSED = "unparsed_reply"


def jsonable(value: Any) -> Any:
    """A JSON view of a DSPy value (pydantic types dumped, anything else as text)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return jsonable(dump(mode="json"))
    return str(value)


def fields_of(prediction: Any) -> dict[str, Any]:
    """A prediction's fields (DSPy's internal ``dspy_*`` keys left out)."""
    return {k: prediction[k] for k in prediction.keys()}  # noqa: SIM118 - DSPy filters keys()


def score_and_feedback(value: Any) -> tuple[float, str | None]:
    """dspy.GEPA's metric result: a number, or anything with ``score`` (and ``feedback``)."""
    if isinstance(value, bool | int | float):
        return float(value), None
    getter = value.get if isinstance(value, Mapping) or hasattr(value, "get") else None
    if getter is None:
        raise TypeError(
            f"the metric returned {type(value).__name__}; dspy.GEPA metrics return a float "
            "or dspy.Prediction(score=..., feedback=...)"
        )
    score, feedback = getter("score"), getter("feedback")
    return float(score), None if feedback is None else str(feedback)


def fresh_module(student: Any, components: Mapping[str, str]) -> Any:
    """A deep copy of ``student`` with these instructions (``student`` is never touched)."""
    module = student.deepcopy()
    for name, predictor in module.named_predictors():
        predictor.signature = predictor.signature.with_instructions(components[name])
    return module


class _FailedCall(BaseCallback):  # type: ignore[misc]
    """Remembers which predictor (and its inputs) was running when DSPy's parsing failed."""

    def __init__(self, names: Mapping[int, str]) -> None:
        self._names = names
        self._started: dict[str, tuple[str, dict[str, Any]]] = {}
        self.failed: tuple[str, dict[str, Any]] | None = None

    def on_module_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        name = self._names.get(id(instance))
        if name is not None:
            wanted = instance.signature.input_fields
            self._started[call_id] = (name, {k: v for k, v in inputs.items() if k in wanted})

    def on_module_end(
        self, call_id: str, outputs: Any, exception: BaseException | None = None
    ) -> None:
        started = self._started.pop(call_id, None)
        if started is not None and exception is not None and self.failed is None:
            self.failed = started


class DspyProgram:
    """Runs ``student`` with a candidate's instructions; ``examples`` maps ids to the originals."""

    def __init__(
        self,
        student: Any,
        examples: Mapping[str, Any],
        metric: Callable[..., Any],
        *,
        failure_score: float,
        threads: int,
        settings: Mapping[str, Any],
    ) -> None:
        self._student = student
        self._examples = examples
        self._metric = metric
        self._failure_score = failure_score
        self._settings = dict(settings)
        self._names = tuple(name for name, _ in student.named_predictors())
        self._modules: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="paretext-dspy")

    def example(self, example_id: str) -> Any:
        return self._examples[example_id]

    def uses_components(self) -> frozenset[str]:
        return frozenset(self._names)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def build(self, components: Mapping[str, str]) -> Any:
        """The module for a candidate, built once and shared by its runs."""
        key = content_hash(components)
        with self._lock:
            module = self._modules.get(key)
            if module is None:
                module = self._modules[key] = fresh_module(self._student, components)
        return module

    async def run(self, candidate: Mapping[str, str], example: Any) -> ProgramOutput:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, dict(candidate), example["id"])

    def _run(self, candidate: dict[str, str], example_id: str) -> ProgramOutput:
        module = self.build(candidate)
        gold = self._examples[example_id]
        names = {id(p): n for n, p in module.named_predictors()}
        failed = _FailedCall(names)
        callbacks = [*self._settings.get("callbacks", dspy.settings.callbacks), failed]
        with dspy.context(**{**self._settings, "trace": [], "callbacks": callbacks}):
            try:
                prediction = module(**gold.inputs())
                error: AdapterParseError | None = None
            except AdapterParseError as exc:
                prediction, error = None, exc
            trace = list(dspy.settings.trace)
            steps = [
                TraceStep(
                    names.get(id(p)),
                    jsonable(inputs),
                    jsonable(fields_of(out)),
                    names.get(id(p), ""),
                )
                for p, inputs, out in trace
            ]
            if error is not None:
                name, inputs = failed.failed or ("", gold.inputs().toDict())
                steps.append(
                    TraceStep(name or None, jsonable(inputs), {UNPARSED: error.lm_response}, name)
                )
                score = self._failure_score
                feedback = (
                    f"The reply of predictor {name or '?'} could not be parsed into its output "
                    f"fields ({error.adapter_name}), so the example scored {score:g}."
                )
            else:
                score, text = score_and_feedback(self._metric(gold, prediction, trace, None, None))
                feedback = text or f"This trajectory got a score of {score}."
        output = {
            "prediction": None if prediction is None else jsonable(fields_of(prediction)),
            "score": score,
            "feedback": feedback,
        }
        return ProgramOutput(output=output, trace=tuple(steps))
