"""The per-instance Pareto frontier.  Pure functions: no I/O, no global RNG.

Scores are given per candidate as a mapping key → score, where a key is a
validation instance (or an objective name, for objective frontiers).  A
candidate is on the frontier when it is best (ties included) on at least one
key and no other candidate dominates it.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

__all__ = ["dominates", "pareto_frontier", "sample_by_unique_wins", "unique_wins"]

C = TypeVar("C", bound=Hashable)
Scores = Mapping[str, float]


def dominates(a: Scores, b: Scores) -> bool:
    """``a`` is at least as good as ``b`` on every key of ``b`` and better on one."""
    better = False
    for key, b_score in b.items():
        a_score = a.get(key, float("-inf"))
        if a_score < b_score:
            return False
        if a_score > b_score:
            better = True
    return better


def pareto_frontier(scores: Mapping[C, Scores], order: Sequence[C] | None = None) -> list[C]:
    """Candidates best on some key and dominated by no one, in ``order`` (default: insertion).

    Candidates with identical score vectors are all kept: neither dominates.
    """
    ordered = list(order) if order is not None else list(scores)
    if not ordered:
        return []
    keys: set[str] = set()
    for c in ordered:
        keys.update(scores[c])
    best_somewhere: set[C] = set()
    for key in keys:
        top = max(scores[c].get(key, float("-inf")) for c in ordered)
        best_somewhere.update(c for c in ordered if scores[c].get(key, float("-inf")) == top)
    survivors = [c for c in ordered if c in best_somewhere]
    return [
        c
        for c in survivors
        if not any(dominates(scores[o], scores[c]) for o in survivors if o != c)
    ]


def unique_wins(frontier: Sequence[C], scores: Mapping[C, Scores]) -> dict[C, int]:
    """Keys on which each frontier member beats every other member strictly.

    A lone frontier member wins every key.
    """
    if len(frontier) == 1:
        return {frontier[0]: len(scores[frontier[0]])}
    wins: dict[C, int] = {}
    for c in frontier:
        count = 0
        for key, value in scores[c].items():
            others = max(scores[o].get(key, float("-inf")) for o in frontier if o != c)
            count += value > others
        wins[c] = count
    return wins


def sample_by_unique_wins(
    frontier: Sequence[C], scores: Mapping[C, Scores], rng: random.Random
) -> C:
    """Sample a parent with weight unique wins + 1, so specialists get proportional attention."""
    if not frontier:
        raise ValueError("cannot sample from an empty frontier")
    wins = unique_wins(frontier, scores)
    weights = [wins[c] + 1 for c in frontier]
    return rng.choices(list(frontier), weights=weights, k=1)[0]
