import random
from collections import Counter

import pytest

from paretext.engine import dominates, pareto_frontier, sample_by_unique_wins, unique_wins


def vec(bits: list[int]) -> dict[str, float]:
    return {f"#{i}": float(b) for i, b in enumerate(bits)}


ARTICLE = {
    "P0": vec([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "P1": vec([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "P2": vec([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
    "P3": vec([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
}


def test_article_pareto_example_gives_p2_and_p3() -> None:
    assert pareto_frontier(ARTICLE) == ["P2", "P3"]


def test_article_dominance_relations() -> None:
    assert dominates(ARTICLE["P2"], ARTICLE["P0"])
    assert dominates(ARTICLE["P2"], ARTICLE["P1"])
    assert not dominates(ARTICLE["P2"], ARTICLE["P3"])
    assert not dominates(ARTICLE["P3"], ARTICLE["P2"])
    assert not dominates(ARTICLE["P0"], ARTICLE["P1"])  # equal vectors: neither dominates


def test_identical_best_vectors_both_survive() -> None:
    scores = {"a": vec([1, 0]), "b": vec([1, 0]), "c": vec([0, 1])}
    assert pareto_frontier(scores) == ["a", "b", "c"]


def test_ties_keep_every_best_on_an_instance() -> None:
    scores = {"a": {"x": 0.5, "y": 0.2}, "b": {"x": 0.5, "y": 0.1}}
    # b is best (tied) on x but dominated by a: removed.
    assert pareto_frontier(scores) == ["a"]


def test_unique_wins_and_weights() -> None:
    scores = {"A": vec([1, 1, 1, 0, 0]), "B": vec([0, 0, 1, 1, 0]), "C": vec([0, 0, 0, 0, 1])}
    front = pareto_frontier(scores)
    assert front == ["A", "B", "C"]
    assert unique_wins(front, scores) == {"A": 2, "B": 1, "C": 1}
    rng = random.Random(7)
    counts = Counter(sample_by_unique_wins(front, scores, rng) for _ in range(20000))
    # weights 3 : 2 : 2
    assert counts["A"] / 20000 == pytest.approx(3 / 7, abs=0.015)
    assert counts["B"] / 20000 == pytest.approx(2 / 7, abs=0.015)


def test_lone_member_wins_everything() -> None:
    scores = {"A": vec([1, 0, 1])}
    assert unique_wins(["A"], scores) == {"A": 3}


def test_empty_frontier_sampling_fails_clearly() -> None:
    with pytest.raises(ValueError, match="empty frontier"):
        sample_by_unique_wins([], {}, random.Random(0))
