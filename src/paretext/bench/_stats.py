"""Uncertainty of bench results: bootstrap intervals and paired comparisons over test examples.

A bench cell is a ``seeds x examples`` table of test scores (every seed scores
the same fixed test split).  Two sources of noise matter: which test examples
were drawn, and how the search went on each seed.  The bootstrap resamples both
-- seeds with replacement, then examples with replacement -- so an interval
is wide when either is.  Comparisons are paired: A's and B's scores are
differenced on the same (seed, example) before resampling, which removes the
examples' shared difficulty from the noise.  "A beats B" is said only when the
whole interval of the difference lies above zero.  The sign test is the
distribution-free second opinion: per example, does A score above B (averaged
over seeds)?

Pure Python with a seeded ``random.Random``: results are exactly reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Comparison",
    "Interval",
    "bootstrap_interval",
    "compare",
    "sign_test",
]

Table = Sequence[Sequence[float]]
Verdict = Literal["better", "worse", "tied"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean with its percentile bootstrap interval at ``confidence``."""

    mean: float
    low: float
    high: float
    confidence: float = 0.95

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True, slots=True)
class Comparison:
    """A against B on paired test scores: the mean difference, its interval, the sign test."""

    difference: Interval
    wins: int
    losses: int
    ties: int
    sign_p: float

    @property
    def verdict(self) -> Verdict:
        """``better``/``worse`` only when the interval of A - B excludes zero."""
        if not self.difference.excludes_zero():
            return "tied"
        return "better" if self.difference.mean > 0 else "worse"


def _check(table: Table) -> list[list[float]]:
    rows = [list(map(float, row)) for row in table]
    if not rows or not rows[0]:
        raise ValueError("a bootstrap needs at least one seed with at least one example")
    if any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("every seed must score the same test examples")
    return rows


def _as_table(values: Sequence[float] | Table) -> list[list[float]]:
    if values and isinstance(values[0], Sequence):
        return _check(values)  # type: ignore[arg-type]
    return _check([values])  # type: ignore[list-item]


def bootstrap_interval(
    values: Sequence[float] | Table,
    *,
    confidence: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> Interval:
    """Mean of ``values`` (examples, or seeds x examples) with a percentile bootstrap interval.

    Each resample draws seeds with replacement and then examples with replacement
    (one draw of examples shared by the drawn seeds, since they score the same split).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if resamples < 1:
        raise ValueError("resamples must be positive")
    rows = _as_table(values)
    n_seeds, n = len(rows), len(rows[0])
    mean = math.fsum(math.fsum(row) for row in rows) / (n_seeds * n)
    rng = random.Random(seed)
    means: list[float] = []
    for _ in range(resamples):
        picked = [rows[rng.randrange(n_seeds)] for _ in range(n_seeds)]
        columns = [math.fsum(row[i] for row in picked) for i in range(n)]
        draw = [columns[rng.randrange(n)] for _ in range(n)]
        means.append(math.fsum(draw) / (n_seeds * n))
    means.sort()
    tail = (1 - confidence) / 2
    return Interval(mean, _quantile(means, tail), _quantile(means, 1 - tail), confidence)


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    position = q * (len(ordered) - 1)
    lo = math.floor(position)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value; ties are left out, as usual."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = math.fsum(math.comb(n, i) for i in range(k + 1)) / float(2**n)
    return min(1.0, 2 * tail)


def compare(
    a: Sequence[float] | Table,
    b: Sequence[float] | Table,
    *,
    confidence: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> Comparison:
    """Paired comparison of A and B on the same test examples.

    Either side may be one row (a single run, such as the seed prompt): it is
    then paired with every seed of the other side.  With several rows on both
    sides, row ``s`` of A is paired with row ``s`` of B (same seed, same splits).
    """
    rows_a, rows_b = _as_table(a), _as_table(b)
    if len(rows_a[0]) != len(rows_b[0]):
        raise ValueError("A and B must score the same test examples")
    if len(rows_a) == 1 and len(rows_b) > 1:
        rows_a = rows_a * len(rows_b)
    elif len(rows_b) == 1 and len(rows_a) > 1:
        rows_b = rows_b * len(rows_a)
    if len(rows_a) != len(rows_b):
        raise ValueError(f"A has {len(rows_a)} seeds and B {len(rows_b)}: pair them one to one")
    diffs = [[x - y for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(rows_a, rows_b,
                                                                               strict=True)]
    interval = bootstrap_interval(diffs, confidence=confidence, resamples=resamples, seed=seed)
    per_example = [math.fsum(col) / len(diffs) for col in zip(*diffs, strict=True)]
    wins = sum(d > 1e-12 for d in per_example)
    losses = sum(d < -1e-12 for d in per_example)
    return Comparison(
        difference=interval,
        wins=wins,
        losses=losses,
        ties=len(per_example) - wins - losses,
        sign_p=sign_test(wins, losses),
    )
