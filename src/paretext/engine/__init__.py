"""The GEPA engine: frontier, budget ledger, strategies, scheduler, the executor seam."""

from __future__ import annotations

from ._budget import Ledger, Reservation
from ._executor import InProcessExecutor, RolloutExecutor, run_rollout
from ._frontier import dominates, pareto_frontier, sample_by_unique_wins, unique_wins
from ._loop import Engine, RunSpec
from ._observer import EngineObserver
from ._sampling import EpochSampler
from ._selection import (
    AllComponents,
    BestSelector,
    CandidateSelector,
    ComponentSelector,
    EpsilonGreedySelector,
    ParetoSelector,
    PoolView,
    RoundRobinComponents,
    TopKParetoSelector,
)
from ._state import CommittedState

__all__ = [
    "AllComponents",
    "BestSelector",
    "CandidateSelector",
    "CommittedState",
    "ComponentSelector",
    "Engine",
    "EngineObserver",
    "EpochSampler",
    "EpsilonGreedySelector",
    "InProcessExecutor",
    "Ledger",
    "ParetoSelector",
    "PoolView",
    "Reservation",
    "RolloutExecutor",
    "RoundRobinComponents",
    "RunSpec",
    "TopKParetoSelector",
    "dominates",
    "pareto_frontier",
    "run_rollout",
    "sample_by_unique_wins",
    "unique_wins",
]
