"""Metric adaptation: whatever the user's metric returns becomes a checked Feedback."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ._callables import is_async, positional_arity
from ._sections import render_sections
from ._types import Feedback, TraceStep
from .errors import ProgramSignatureError

__all__ = ["Metric", "MetricError", "as_metric"]


class MetricError(Exception):
    """A metric result that cannot be used; recorded as a failed rollout, never raised to users."""


def _coerce(value: Any, perfect: float) -> Feedback:
    if isinstance(value, Feedback):
        fb = value
    elif isinstance(value, bool | int | float):
        fb = Feedback(score=float(value))
    elif isinstance(value, tuple) and len(value) == 2:
        fb = Feedback(score=float(value[0]), text=str(value[1]))
    elif isinstance(value, Mapping) and "score" in value:
        fb = Feedback(
            score=float(value["score"]),
            text=str(value.get("feedback", value.get("text", ""))),
            objectives=dict(value.get("objectives", {})),
            components=dict(value.get("components", {})),
        )
    else:
        raise MetricError(
            f"metric returned {type(value).__name__}; expected Feedback, a number, "
            "(score, text) or a dict with 'score'"
        )
    if not isinstance(fb.text, str):
        raise MetricError(
            f"metric returned feedback text of type {type(fb.text).__name__} ({fb.text!r:.80}); "
            "expected a str"
        )
    if not isinstance(fb.score, int | float) or math.isnan(fb.score):
        raise MetricError(f"metric returned a non-numeric or NaN score: {fb.score!r}")
    if not 0.0 <= fb.score <= perfect:
        raise MetricError(
            f"metric returned score {fb.score!r} outside [0, {perfect}]; if that is a valid "
            "score, set the best one: EngineConfig(perfect_score=...) or --perfect-score"
        )
    if not isinstance(fb.objectives, Mapping):
        kind = type(fb.objectives).__name__
        raise MetricError(f"metric objectives must be a mapping, got {kind}")
    for name, val in fb.objectives.items():
        if not isinstance(name, str):
            raise MetricError(f"objective names must be strings, got {name!r}")
        if not isinstance(val, int | float) or math.isnan(val):
            raise MetricError(f"objective {name!r} is not a number: {val!r}")
    for comp, said in fb.components.items():
        if not isinstance(comp, str) or not isinstance(said, str):
            raise MetricError(f"feedback for component {comp!r} must be a string, got {said!r}")
    text = fb.text or ("Correct." if fb.score >= perfect else f"Score {fb.score:g} of {perfect:g}.")
    if fb.sections:
        text = f"{text}\n{render_sections(fb.sections)}"
    return Feedback(
        score=float(fb.score),
        text=text,
        objectives=MappingProxyType(dict(fb.objectives)),
        components=MappingProxyType(dict(fb.components)),
    )


class Metric:
    """A user metric ``m(example, output)`` or ``m(example, output, trace)``, sync or async."""

    def __init__(self, fn: Callable[..., Any], *, perfect_score: float = 1.0) -> None:
        if not callable(fn):
            raise ProgramSignatureError(f"metric must be callable, got {type(fn).__name__}")
        arity = positional_arity(fn)
        if arity is not None and arity not in (2, 3):
            raise ProgramSignatureError(
                f"metric {getattr(fn, '__name__', fn)!r} takes {arity} positional arguments; "
                "expected (example, output) or (example, output, trace)"
            )
        self._fn = fn
        self._wants_trace = arity == 3
        self._async = is_async(fn)
        self.perfect_score = perfect_score

    @property
    def fn(self) -> Callable[..., Any]:
        """The user's callable (its source is part of the run's code identity)."""
        return self._fn

    async def __call__(self, example: Any, output: Any, trace: tuple[TraceStep, ...]) -> Feedback:
        args: tuple[Any, ...] = (example, output, trace) if self._wants_trace else (example, output)
        if self._async:
            value = await self._fn(*args)
        else:
            value = await asyncio.to_thread(self._fn, *args)
        try:
            return _coerce(value, self.perfect_score)
        except MetricError as exc:
            raise MetricError(f"{exc} (from {_where(self._fn)})") from None


def _where(fn: Callable[..., Any]) -> str:
    """The user's metric by name and place, so an error points at their code, not ours."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    name = getattr(fn, "__qualname__", type(fn).__qualname__)
    if code is None:
        return name
    return f"{name} at {code.co_filename}:{code.co_firstlineno}"


def as_metric(fn: Callable[..., Any] | Metric, *, perfect_score: float = 1.0) -> Metric:
    return fn if isinstance(fn, Metric) else Metric(fn, perfect_score=perfect_score)
