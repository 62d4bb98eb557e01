"""The bench's statistics on fixed inputs whose answers are known in closed form."""

from __future__ import annotations

import math

import pytest

from paretext.bench import Interval, bootstrap_interval, compare, sign_test


def test_constant_scores_have_a_degenerate_interval() -> None:
    interval = bootstrap_interval([0.25] * 40)
    assert interval == Interval(0.25, 0.25, 0.25)
    assert interval.excludes_zero()


def test_interval_of_a_half_half_sample_matches_the_normal_approximation() -> None:
    # 50 ones and 50 zeros: mean 0.5, standard error sqrt(0.25 / 100) = 0.05, so the 95%
    # interval is 0.5 ± 1.96 × 0.05 = [0.402, 0.598] up to bootstrap noise and discreteness.
    interval = bootstrap_interval([1.0, 0.0] * 50, resamples=4000, seed=3)
    assert interval.mean == 0.5
    assert interval.low == pytest.approx(0.402, abs=0.015)
    assert interval.high == pytest.approx(0.598, abs=0.015)


def test_seeds_are_resampled_too() -> None:
    # One seed solved everything, the other nothing: the interval spans both extremes,
    # which resampling examples alone would hide (each row is constant).
    interval = bootstrap_interval([[1.0] * 10, [0.0] * 10], resamples=2000)
    assert interval.mean == 0.5
    assert (interval.low, interval.high) == (0.0, 1.0)


def test_bootstrap_is_reproducible_and_validates_its_input() -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.0]
    assert bootstrap_interval(values, seed=7) == bootstrap_interval(values, seed=7)
    with pytest.raises(ValueError, match="same test examples"):
        bootstrap_interval([[1.0, 0.0], [1.0]])
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_interval([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval(values, confidence=1.0)


def test_sign_test_exact_values() -> None:
    assert sign_test(10, 0) == pytest.approx(2 / 2**10)
    assert sign_test(0, 10) == pytest.approx(2 / 2**10)
    assert sign_test(5, 5) == 1.0
    assert sign_test(0, 0) == 1.0
    # 8 wins, 2 losses: P(X <= 2) for Binomial(10, 1/2) = (1 + 10 + 45) / 1024, doubled.
    assert sign_test(8, 2) == pytest.approx(2 * 56 / 1024)


def test_a_constant_gain_is_better_and_a_constant_loss_is_worse() -> None:
    base = [[0.0, 1.0, 0.5, 0.0] * 5 for _ in range(3)]
    better = [[x + 0.1 for x in row] for row in base]
    up = compare(better, base)
    assert up.difference.mean == pytest.approx(0.1)
    assert (up.difference.low, up.difference.high) == (pytest.approx(0.1), pytest.approx(0.1))
    assert (up.wins, up.losses, up.ties) == (20, 0, 0)
    assert up.verdict == "better"
    assert up.sign_p == pytest.approx(2 / 2**20)
    assert compare(base, better).verdict == "worse"


def test_identical_runs_are_tied() -> None:
    rows = [[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]]
    result = compare(rows, rows)
    assert result.difference == Interval(0.0, 0.0, 0.0)
    assert result.verdict == "tied"
    assert (result.wins, result.losses, result.ties, result.sign_p) == (0, 0, 4, 1.0)


def test_one_gain_in_sixty_cannot_be_told_apart() -> None:
    # A solves one more example than B out of 60: the interval of the difference is
    # [0, 1/30] or so, never wholly above zero, and the sign test p is 1.
    b = [0.0] * 60
    a = [1.0] + [0.0] * 59
    result = compare(a, b)
    assert result.difference.mean == pytest.approx(1 / 60)
    assert result.difference.low == 0.0
    assert result.verdict == "tied"
    assert result.sign_p == 1.0


def test_a_single_row_is_paired_with_every_seed() -> None:
    seed_prompt = [0.0, 1.0, 0.0, 1.0]
    runs = [[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    result = compare(runs, seed_prompt)
    # Differences: seed 0 gains on example 0; seed 1 on examples 0 and 2: mean 3 / 8.
    assert result.difference.mean == pytest.approx(3 / 8)
    assert (result.wins, result.losses, result.ties) == (2, 0, 2)
    with pytest.raises(ValueError, match="pair them"):
        compare([[0.0], [1.0]], [[0.0], [1.0], [0.0]])


def test_interval_width_shrinks_with_more_examples() -> None:
    small = bootstrap_interval([1.0, 0.0] * 10)
    large = bootstrap_interval([1.0, 0.0] * 160)
    width = lambda i: i.high - i.low  # noqa: E731
    assert width(large) < width(small)
    # The width scales like 1 / sqrt(n): 16 times the examples, about a quarter of the width.
    assert width(small) / width(large) == pytest.approx(math.sqrt(16), rel=0.25)
