"""Committed state: everything decisions may read.  Changed only by commits, in order."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._ids import CandidateId, ExampleId
from .._types import Candidate, Proposal, Rollout
from ._frontier import pareto_frontier
from ._selection import PoolView

__all__ = ["CommittedState"]


@dataclass
class CommittedState:
    frontier_type: Literal["instance", "objective", "hybrid"]
    val_ids: Sequence[ExampleId]
    order: list[CandidateId] = field(default_factory=list)
    pool: dict[CandidateId, Candidate] = field(default_factory=dict)
    hashes: dict[CandidateId, str] = field(default_factory=dict)
    by_hash: dict[str, CandidateId] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)  # texts evaluated and rejected at their gate
    keys: dict[CandidateId, dict[str, float]] = field(default_factory=dict)
    frontier: list[CandidateId] = field(default_factory=list)
    best_per_instance: dict[ExampleId, tuple[CandidateId, float]] = field(default_factory=dict)
    proposals: list[Proposal] = field(default_factory=list)
    rejected: dict[tuple[CandidateId, str], list[str]] = field(default_factory=dict)
    evaluated: set[tuple[str, ExampleId]] = field(default_factory=set)
    merges_due: int = 0
    merges_done: int = 0
    since_improvement: int = 0
    lm_failure_streak: int = 0
    idle_streak: int = 0

    def next_id(self) -> CandidateId:
        return CandidateId(f"c{len(self.order)}")

    def add_candidate(
        self, candidate: Candidate, candidate_hash: str, val_rollouts: Sequence[Rollout]
    ) -> bool:
        """Add a validated candidate; returns whether it raised the best aggregate."""
        previous_best = self.best_score() if self.order else -math.inf
        self.order.append(candidate.id)
        self.pool[candidate.id] = candidate
        self.hashes[candidate.id] = candidate_hash
        self.by_hash.setdefault(candidate_hash, candidate.id)
        self.keys[candidate.id] = self._frontier_keys(candidate)
        self.frontier = pareto_frontier(self.keys, self.order)
        for r in val_rollouts:
            held = self.best_per_instance.get(r.example_id)
            if held is None or r.score > held[1]:
                self.best_per_instance[r.example_id] = (candidate.id, r.score)
            self.evaluated.add((candidate_hash, r.example_id))
        return candidate.score > previous_best

    def _frontier_keys(self, c: Candidate) -> dict[str, float]:
        instance = {str(k): v for k, v in c.val_scores.items()}
        objective = {f"obj:{k}": v for k, v in c.val_objectives.items()}
        if self.frontier_type == "instance":
            return instance
        if self.frontier_type == "objective":
            return objective or instance
        return {**instance, **objective}

    def view(self) -> PoolView:
        return PoolView(
            order=tuple(self.order),
            scores={c: self.keys[c] for c in self.order},
            aggregate={c: self.pool[c].score for c in self.order},
            frontier=tuple(self.frontier),
        )

    def best(self) -> Candidate:
        """Highest mean validation score; the earliest committed wins ties."""
        return self.pool[max(self.order, key=lambda c: self.pool[c].score)]

    def best_score(self) -> float:
        return self.best().score

    def wins(self, cid: CandidateId) -> list[str]:
        """Validation instances where ``cid`` holds the best score."""
        return [str(ex) for ex, (holder, _) in self.best_per_instance.items() if holder == cid]


def mean_objectives(rollouts: Sequence[Rollout]) -> Mapping[str, float]:
    names = sorted({k for r in rollouts for k in r.objectives})
    return {n: math.fsum(r.objectives.get(n, 0.0) for r in rollouts) / len(rollouts) for n in names}
