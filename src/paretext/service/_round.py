"""One optimization round: GEPA on a slot's accumulated events, then the promotion check.

Everything a round pays for goes through one normal run store (``paretext
show/report`` read it): the engine's rollouts and LM calls, the judge's calls and
the held-out evaluations.  Re-running a round against its store therefore
resumes exactly: recorded calls are served from it, never paid twice.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Only the public API: the engine may change shape underneath without touching this.
from .. import Budget, ChatStep, Feedback, Metric, Pipeline, SQLiteRunStore, aoptimize
from ..lm import LM, CachedLM, ComposedLM, MeteredLM, UsageTracker
from ._config import ServiceConfig
from ._errors import ServiceError
from ._feedback import EventMetric, event_example, needs_judge, split
from ._records import EventRecord, RoundRecord, Slot, Version
from ._store import Outcome

__all__ = ["RoundInputs", "holdout_cost", "run_round"]


@dataclass(frozen=True, slots=True)
class RoundInputs:
    slot: Slot
    round: RoundRecord
    base: Version
    events: Sequence[EventRecord]


def holdout_cost(n_events: int, holdout_fraction: float) -> int:
    """Rollouts the promotion check spends: the base and the best on each held-out event."""
    n_hold = min(n_events - 2, max(2, round(n_events * holdout_fraction)))
    return 2 * n_hold


def _program(slot: Slot, lm: LM) -> Pipeline:
    spec = slot.program
    steps = [ChatStep(s["component"], s["template"], s.get("name", "")) for s in spec["steps"]]
    return Pipeline(
        lm, steps, temperature=spec.get("temperature"), max_tokens=spec.get("max_tokens")
    )


async def _score(
    program: Pipeline, metric: Metric, components: Mapping[str, str], data: Sequence[dict[str, Any]]
) -> float:
    """Mean score on ``data``; an example whose program or metric fails scores 0."""

    async def one(example: dict[str, Any]) -> float:
        try:
            out = await program.run(components, example)
            feedback: Feedback = await metric(example, out.output, out.trace)
        except Exception:
            return 0.0
        return feedback.score

    scores = await asyncio.gather(*(one(e) for e in data))
    return math.fsum(scores) / len(scores)


async def run_round(inputs: RoundInputs, config: ServiceConfig) -> Outcome:
    """Run (or resume) the round and decide whether its best candidate is promoted."""
    slot, rnd, policy = inputs.slot, inputs.round, inputs.slot.policy
    examples = [event_example(e) for e in inputs.events]
    train, val, holdout = split(examples, policy["holdout_fraction"])
    reflection_name = policy.get("reflection_lm") or config.reflection_lm
    if reflection_name is None:
        raise ServiceError(
            "no reflection LM: set the slot's policy.reflection_lm or --reflection-lm"
        )
    judge_name = policy.get("judge_lm") or config.judge_lm
    if judge_name is None and needs_judge(inputs.events):
        raise ServiceError(
            "events carry free-text feedback but no judge LM is set: "
            "set policy.judge_lm or --judge-lm"
        )
    tracker = UsageTracker()
    store = SQLiteRunStore(Path(rnd.run_path))
    opened: list[LM] = []

    def lm(name: str) -> LM:
        opened.append(config.lm_factory(name))
        return opened[-1]

    try:
        judge = None
        if judge_name is not None:
            judge = MeteredLM(CachedLM(lm(judge_name), store, role="judge"), tracker, role="judge")
        metric = Metric(EventMetric(judge))
        task_lm = lm(slot.program["model"])
        budget_rollouts = rnd.reserved_rollouts - 2 * len(holdout)
        budget = Budget(rollouts=budget_rollouts, usd=rnd.reserved_usd)
        result = await aoptimize(
            dict(inputs.base.components),
            _program(slot, task_lm),
            metric,
            train,
            val,
            reflection_lm=lm(reflection_name),
            budget=budget,
            run=store,
            run_meta={
                "service": {
                    "slot": slot.name,
                    "round": rnd.number,
                    "user": rnd.user_key,
                    "base_version": inputs.base.number,
                }
            },
        )
        # Held-out calls go through the run store too, so a retried round replays them.
        holdout_program = _program(
            slot, MeteredLM(CachedLM(task_lm, store, role="holdout"), tracker, role="holdout")
        )
        best = dict(result.best.components)
        base_score = await _score(holdout_program, metric, inputs.base.components, holdout)
        changed = best != dict(inputs.base.components)
        new_score = await _score(holdout_program, metric, best, holdout) if changed else base_score
    finally:
        store.close()
        for model in opened:  # their HTTP connections belong to this event loop
            if isinstance(model, ComposedLM):
                await model.aclose()
    costs = [u.cost_usd for u in (*result.usage, *tracker.totals())]
    used_usd = None if any(c is None for c in costs) else math.fsum(c or 0.0 for c in costs)
    margin = float(policy["margin"])
    promote = changed and new_score > base_score and new_score >= base_score + margin
    return Outcome(
        components=best if changed else None,
        promote=promote,
        scores={
            "holdout": new_score,
            "base_holdout": base_score,
            "val": result.best.score,
            "margin": margin,
            "n_train": len(train),
            "n_val": len(val),
            "n_holdout": len(holdout),
            "stop_reason": result.stop_reason,
        },
        used_rollouts=result.rollouts_used + (2 if changed else 1) * len(holdout),
        used_usd=used_usd,
    )
