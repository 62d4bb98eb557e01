"""The scheduler: plan → execute (concurrently) → commit (in order).

Proposal *i* is planned, synchronously, right after proposal
*i - proposals_in_flight* commits, from committed state only, with an RNG
seeded by ``(seed, i)``.  Commits happen in iteration order.  So the same seed
and the same LM answers give the same result whatever the timing, and a
resumed run (which replays recorded rollouts and LM calls) retraces the
original exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from .._ids import CandidateId, ExampleId, content_hash
from .._types import Candidate, Example, Proposal, Result, Rollout
from ..errors import EvaluationsFailed, LMError, ReflectionParseError
from ..lm._base import LM
from ..lm._usage import UsageTracker
from ..metric import Metric
from ..program import Program
from ..propose import (
    MergeProposer,
    MutationProposer,
    MutationRequest,
    ReflectionProposer,
    plan_components,
)
from ..store import RunStore
from ._budget import Ledger, Reservation
from ._evaluator import Evaluator
from ._executor import InProcessExecutor, RolloutExecutor
from ._observer import EngineObserver
from ._planner import Plan, Planner
from ._sampling import EpochSampler
from ._state import CommittedState, mean_objectives

__all__ = ["Engine", "RunSpec"]

LM_FAILURE_LIMIT = 5
SKIPPED_PERFECT = "skipped: the parent is already perfect on this minibatch"


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, already validated and resolved (see api.py)."""

    seed_components: Mapping[str, str]
    train: Sequence[Example]
    val: Sequence[Example]
    program: Program
    metric: Metric
    reflection_lm: LM
    store: RunStore
    budget: Budget
    engine: EngineConfig = field(default_factory=EngineConfig)
    reflection: ReflectionConfig = field(default_factory=ReflectionConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    tracker: UsageTracker = field(default_factory=UsageTracker)
    search_mode: bool = False
    proposer: MutationProposer | None = None
    executor: RolloutExecutor | None = None


@dataclass
class _Outcome:
    plan: Plan
    accepted: bool
    reason: str
    texts: dict[str, str] | None = None
    child: dict[str, str] | None = None
    child_hash: str | None = None
    parent_gate: float | None = None
    child_gate: float | None = None
    val_rollouts: list[Rollout] = field(default_factory=list)
    evaluated: list[tuple[str, ExampleId]] = field(default_factory=list)
    lm_failure: str | None = None


class Engine:
    def __init__(self, spec: RunSpec, observer: EngineObserver | None = None) -> None:
        self.spec = spec
        self.observer = observer or EngineObserver()
        cfg = spec.engine
        self._limiter = asyncio.Semaphore(cfg.concurrency)
        examples = {e.id: e for e in (*spec.train, *spec.val)}
        self._examples: dict[ExampleId, Example] = examples
        self._executor = spec.executor or InProcessExecutor()
        self.evaluator = Evaluator(self._executor, spec.store, self._limiter)
        self.ledger = Ledger(spec.budget.rollouts)
        self.state = CommittedState(cfg.frontier, [e.id for e in spec.val])
        self._val_ids = tuple(e.id for e in spec.val)
        self._proposer = spec.proposer or ReflectionProposer(spec.reflection)
        self._proposer.bind(spec.reflection_lm, self._limiter)
        self._merger = MergeProposer(
            spec.reflection_lm, self._limiter, temperature=spec.reflection.temperature
        )
        self.planner = Planner(
            self.state,
            self.ledger,
            sampler=EpochSampler(
                [e.id for e in spec.train], spec.reflection.minibatch_size, cfg.seed
            ),
            selector=cfg.candidate_selector(),
            components=spec.reflection.component_selector(),
            merge_gate_size=spec.merge.gate_size,
            seed=cfg.seed,
        )
        self._event_seq = 0
        self._external_stop: str | None = None
        self._task: asyncio.Task[Any] | None = None
        # Each proposal's child hash once known (None: no child), so a proposal can skip a
        # text an earlier proposal still in flight is already evaluating.
        self._child_hash: dict[int, asyncio.Future[str | None]] = {}
        self._deadline: float | None = None
        # Proposals in a row that spend no rollout (skipped, unusable reflection) before giving up:
        # without this, a run whose minibatches are all cached could propose forever for free.
        self._idle_limit = max(10, 2 * len(spec.train) // spec.reflection.minibatch_size)

    # -- public ------------------------------------------------------------------
    async def run(self) -> Result:
        spec = self.spec
        started = time.monotonic()
        if spec.budget.minutes is not None:
            self._deadline = started + spec.budget.minutes * 60
        self.observer.on_start(self.ledger.limit)
        self._task = asyncio.current_task()
        await self._executor.start(spec.program, spec.metric, self._examples)
        try:
            with self._signal_handlers():
                await self._evaluate_seed()
                stop_reason = await self._search()
        except asyncio.CancelledError:
            spec.store.finish({"error": "cancelled; resume to continue"}, status="interrupted")
            raise
        except BaseException as exc:
            spec.store.finish({"error": f"{type(exc).__name__}: {exc}"}, status="failed")
            raise
        finally:
            await self._executor.aclose()
        result = self._result(stop_reason)
        spec.store.finish(_summary(result, time.monotonic() - started))
        self.observer.on_finish(result)
        return result

    def request_stop(self, reason: str) -> None:
        """Stop planning new proposals; those in flight finish and commit.

        A second request cancels the run at once; everything recorded so far is kept
        and a later run with the same path resumes from it.
        """
        if self._external_stop is not None and self._task is not None:
            self._task.cancel()
        self._external_stop = self._external_stop or reason

    # -- seed --------------------------------------------------------------------
    async def _evaluate_seed(self) -> None:
        spec = self.spec
        components = dict(spec.seed_components)
        seed_hash = content_hash(components)
        reservation = self.ledger.reserve(len(self._val_ids))
        probe = self._val_ids[: max(1, min(spec.engine.fail_fast_after, len(self._val_ids)))]
        first = await self._evaluate_many(components, seed_hash, probe, reservation)
        if all(r.failed for r in first):
            errors = [r.error or "" for r in first]
            raise EvaluationsFailed(
                f"all of the first {len(first)} evaluations of the seed failed; stopping before "
                f"spending the budget. First error: {errors[0]}",
                errors=errors,
            )
        rest = await self._evaluate_many(
            components, seed_hash, self._val_ids[len(probe) :], reservation
        )
        reservation.release()
        rollouts = [*first, *rest]
        seed = Candidate(
            id=self.state.next_id(),
            components=components,
            parents=(),
            origin="seed",
            iteration=None,
            changed=(),
            val_scores={r.example_id: r.score for r in rollouts},
            val_objectives=mean_objectives(rollouts),
        )
        self.state.add_candidate(seed, seed_hash, rollouts)
        self.spec.store.put_candidate(seed)
        self._event("seed", {"candidate": seed.id, "score": seed.score, "spent": self.ledger.spent})
        self.observer.on_commit(self.state, self.ledger, None)

    async def _evaluate_many(
        self,
        components: Mapping[str, str],
        candidate_hash: str,
        ids: Sequence[ExampleId],
        reservation: Reservation,
        paid: frozenset[ExampleId] | None = None,
    ) -> list[Rollout]:
        """Evaluate ``ids``; charge ``reservation`` for those in ``paid`` (all when ``None``)."""
        for ex in ids:
            if paid is None or ex in paid:
                reservation.charge(1)
        rollouts = await asyncio.gather(
            *(self.evaluator.evaluate(components, candidate_hash, ex) for ex in ids)
        )
        self.observer.on_rollouts(self.ledger)
        return list(rollouts)

    # -- the loop ----------------------------------------------------------------
    async def _search(self) -> str:
        in_flight: deque[tuple[Plan, asyncio.Task[_Outcome]]] = deque()
        iteration = 0
        stop_reason: str | None = None
        try:
            while True:
                while stop_reason is None and len(in_flight) < self.spec.engine.proposals_in_flight:
                    stop_reason = self._stop_reason(iteration)
                    if stop_reason is not None:
                        break
                    plan = self.planner.plan(iteration, [p.iteration for p, _ in in_flight])
                    if plan is None:
                        if not in_flight:
                            stop_reason = "budget exhausted"
                        break
                    self._child_hash[iteration] = asyncio.get_running_loop().create_future()
                    in_flight.append((plan, asyncio.create_task(self._execute(plan))))
                    iteration += 1
                if not in_flight:
                    return stop_reason or "budget exhausted"
                _plan, task = in_flight[0]
                outcome = await task
                in_flight.popleft()
                self._commit(outcome)
        finally:
            for _, task in in_flight:
                task.cancel()
            for _, task in in_flight:
                with contextlib.suppress(BaseException):
                    await task

    def _stop_reason(self, iteration: int) -> str | None:
        stop, state = self.spec.stop, self.state
        if self._external_stop:
            return self._external_stop
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return "time limit reached"
        if stop.stop_file and os.path.exists(stop.stop_file):
            return f"stop file {stop.stop_file} found"
        if stop.max_proposals is not None and iteration >= stop.max_proposals:
            return f"max_proposals={stop.max_proposals} reached"
        if stop.patience is not None and state.since_improvement >= stop.patience:
            return f"no improvement in {stop.patience} proposals"
        if stop.score_threshold is not None and state.best_score() >= stop.score_threshold:
            return f"score threshold {stop.score_threshold} reached"
        perfect = self.spec.engine.perfect_score
        if state.best_score() >= perfect:
            return "perfect validation score reached"
        if self.spec.search_mode and all(s >= perfect for _, s in state.best_per_instance.values()):
            return "every task solved"
        if state.idle_streak >= self._idle_limit:
            last = state.proposals[-1].reason
            if last == SKIPPED_PERFECT:
                return "the sampled minibatches are already perfect"
            return f"{state.idle_streak} proposals in a row evaluated nothing new (last: {last})"
        budget, tracker = self.spec.budget, self.spec.tracker
        if budget.tokens is not None and tracker.total_tokens() >= budget.tokens:
            return "token budget spent"
        if budget.usd is not None:
            cost = tracker.total_cost_usd()
            if cost is not None and cost >= budget.usd:
                return "usd budget spent"
        return None

    # -- planning (synchronous, committed state only) ------------------------------
    # -- execution (concurrent) ------------------------------------------------------
    async def _execute(self, plan: Plan) -> _Outcome:
        try:
            if plan.kind == "merge":
                return await self._execute_merge(plan)
            return await self._execute_mutation(plan)
        finally:
            self._announce_child(plan.iteration, None)

    def _announce_child(self, iteration: int, child_hash: str | None) -> None:
        future = self._child_hash[iteration]
        if not future.done():
            future.set_result(child_hash)

    async def _execute_mutation(self, plan: Plan) -> _Outcome:
        parent, parent_hash = plan.parents[0], plan.parent_hashes[0]
        parent_rollouts = await self._evaluate_many(
            parent.components, parent_hash, plan.gate, plan.reservation, plan.paid_parent_pairs
        )
        evaluated = [(parent_hash, ex) for ex in plan.gate]
        perfect = self.spec.engine.perfect_score
        if self.spec.reflection.skip_perfect and all(r.score >= perfect for r in parent_rollouts):
            return _Outcome(plan, False, SKIPPED_PERFECT, evaluated=evaluated)
        request = MutationRequest(
            iteration=plan.iteration,
            parent=parent,
            components=plan.components,
            examples=[self._examples[ex].data for ex in plan.gate],
            rollouts=parent_rollouts,
            rejected=plan.rejected,
            history=plan.history,
            known_hashes=plan.known_hashes,
        )
        try:
            texts = await self._proposer.propose(request)
        except ReflectionParseError as exc:
            return _Outcome(plan, False, f"reflection unusable: {exc}", evaluated=evaluated)
        except LMError as exc:
            return _Outcome(
                plan,
                False,
                f"reflection LM failed: {exc}",
                evaluated=evaluated,
                lm_failure=str(exc),
            )
        child = {**parent.components, **texts}
        parent_sum = math.fsum(r.score for r in parent_rollouts)
        return await self._gate_and_validate(plan, child, texts, parent_sum, evaluated)

    async def _execute_merge(self, plan: Plan) -> _Outcome:
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
            return _Outcome(plan, False, f"merge synthesis unusable: {exc}")
        except LMError as exc:
            return _Outcome(plan, False, f"merge LM failed: {exc}", lm_failure=str(exc))
        child = {name: merged[name] for name in a.components}
        texts = {k: v for k, v in child.items() if v != a.components[k]}
        best_parent = max(math.fsum(p.val_scores[ex] for ex in plan.gate) for p in (a, b))
        return await self._gate_and_validate(plan, child, texts, best_parent, [])

    async def _gate_and_validate(
        self,
        plan: Plan,
        child: dict[str, str],
        texts: dict[str, str],
        reference: float,
        evaluated: list[tuple[str, ExampleId]],
    ) -> _Outcome:
        """The one acceptance rule: strictly better than the reference on the gate batch."""
        child_hash = content_hash(child)
        duplicate = child_hash in plan.known_hashes or child_hash in plan.parent_hashes
        if duplicate:
            return _Outcome(
                plan,
                False,
                "duplicate of a text already evaluated",
                texts=texts,
                evaluated=evaluated,
            )
        for earlier in plan.earlier_in_flight:
            if await asyncio.shield(self._child_hash[earlier]) == child_hash:
                return _Outcome(
                    plan,
                    False,
                    f"same text as proposal {earlier}, still in flight",
                    texts=texts,
                    evaluated=evaluated,
                )
        self._announce_child(plan.iteration, child_hash)
        gate_rollouts = await self._evaluate_many(child, child_hash, plan.gate, plan.reservation)
        evaluated = [*evaluated, *((child_hash, ex) for ex in plan.gate)]
        child_sum = math.fsum(r.score for r in gate_rollouts)
        common = {
            "texts": texts,
            "child": child,
            "child_hash": child_hash,
            "parent_gate": reference,
            "child_gate": child_sum,
        }
        if child_sum <= reference:
            return _Outcome(
                plan,
                False,
                f"gate: {child_sum:g} is not above {reference:g} on the minibatch",
                evaluated=evaluated,
                **common,  # type: ignore[arg-type]
            )
        rest = [ex for ex in self._val_ids if ex not in plan.gate]
        val_more = await self._evaluate_many(child, child_hash, rest, plan.reservation)
        by_id = {r.example_id: r for r in (*gate_rollouts, *val_more)}
        val_rollouts = [by_id[ex] for ex in self._val_ids]
        return _Outcome(
            plan,
            True,
            "accepted",
            val_rollouts=val_rollouts,
            evaluated=[*evaluated, *((child_hash, ex) for ex in rest)],
            **common,  # type: ignore[arg-type]
        )

    # -- commit (in iteration order) -----------------------------------------------
    def _commit(self, outcome: _Outcome) -> None:
        plan, state = outcome.plan, self.state
        charged = plan.reservation.charged
        plan.reservation.release()
        state.evaluated.update(outcome.evaluated)
        candidate_id: CandidateId | None = None
        improved = False
        if outcome.accepted and outcome.child_hash in state.by_hash:
            # A proposal in flight beside this one committed the same text first.
            outcome.accepted = False
            outcome.reason = (
                f"duplicate of {state.by_hash[outcome.child_hash]}, committed meanwhile"
            )
        if outcome.accepted:
            assert outcome.child is not None and outcome.child_hash is not None
            candidate_id = state.next_id()
            candidate = Candidate(
                id=candidate_id,
                components=outcome.child,
                parents=tuple(p.id for p in plan.parents),
                origin=plan.kind,
                iteration=plan.iteration,
                changed=tuple(outcome.texts or ()),
                val_scores={r.example_id: r.score for r in outcome.val_rollouts},
                val_objectives=mean_objectives(outcome.val_rollouts),
            )
            improved = state.add_candidate(candidate, outcome.child_hash, outcome.val_rollouts)
            self.spec.store.put_candidate(candidate)
            if plan.kind == "merge":
                state.merges_done += 1
            elif (
                self.spec.merge.enabled
                and state.merges_done + state.merges_due < self.spec.merge.max_merges
            ):
                state.merges_due += 1
        if not outcome.accepted and outcome.child_gate is not None and outcome.child_hash:
            state.tried.add(outcome.child_hash)
        if not outcome.accepted and plan.kind == "mutation" and outcome.texts:
            for comp, text in outcome.texts.items():
                state.rejected.setdefault((plan.parents[0].id, comp), []).append(text)
        state.since_improvement = 0 if improved else state.since_improvement + 1
        state.idle_streak = state.idle_streak + 1 if charged == 0 else 0
        if outcome.lm_failure is not None:
            state.lm_failure_streak += 1
        elif plan.kind == "mutation" and outcome.reason != SKIPPED_PERFECT:
            state.lm_failure_streak = 0
        proposal = Proposal(
            iteration=plan.iteration,
            kind=plan.kind,
            parents=tuple(p.id for p in plan.parents),
            components=tuple(outcome.texts or plan.components),
            texts=outcome.texts,
            gate_examples=plan.gate,
            parent_gate_score=outcome.parent_gate,
            child_gate_score=outcome.child_gate,
            accepted=outcome.accepted,
            reason=outcome.reason,
            candidate_id=candidate_id,
        )
        state.proposals.append(proposal)
        self.spec.store.put_proposal(proposal)
        self._event(
            "proposal",
            {
                "iteration": plan.iteration,
                "accepted": outcome.accepted,
                "candidate": candidate_id,
                "spent": self.ledger.spent,
            },
        )
        self.observer.on_commit(state, self.ledger, proposal)
        if state.lm_failure_streak >= LM_FAILURE_LIMIT:
            raise EvaluationsFailed(
                f"the reflection LM failed {state.lm_failure_streak} times in a row; "
                f"last error: {outcome.lm_failure}",
                errors=[outcome.lm_failure or ""],
            )

    def _event(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.spec.store.append_event(self._event_seq, kind, payload)
        self._event_seq += 1

    # -- result ------------------------------------------------------------------
    def _result(self, stop_reason: str) -> Result:
        state = self.state
        best_outputs: dict[ExampleId, Any] = {}
        best_for: dict[ExampleId, CandidateId] = {}
        for ex in self._val_ids:
            cid, _ = state.best_per_instance[ex]
            rollout = self.evaluator.known(state.hashes[cid], ex)
            best_outputs[ex] = None if rollout is None else rollout.output
            best_for[ex] = cid
        return Result(
            best=state.best(),
            candidates=tuple(state.pool[c] for c in state.order),
            frontier=tuple(state.pool[c] for c in state.order if c in state.frontier),
            best_outputs=best_outputs,
            best_candidate_per_instance=best_for,
            proposals=tuple(state.proposals),
            failures=self._failures(),
            rollouts_used=self.ledger.spent,
            rollouts_limit=self.ledger.limit,
            usage=self.spec.tracker.totals(),
            stop_reason=stop_reason,
            run_path=self.spec.store.location,
        )

    def _failures(self) -> tuple[str, ...]:
        out: list[str] = []
        failed = [
            r
            for (h, ex) in sorted(self.state.evaluated)
            if (r := self.evaluator.known(h, ex)) is not None and r.failed
        ]
        if failed:
            out.append(
                f"{len(failed)} rollouts failed; first: {failed[0].error} "
                f"(example {failed[0].example_id})"
            )
        for p in self.state.proposals:
            if p.failed:
                out.append(f"proposal {p.iteration}: {p.reason}")
        return tuple(out)

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if not self.spec.stop.handle_signals:
            yield
            return
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop, f"stopped by {sig.name}")
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)


def _summary(result: Result, seconds: float) -> dict[str, Any]:
    return {
        "best": result.best.id,
        "best_score": result.best.score,
        "frontier": [c.id for c in result.frontier],
        "candidates": len(result.candidates),
        "proposals": len(result.proposals),
        "accepted": sum(p.accepted for p in result.proposals),
        "rollouts_used": result.rollouts_used,
        "rollouts_limit": result.rollouts_limit,
        "stop_reason": result.stop_reason,
        "failures": list(result.failures),
        "seconds": round(seconds, 3),
    }
