"""Committed state: everything decisions may read, changed only by :meth:`CommittedState.apply`.

``apply`` is the one transition: pure (no I/O, no clock), run in commit order,
by the live engine and by :func:`~paretext.engine.replay` alike.  So the rules
of a run (which pairs a proposal paid for, the frontier, the best candidate,
who holds each instance, what failed) are written here once, and the engine,
the result, progress displays and reports all read them from a
:class:`RunSnapshot` of this state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from .._ids import CandidateId, ExampleId, content_hash
from .._types import (
    Candidate,
    Failure,
    HoldoutSelection,
    Proposal,
    Result,
    Rollout,
    UsageTotals,
)
from .._verdict import StopReason, Verdict
from ._frontier import pareto_frontier
from ._selection import PoolView

__all__ = ["Commit", "CommittedState", "Outcome", "RunSnapshot", "frontier_keys"]

FrontierType = Literal["instance", "objective", "hybrid"]
Key = tuple[str, ExampleId]


def frontier_keys(c: Candidate, frontier_type: FrontierType) -> dict[str, float]:
    """What the frontier is built over: validation instances, objectives, or both."""
    instance = {str(k): v for k, v in c.val_scores.items()}
    objective = {f"obj:{k}": v for k, v in c.val_objectives.items()}
    if frontier_type == "instance":
        return instance
    if frontier_type == "objective":
        return objective or instance
    return {**instance, **objective}


def mean_objectives(rollouts: Sequence[Rollout]) -> Mapping[str, float]:
    names = sorted({k for r in rollouts for k in r.objectives})
    return {n: math.fsum(r.objectives.get(n, 0.0) for r in rollouts) / len(rollouts) for n in names}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What executing one plan produced: the proposal (no candidate id yet) and the rollouts
    it read, by (candidate hash, example).  Replay builds the same from the store."""

    proposal: Proposal
    rollouts: Mapping[Key, Rollout]


