"""The GEPA engine: frontier, budget ledger, strategies, scheduler."""

from __future__ import annotations

from ._budget import Ledger, Reservation
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
    "Ledger",
    "ParetoSelector",
    "PoolView",
    "Reservation",
    "RoundRobinComponents",
    "RunSpec",
    "TopKParetoSelector",
    "dominates",
    "pareto_frontier",
    "sample_by_unique_wins",
    "unique_wins",
]
