"""Pluggable strategies: which parent to improve and which components to change.

Each strategy is a small ABC with one required method.  Strategies get a
read-only :class:`PoolView` of committed state and an explicit seeded
``random.Random``: they never touch global randomness or mutable engine state.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._ids import CandidateId
from ..errors import ConfigError
from ._frontier import sample_by_unique_wins

__all__ = [
    "AllComponents",
    "BestSelector",
    "CandidateSelector",
    "ComponentSelector",
    "EpsilonGreedySelector",
    "ParetoSelector",
    "PoolView",
    "RoundRobinComponents",
    "TopKParetoSelector",
    "candidate_selector",
    "component_selector",
]


@dataclass(frozen=True, slots=True)
class PoolView:
    """Committed candidates in commit order, their frontier keys' scores and aggregates."""

    order: tuple[CandidateId, ...]
    scores: Mapping[CandidateId, Mapping[str, float]]
    aggregate: Mapping[CandidateId, float]
    frontier: tuple[CandidateId, ...]

    def best(self) -> CandidateId:
        """Highest aggregate; the earliest committed wins ties (``max`` keeps the first)."""
        return max(self.order, key=self.aggregate.__getitem__)


class CandidateSelector(ABC):
    """Chooses the parent of the next reflective mutation."""

    @abstractmethod
    def select(self, pool: PoolView, rng: random.Random) -> CandidateId: ...


class ParetoSelector(CandidateSelector):
    """GEPA's default: a frontier member, weighted by unique wins + 1."""

    def select(self, pool: PoolView, rng: random.Random) -> CandidateId:
        return sample_by_unique_wins(pool.frontier, pool.scores, rng)


class BestSelector(CandidateSelector):
    """Always the current best aggregate (the greedy ablation)."""

    def select(self, pool: PoolView, rng: random.Random) -> CandidateId:
        return pool.best()


class EpsilonGreedySelector(CandidateSelector):
    """The best with probability 1 - epsilon, otherwise any committed candidate."""

    def __init__(self, epsilon: float = 0.1) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError("epsilon must be in [0, 1]")
        self.epsilon = epsilon

    def select(self, pool: PoolView, rng: random.Random) -> CandidateId:
        if rng.random() < self.epsilon:
            return rng.choice(list(pool.order))
        return pool.best()


class TopKParetoSelector(CandidateSelector):
    """Unique-wins sampling restricted to the ``k`` frontier members with the best aggregate."""

    def __init__(self, k: int = 3) -> None:
        if k < 1:
            raise ValueError("k must be >= 1")
        self.k = k

    def select(self, pool: PoolView, rng: random.Random) -> CandidateId:
        ranked = sorted(pool.frontier, key=lambda c: (-pool.aggregate[c], pool.order.index(c)))
        top = [c for c in pool.frontier if c in ranked[: self.k]]
        return sample_by_unique_wins(top, pool.scores, rng)


class ComponentSelector(ABC):
    """Chooses which components of the parent a mutation rewrites."""

    @abstractmethod
    def choose(
        self, components: Sequence[str], last_changed: Sequence[str], attempt: int
    ) -> tuple[str, ...]:
        """``last_changed``: what produced the parent; ``attempt``: earlier proposals from it."""


class RoundRobinComponents(ComponentSelector):
    """One component at a time, cycling from the one after the parent's last change."""

    def choose(
        self, components: Sequence[str], last_changed: Sequence[str], attempt: int
    ) -> tuple[str, ...]:
        names = list(components)
        start = 0
        if last_changed and last_changed[-1] in names:
            start = names.index(last_changed[-1]) + 1
        return (names[(start + attempt) % len(names)],)


class AllComponents(ComponentSelector):
    """Every component at once, each rewritten from the same minibatch."""

    def choose(
        self, components: Sequence[str], last_changed: Sequence[str], attempt: int
    ) -> tuple[str, ...]:
        return tuple(components)


def candidate_selector(choice: str | CandidateSelector) -> CandidateSelector:
    """``EngineConfig.selector`` as a strategy: a name, or your own :class:`CandidateSelector`."""
    if isinstance(choice, CandidateSelector):
        return choice
    table: dict[str, type[CandidateSelector]] = {
        "pareto": ParetoSelector,
        "best": BestSelector,
        "epsilon_greedy": EpsilonGreedySelector,
        "top_k_pareto": TopKParetoSelector,
    }
    if choice not in table:
        raise ConfigError(f"unknown selector {choice!r}; choose one of {sorted(table)}")
    return table[choice]()


def component_selector(choice: str | ComponentSelector) -> ComponentSelector:
    """``ReflectionConfig.components`` as a strategy."""
    if isinstance(choice, ComponentSelector):
        return choice
    if choice == "round_robin":
        return RoundRobinComponents()
    if choice == "all":
        return AllComponents()
    raise ConfigError(f"unknown component selection {choice!r}")
