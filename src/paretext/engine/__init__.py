"""The GEPA engine: committed state and its one transition, planner, scheduler, strategies.

The shape, in one line: the :class:`Planner` decides from the committed state,
the :class:`Engine` schedules the plans, a :class:`RolloutExecutor` runs their
rollouts, :meth:`CommittedState.apply` commits their outcomes in order, and
observers (the :class:`StoreRecorder` first) read frozen :class:`RunSnapshot`
objects.  :func:`replay` rebuilds the same snapshot from a stored run.
"""

from __future__ import annotations

from ._budget import Ledger, Reservation
from ._executor import InProcessExecutor, RolloutExecutor, run_rollout
from ._frontier import dominates, pareto_frontier, sample_by_unique_wins, unique_wins
from ._holdout import HoldoutPlan, plan_holdout, select_on_holdout
from ._loop import Engine
from ._observer import EngineObserver, ObserverGroup
from ._planner import Plan, Planner
from ._recorder import StoreRecorder, record_selection
from ._replay import replay, run_failures
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
    candidate_selector,
    component_selector,
)
from ._spec import RunSpec
from ._state import Commit, CommittedState, Outcome, RunSnapshot, frontier_keys
from ._stop import Stop, StopPolicy

__all__ = [
    "AllComponents",
    "BestSelector",
    "CandidateSelector",
    "Commit",
    "CommittedState",
    "ComponentSelector",
    "Engine",
    "EngineObserver",
    "EpochSampler",
    "EpsilonGreedySelector",
    "HoldoutPlan",
    "InProcessExecutor",
    "Ledger",
    "ObserverGroup",
    "Outcome",
    "ParetoSelector",
    "Plan",
    "Planner",
    "PoolView",
    "Reservation",
    "RolloutExecutor",
    "RoundRobinComponents",
    "RunSnapshot",
    "RunSpec",
    "Stop",
    "StopPolicy",
    "StoreRecorder",
    "TopKParetoSelector",
    "candidate_selector",
    "component_selector",
    "dominates",
    "frontier_keys",
    "pareto_frontier",
    "plan_holdout",
    "record_selection",
    "replay",
    "run_failures",
    "run_rollout",
    "sample_by_unique_wins",
    "select_on_holdout",
    "unique_wins",
]
