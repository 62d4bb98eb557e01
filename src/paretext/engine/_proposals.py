"""Executing a plan: reflect or merge, gate the child, validate it; returns an :class:`Outcome`.

Execution reads only its frozen :class:`Plan` (and the texts of proposals still
in flight, to skip a text one of them is already evaluating) and writes
nothing but rollouts: whether it counts is for the commit to decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .._ids import ExampleId, content_hash
from .._types import Example, Proposal, Rollout
from .._verdict import Verdict
from ..errors import LMError, ReflectionParseError
from ..propose import MergeProposer, MutationProposer, MutationRequest, plan_components
from ._evaluator import Evaluator, Key
from ._planner import Plan
from ._state import Outcome

__all__ = ["ProposalRunner", "deal"]


def deal(rollouts: Sequence[Rollout], groups: int, perfect: float) -> list[list[Rollout]]:
    """The parent's gate rollouts as at most ``groups`` minibatches, one reflection each.

    Failures with the same feedback are one kind of mistake.  Different kinds go to
    different minibatches (whole, dealt round when there are more kinds than
    minibatches), and when there are fewer kinds, the minibatches left over split
    the largest kinds' examples between them, so parallel reflections learn
    different lessons instead of the same one ``groups`` times.  Passing examples
    fill up short minibatches, to show what already works; a minibatch with no
    failure is not made: there is nothing for it to fix.
    """
    kinds: dict[str, list[Rollout]] = {}
    for r in rollouts:
        if r.score < perfect:
            kinds.setdefault(r.feedback, []).append(r)
    if not kinds:  # nothing failed (the run reflects on perfect minibatches too): one reflection
        return [list(rollouts)]
    share = dict.fromkeys(kinds, 1)  # minibatches per kind
    for _ in range(groups - len(kinds)):
        widest = max(kinds, key=lambda k: len(kinds[k]) / (share[k] + 1))
        if len(kinds[widest]) <= share[widest]:
            break
        share[widest] += 1
    dealt: list[list[Rollout]] = [[] for _ in range(min(groups, sum(share.values())))]
    slot = 0
    for kind, members in kinds.items():
        for part in range(share[kind]):
            dealt[slot % len(dealt)].extend(members[part :: share[kind]])
            slot += 1
    size = max(1, -(-len(rollouts) // groups))
    for r in (r for r in rollouts if r.score >= perfect):
        short = [g for g in dealt if len(g) < size]
        if short:
            min(short, key=len).append(r)
    return dealt


@dataclass
class _Draft:
    """An outcome being assembled."""

    plan: Plan
    rollouts: dict[Key, Rollout] = field(default_factory=dict)
    texts: dict[str, str] | None = None
    parent_gate: float | None = None
    child_gate: float | None = None

    def done(self, verdict: Verdict, message: str) -> Outcome:
        p = self.plan
        proposal = Proposal(
            iteration=p.iteration,
            kind=p.kind,
            parents=tuple(c.id for c in p.parents),
            components=tuple(self.texts or p.components),
            texts=self.texts,
            gate_examples=p.gate,
            parent_gate_score=self.parent_gate,
            child_gate_score=self.child_gate,
            verdict=verdict,
            reason=message,
        )
        return Outcome(proposal, self.rollouts)


class ProposalRunner:
    def __init__(
        self,
        evaluator: Evaluator,
        proposer: MutationProposer,
        merger: MergeProposer,
        examples: Mapping[ExampleId, Example],
        val_ids: tuple[ExampleId, ...],
        *,
        perfect_score: float,
        skip_perfect: bool,
    ) -> None:
        self._evaluator = evaluator
        self._proposer = proposer
        self._merger = merger
        self._examples = examples
        self._val_ids = val_ids
        self._perfect = perfect_score
        self._skip_perfect = skip_perfect
        # Each proposal's child hash once known (None: no child), so a proposal can skip a
        # text an earlier proposal still in flight is already evaluating.
        self._child_hash: dict[int, asyncio.Future[str | None]] = {}

    def launch(self, plan: Plan) -> asyncio.Task[Outcome]:
        """Start executing ``plan``; later proposals can wait on its child's text from now on."""
        self._child_hash[plan.iteration] = asyncio.get_running_loop().create_future()
        return asyncio.create_task(self._execute(plan))

    async def _execute(self, plan: Plan) -> Outcome:
        try:
            if plan.kind == "merge":
                return await self._merge(_Draft(plan))
            return await self._mutation(_Draft(plan))
        finally:
            self._announce(plan.iteration, None)

    def _announce(self, iteration: int, child_hash: str | None) -> None:
        future = self._child_hash[iteration]
        if not future.done():
            future.set_result(child_hash)

    async def _mutation(self, d: _Draft) -> Outcome:
        plan = d.plan
        parent, parent_hash = plan.parents[0], plan.parent_hashes[0]
        rollouts: list[Rollout] = []
        if plan.reads_parent:
            d.rollouts.update(
                await self._evaluator.evaluate_many(
                    parent.components, parent_hash, plan.gate, plan.reservation,
                    plan.paid_parent_pairs,
                )
            )
            rollouts = [d.rollouts[(parent_hash, ex)] for ex in plan.gate]
            d.parent_gate = math.fsum(r.score for r in rollouts)
            if self._skip_perfect and all(r.score >= self._perfect for r in rollouts):
                return d.done(
                    Verdict.SKIPPED_PERFECT,
                    "skipped: the parent is already perfect on this minibatch",
                )
        else:
            d.parent_gate = math.fsum(parent.val_scores[ex] for ex in plan.gate)
        texts = await self._reflect(d, rollouts)
        if isinstance(texts, Outcome):
            return texts
        d.texts = texts
        return await self._gate_and_validate(d, {**parent.components, **d.texts})

    async def _reflect(self, d: _Draft, rollouts: list[Rollout]) -> dict[str, str] | Outcome:
        """One reflection per minibatch, in parallel, combined into one text per component."""
        plan = d.plan
        groups = [rollouts]
        if plan.minibatches > 1 and rollouts:
            groups = deal(rollouts, plan.minibatches, self._perfect)
        requests = [
            MutationRequest(
                iteration=plan.iteration,
                parent=plan.parents[0],
                components=plan.components,
                examples=[self._examples[r.example_id].data for r in group],
                rollouts=group,
                rejected=plan.rejected,
                history=plan.history,
                known_hashes=plan.known_hashes,
                draw=i,
            )
            for i, group in enumerate(groups)
        ]
        replies = await asyncio.gather(
            *(self._proposer.propose(r) for r in requests), return_exceptions=True
        )
        usable = [r for r in replies if isinstance(r, dict)]
        if not usable:
            return self._failed(d, replies)
        return await self._combine(plan, usable)

    def _failed(self, d: _Draft, replies: Sequence[object]) -> Outcome:
        errors = [r for r in replies if isinstance(r, BaseException)]
        for exc in errors:
            if not isinstance(exc, ReflectionParseError | LMError):
                raise exc
        exc = next((e for e in errors if isinstance(e, ReflectionParseError)), errors[0])
        if isinstance(exc, ReflectionParseError):
            return d.done(Verdict.REFLECTION_UNUSABLE, f"reflection unusable: {exc}")
        return d.done(Verdict.REFLECTION_LM_FAILED, f"reflection LM failed: {exc}")

    async def _combine(self, plan: Plan, usable: Sequence[dict[str, str]]) -> dict[str, str]:
        """Each component's versions, synthesised into one; the first version if that fails."""
        parent = plan.parents[0]
        out: dict[str, str] = {}
        for comp in usable[0]:
            versions = list(dict.fromkeys(t[comp] for t in usable if comp in t))
            out[comp] = versions[0]  # stands on its own if the synthesis fails
            if len(versions) > 1:
                with contextlib.suppress(ReflectionParseError, LMError):
                    out[comp] = await self._merger.combine(
                        iteration=plan.iteration,
                        original=parent.components[comp],
                        versions=versions,
                    )
        return out

    async def _merge(self, d: _Draft) -> Outcome:
        plan = d.plan
        a, b = plan.parents
        assert plan.ancestor is not None
        merged, conflicts = plan_components(a, b, plan.ancestor)
        try:
            for comp in conflicts:
                merged[comp] = await self._merger.synthesize(
                    iteration=plan.iteration,
                    a=a.components[comp],
                    b=b.components[comp],
                    ancestor=plan.ancestor.components[comp],
                    a_wins=plan.merge_wins[0],
                    b_wins=plan.merge_wins[1],
                )
        except ReflectionParseError as exc:
            return d.done(Verdict.MERGE_UNUSABLE, f"merge synthesis unusable: {exc}")
        except LMError as exc:
            return d.done(Verdict.MERGE_LM_FAILED, f"merge LM failed: {exc}")
        child = {name: merged[name] for name in a.components}
        d.texts = {k: v for k, v in child.items() if v != a.components[k]}
        d.parent_gate = max(math.fsum(p.val_scores[ex] for ex in plan.gate) for p in (a, b))
        return await self._gate_and_validate(d, child)

    async def _gate_and_validate(self, d: _Draft, child: dict[str, str]) -> Outcome:
        """The one acceptance rule: strictly better than the reference on the gate batch."""
        plan = d.plan
        child_hash = content_hash(child)
        if child_hash in plan.known_hashes or child_hash in plan.parent_hashes:
            return d.done(Verdict.DUPLICATE, "duplicate of a text already evaluated")
        for earlier in plan.earlier_in_flight:
            if await asyncio.shield(self._child_hash[earlier]) == child_hash:
                return d.done(
                    Verdict.DUPLICATE_IN_FLIGHT, f"same text as proposal {earlier}, still in flight"
                )
        self._announce(plan.iteration, child_hash)
        evaluate = self._evaluator.evaluate_many
        d.rollouts.update(await evaluate(child, child_hash, plan.gate, plan.reservation))
        d.child_gate = math.fsum(d.rollouts[(child_hash, ex)].score for ex in plan.gate)
        assert d.parent_gate is not None
        if d.child_gate <= d.parent_gate:
            return d.done(
                Verdict.GATE_REJECTED,
                f"gate: {d.child_gate:g} is not above {d.parent_gate:g} on the minibatch",
            )
        rest = [ex for ex in self._val_ids if ex not in plan.gate]
        d.rollouts.update(await evaluate(child, child_hash, rest, plan.reservation))
        return d.done(Verdict.ACCEPTED, "accepted")
