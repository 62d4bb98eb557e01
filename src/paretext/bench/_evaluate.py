"""Scoring a fixed candidate on held-out examples (no optimization, no budget)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..metric import Metric, as_metric
from ..program import Program, as_program

__all__ = ["HeldOutScore", "evaluate_candidate"]


@dataclass(frozen=True, slots=True)
class HeldOutScore:
    """Per-example scores of one candidate on a held-out split; failures score 0."""

    scores: tuple[float, ...]
    failures: int

    @property
    def mean(self) -> float:
        return math.fsum(self.scores) / len(self.scores) if self.scores else 0.0


async def evaluate_candidate(
    program: Program | Callable[..., Any],
    metric: Metric | Callable[..., Any],
    candidate: Mapping[str, str],
    examples: Sequence[Any],
    *,
    concurrency: int = 8,
    on_done: Callable[[], None] | None = None,
) -> HeldOutScore:
    """Run ``program`` with ``candidate`` on every example and score it with ``metric``.

    An exception in the program or the metric is counted as a failure scoring 0
    (it is data, as in an optimization run).  Results are in ``examples`` order.
    """
    prog = as_program(program)
    met = as_metric(metric)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(example: Any) -> tuple[float, bool]:
        async with gate:
            try:
                out = await prog.run(candidate, example)
                feedback = await met(example, out.output, out.trace)
                score, failed = float(feedback.score), False
            except Exception:
                score, failed = 0.0, True
        if on_done is not None:
            on_done()
        return score, failed

    results = await asyncio.gather(*(one(e) for e in examples))
    return HeldOutScore(tuple(s for s, _ in results), sum(f for _, f in results))