@dataclass(frozen=True, slots=True)
class Commit:
    """The run right after one commit (the seed, or one proposal accepted or not)."""

    iteration: int | None
    candidate: CandidateId | None
    accepted: bool
    rollouts: int
    best: CandidateId
    best_score: float
    frontier_size: int


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A frozen picture of a run: what Result, progress, ``show``, reports and MLflow read.

    ``rollouts_spent`` counts rollouts launched (committed ones plus those of
    proposals still in flight), ``rollouts_running`` those of them not
    finished yet, ``rollouts_reserved`` what in-flight proposals may still
    spend; ``usage`` is every LM response the run consumed, ``paid``
    the calls paid in this process (a resumed run replays the rest for free).
    """

    val_ids: tuple[ExampleId, ...]
    candidates: tuple[Candidate, ...]
    frontier: tuple[CandidateId, ...]
    best: Candidate
    best_per_instance: Mapping[ExampleId, tuple[CandidateId, float]]
    best_rollouts: Mapping[ExampleId, Rollout | None]
    proposals: tuple[Proposal, ...]
    failures: tuple[Failure, ...]
    commits: tuple[Commit, ...]
    rollouts_committed: int
    rollouts_spent: int
    rollouts_reserved: int
    rollouts_limit: int | None
    rollouts_running: int = 0
    usage: tuple[UsageTotals, ...] = ()
    paid: tuple[UsageTotals, ...] = ()
    elapsed_s: float = 0.0
    status: str = "running"
    stopped: StopReason | None = None
    stop_reason: str | None = None
    #: Set when a held-out slice chose ``best`` (see :func:`paretext.optimize`'s ``holdout``).
    selection: HoldoutSelection | None = None

    def candidate(self, candidate_id: str) -> Candidate:
        for c in self.candidates:
            if c.id == candidate_id:
                return c
        raise KeyError(candidate_id)

    @property
    def seed(self) -> Candidate:
        return self.candidates[0]

    @property
    def rollouts_finished(self) -> int:
        """Rollouts spent and done: what a progress bar should count."""
        return self.rollouts_spent - self.rollouts_running

    @property
    def accepted(self) -> int:
        return sum(p.accepted for p in self.proposals)

    @property
    def rejected(self) -> int:
        return len(self.proposals) - self.accepted

    def result(self, run_path: str | None) -> Result:
        """The :class:`~paretext.Result` of a finished run."""
        assert self.stopped is not None and self.stop_reason is not None
        return Result(
            best=self.best,
            candidates=self.candidates,
            frontier=tuple(self.candidate(c) for c in self.frontier),
            best_outputs={
                ex: None if r is None else r.output for ex, r in self.best_rollouts.items()
            },
            best_candidate_per_instance={ex: c for ex, (c, _) in self.best_per_instance.items()},
            proposals=self.proposals,
            failures=self.failures,
            rollouts_used=self.rollouts_spent,
            rollouts_limit=self.rollouts_limit,
            usage=self.usage,
            stopped=self.stopped,
            stop_reason=self.stop_reason,
            run_path=run_path,
            seconds=self.elapsed_s,
            selection=self.selection,
        )


@dataclass
class CommittedState:
    """The committed run.  Mutated only by :meth:`apply_seed` and :meth:`apply`, in order."""

    frontier_type: FrontierType
    val_ids: tuple[ExampleId, ...]
    max_merges: int = 0
    order: list[CandidateId] = field(default_factory=list)
    pool: dict[CandidateId, Candidate] = field(default_factory=dict)
    hashes: dict[CandidateId, str] = field(default_factory=dict)
    by_hash: dict[str, CandidateId] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)  # texts evaluated and rejected at their gate
    keys: dict[CandidateId, dict[str, float]] = field(default_factory=dict)
    frontier: list[CandidateId] = field(default_factory=list)
    best_per_instance: dict[ExampleId, tuple[CandidateId, float]] = field(default_factory=dict)
    best_rollouts: dict[ExampleId, Rollout | None] = field(default_factory=dict)
    proposals: list[Proposal] = field(default_factory=list)
    rejected: dict[tuple[CandidateId, str], list[str]] = field(default_factory=dict)
    evaluated: set[Key] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    spent: int = 0
    merges_earned: int = 0
    since_improvement: int = 0
    lm_failure_streak: int = 0
    idle_streak: int = 0

    # -- transitions ---------------------------------------------------------------
    def apply_seed(self, components: Mapping[str, str], rollouts: Mapping[Key, Rollout]) -> None:
        """Commit the seed from its validation rollouts."""
        if self.order:
            raise ValueError("the seed is already committed")
        seed_hash = content_hash(components)
        val = [rollouts[(seed_hash, ex)] for ex in self.val_ids]
        seed = self._candidate(components, (), "seed", None, (), val)
        self._add(seed, seed_hash, val)
        self._pay([(seed_hash, ex) for ex in self.val_ids], rollouts)
        self._record_commit(None, seed.id, accepted=True)

    def apply(self, outcome: Outcome) -> Proposal:
        """Commit one proposal; returns it as recorded (with its candidate id when accepted)."""
        p = outcome.proposal
        parent = self.pool[p.parents[0]]
        child = {**parent.components, **(p.texts or {})}
        child_hash = content_hash(child)
        pairs = self._pairs(p, child_hash)
        candidate_id: CandidateId | None = None
        improved = False
        if p.accepted:
            val = [outcome.rollouts[(child_hash, ex)] for ex in self.val_ids]
            changed = tuple(p.texts or ())
            candidate = self._candidate(child, p.parents, p.kind, p.iteration, changed, val)
            candidate_id = candidate.id
            improved = self._add(candidate, child_hash, val)
            if p.kind == "mutation" and self.merges_earned < self.max_merges:
                self.merges_earned += 1
        else:
            if p.child_gate_score is not None:
                self.tried.add(child_hash)
            if p.kind == "mutation":
                for comp, text in (p.texts or {}).items():
                    self.rejected.setdefault((parent.id, comp), []).append(text)
        spent = self._pay(pairs, outcome.rollouts)
        self.since_improvement = 0 if improved else self.since_improvement + 1
        self.idle_streak = self.idle_streak + 1 if spent == 0 else 0
        if p.verdict.lm_failed:
            self.lm_failure_streak += 1
        elif p.kind == "mutation" and p.verdict is not Verdict.SKIPPED_PERFECT:
            self.lm_failure_streak = 0
        proposal = replace(p, candidate_id=candidate_id)
        self.proposals.append(proposal)
        if proposal.failed:
            where = f"proposal {p.iteration} ({p.kind})"
            self.failures.append(Failure("proposal", where, p.reason))
        self._record_commit(p.iteration, candidate_id, accepted=p.accepted)
        return proposal

    # -- the rules -------------------------------------------------------------------
    def _pairs(self, p: Proposal, child_hash: str) -> list[Key]:
        """The (candidate, example) pairs a proposal evaluated, by what it records."""
        pairs: list[Key] = []
        if p.kind == "mutation" and p.parent_gate_score is not None:
            parent_hash = self.hashes[p.parents[0]]
            pairs += [(parent_hash, ex) for ex in p.gate_examples]
        if p.child_gate_score is not None:
            pairs += [(child_hash, ex) for ex in p.gate_examples]
        if p.accepted:
            pairs += [(child_hash, ex) for ex in self.val_ids if ex not in p.gate_examples]
        return pairs

    def _pay(self, pairs: Sequence[Key], rollouts: Mapping[Key, Rollout]) -> int:
        """Mark ``pairs`` evaluated; a pair is paid (and its failure reported) the first time."""
        new = [k for k in dict.fromkeys(pairs) if k not in self.evaluated]
        self.evaluated.update(new)
        self.spent += len(new)
        for key in new:
            r = rollouts.get(key)
            if r is not None and r.error is not None:
                where = f"{self.by_hash.get(key[0], 'candidate ' + key[0][:8])} on {key[1]}"
                self.failures.append(Failure("rollout", where, r.error))
        return len(new)

    def _candidate(
        self,
        components: Mapping[str, str],
        parents: tuple[CandidateId, ...],
        origin: Literal["seed", "mutation", "merge"],
        iteration: int | None,
        changed: tuple[str, ...],
        val: Sequence[Rollout],
    ) -> Candidate:
        return Candidate(
            id=CandidateId(f"c{len(self.order)}"),
            components=dict(components),
            parents=parents,
            origin=origin,
            iteration=iteration,
            changed=changed,
            val_scores={r.example_id: r.score for r in val},
            val_objectives=mean_objectives(val),
        )

    def _add(self, candidate: Candidate, candidate_hash: str, val: Sequence[Rollout]) -> bool:
        """Add a validated candidate; returns whether it raised the best aggregate."""
        previous_best = self.best().score if self.order else -math.inf
        self.order.append(candidate.id)
        self.pool[candidate.id] = candidate
        self.hashes[candidate.id] = candidate_hash
        self.by_hash.setdefault(candidate_hash, candidate.id)
        self.keys[candidate.id] = frontier_keys(candidate, self.frontier_type)
        self.frontier = pareto_frontier(self.keys, self.order)
        for r in val:
            held = self.best_per_instance.get(r.example_id)
            if held is None or r.score > held[1]:
                self.best_per_instance[r.example_id] = (candidate.id, r.score)
                self.best_rollouts[r.example_id] = r
        return candidate.score > previous_best

    def _record_commit(
        self, iteration: int | None, cid: CandidateId | None, *, accepted: bool
    ) -> None:
        best = self.best()
        self.commits.append(
            Commit(iteration, cid, accepted, self.spent, best.id, best.score, len(self.frontier))
        )

    # -- reading -------------------------------------------------------------------
    def view(self) -> PoolView:
        return PoolView(
            order=tuple(self.order),
            scores={c: self.keys[c] for c in self.order},
            aggregate={c: self.pool[c].score for c in self.order},
            frontier=tuple(self.frontier),
        )

    def best(self) -> Candidate:
        """Highest mean validation score; the earliest committed wins ties."""
        return self.pool[self.view().best()]

    def wins(self, cid: CandidateId) -> list[str]:
        """Validation instances where ``cid`` holds the best score."""
        return [str(ex) for ex, (holder, _) in self.best_per_instance.items() if holder == cid]

    def snapshot(self, **facts: Any) -> RunSnapshot:
        """Freeze the state; ``facts`` are the run's own (rollouts spent, usage, status, ...)."""
        facts.setdefault("rollouts_spent", self.spent)
        facts.setdefault("rollouts_reserved", 0)
        facts.setdefault("rollouts_limit", None)
        return RunSnapshot(
            val_ids=self.val_ids,
            candidates=tuple(self.pool[c] for c in self.order),
            frontier=tuple(self.frontier),
            best=self.best(),
            best_per_instance=MappingProxyType(dict(self.best_per_instance)),
            best_rollouts=MappingProxyType(dict(self.best_rollouts)),
            proposals=tuple(self.proposals),
            failures=tuple(self.failures),
            commits=tuple(self.commits),
            rollouts_committed=self.spent,
            **facts,
        )
