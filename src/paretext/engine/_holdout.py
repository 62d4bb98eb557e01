"""Final selection on a held-out slice of the validation set.

The search picks its best candidate by mean validation score, and with a small
validation set and many proposals that maximum is biased upwards: the winner is
partly the candidate that was luckiest on those examples.  Keeping a slice of
the validation set out of the search entirely, and choosing the returned
candidate among the frontier by its score on that slice, removes the bias from
the final choice (the slice is seen exactly once, at the end).

The slice is drawn with a seeded shuffle, so it is the same on a resumed run;
its rollouts are recorded in the run store like any other, so a resumed run
does not pay for them twice.  Its cost -- ``candidates`` x slice size rollouts --
is set aside from the budget before the search starts.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._ids import CandidateId, ExampleId, content_hash
from .._types import Candidate, Example, HoldoutSelection, Result
from ..errors import ConfigError
from ._executor import run_rollout

if TYPE_CHECKING:
    from ._spec import RunSpec

__all__ = ["HoldoutPlan", "plan_holdout", "select_on_holdout"]

#: Holdout examples get their own ids, so they can never share a cached rollout with a
#: search example that happens to carry the same positional id.
PREFIX = "holdout/"


@dataclass(frozen=True, slots=True)
class HoldoutPlan:
    """The validation set split into what the search sees and the slice kept out of it."""

    search: list[Example]
    held: list[Example]
    candidates: int

    @property
    def reserve(self) -> int:
        """Rollouts set aside for the final selection."""
        return self.candidates * len(self.held)


def plan_holdout(
    val: Sequence[Example], holdout: int | float, *, candidates: int, seed: int
) -> HoldoutPlan:
    """Keep ``holdout`` examples (a count, or a fraction in (0, 1)) of ``val`` out of the search."""
    if isinstance(holdout, bool) or not isinstance(holdout, int | float):
        raise ConfigError(f"holdout must be a count or a fraction, got {holdout!r}")
    if candidates < 1:
        raise ConfigError(f"holdout_candidates must be at least 1, got {candidates}")
    if isinstance(holdout, float):
        if not 0 < holdout < 1:
            raise ConfigError(f"a holdout fraction must lie strictly in (0, 1), not {holdout}")
        size = max(1, round(holdout * len(val)))
    else:
        size = holdout
    if not 1 <= size <= len(val) - 1:
        raise ConfigError(
            f"holdout of {size} examples leaves no validation set for the search "
            f"({len(val)} validation examples); keep between 1 and {len(val) - 1}"
        )
    order = list(val)
    random.Random(f"paretext-holdout:{seed}").shuffle(order)
    kept = {e.id for e in order[:size]}
    held = [Example(ExampleId(PREFIX + e.id), e.data) for e in val if e.id in kept]
    return HoldoutPlan([e for e in val if e.id not in kept], held, candidates)


def _contenders(result: Result, limit: int) -> list[Candidate]:
    """The search's best, then the other frontier members by validation score, ``limit`` in all."""
    ranked = sorted(result.frontier, key=lambda c: -c.score)
    chosen = [result.best, *(c for c in ranked if c.id != result.best.id)]
    return chosen[:limit]


async def select_on_holdout(spec: RunSpec, result: Result, plan: HoldoutPlan) -> Result:
    """Score the contenders on the held-out slice; return the result with the winner as ``best``.

    Ties go to the higher search score, then to the earlier candidate.
    """
    contenders = _contenders(result, plan.candidates)
    gate = asyncio.Semaphore(spec.engine.concurrency)

    async def one(c: Candidate, example: Example) -> float:
        digest = content_hash(c.components)
        rollout = await asyncio.to_thread(spec.store.get_rollout, digest, example.id)
        if rollout is None:
            async with gate:
                rollout = await run_rollout(spec.program, spec.metric, c.components, digest,
                                            example)
            await asyncio.to_thread(spec.store.put_rollout, rollout)
        return rollout.score

    scores: dict[CandidateId, float] = {}
    for c in contenders:
        values = await asyncio.gather(*(one(c, e) for e in plan.held))
        scores[c.id] = math.fsum(values) / len(values)
    order = {c.id: i for i, c in enumerate(result.candidates)}
    winner = max(contenders, key=lambda c: (scores[c.id], c.score, -order[c.id]))
    selection = HoldoutSelection(
        examples=tuple(e.id for e in plan.held),
        scores=MappingProxyType(scores),
        chosen=winner.id,
        search_best=result.best.id,
    )
    return replace(result, best=winner, selection=selection,
                   rollouts_used=result.rollouts_used + len(contenders) * len(plan.held),
                   rollouts_limit=None if result.rollouts_limit is None
                   else result.rollouts_limit + plan.reserve)
