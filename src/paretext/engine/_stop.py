"""When to stop planning: every stop condition of a run, checked in one place.

All conditions but four read committed state only, so they replay exactly;
the wall clock, the stop file, a signal and a caller's request come from
outside and are checked first.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .._config import Budget, StopConfig
from .._verdict import StopReason, Verdict
from ..lm import UsageTracker
from ._state import CommittedState

__all__ = ["Stop", "StopPolicy"]


@dataclass(frozen=True, slots=True)
class Stop:
    """Why the run stops: the reason and a message for people."""

    reason: StopReason
    message: str


class StopPolicy:
    def __init__(
        self,
        stop: StopConfig,
        budget: Budget,
        *,
        perfect_score: float,
        search_mode: bool,
        idle_limit: int,
        tracker: UsageTracker,
    ) -> None:
        self._stop = stop
        self._budget = budget
        self._perfect = perfect_score
        self._search_mode = search_mode
        self._idle_limit = idle_limit
        self._tracker = tracker
        self._deadline: float | None = None
        self._requested: Stop | None = None

    def start_clock(self) -> None:
        if self._budget.minutes is not None:
            self._deadline = time.monotonic() + self._budget.minutes * 60

    def request(self, stop: Stop) -> bool:
        """Stop at the next check; returns whether a stop had been requested already."""
        again = self._requested is not None
        self._requested = self._requested or stop
        return again

    def check(self, state: CommittedState, planned: int) -> Stop | None:
        """The first condition met before planning proposal ``planned``, or ``None``."""
        return self._outside() or self._committed(state, planned) or self._spending()

    def _outside(self) -> Stop | None:
        if self._requested is not None:
            return self._requested
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return Stop(StopReason.TIME, "time limit reached")
        if self._stop.stop_file and os.path.exists(self._stop.stop_file):
            return Stop(StopReason.STOP_FILE, f"stop file {self._stop.stop_file} found")
        return None

    def _committed(self, state: CommittedState, planned: int) -> Stop | None:
        stop, best = self._stop, state.best().score
        if stop.max_proposals is not None and planned >= stop.max_proposals:
            return Stop(StopReason.MAX_PROPOSALS, f"max_proposals={stop.max_proposals} reached")
        if stop.patience is not None and state.since_improvement >= stop.patience:
            return Stop(StopReason.PATIENCE, f"no improvement in {stop.patience} proposals")
        if stop.score_threshold is not None and best >= stop.score_threshold:
            return Stop(
                StopReason.SCORE_THRESHOLD, f"score threshold {stop.score_threshold} reached"
            )
        if best >= self._perfect:
            return Stop(StopReason.PERFECT, "perfect validation score reached")
        solved = all(s >= self._perfect for _, s in state.best_per_instance.values())
        if self._search_mode and solved:
            return Stop(StopReason.SOLVED, "every task solved")
        if state.idle_streak >= self._idle_limit:
            last = state.proposals[-1]
            if last.verdict is Verdict.SKIPPED_PERFECT:
                return Stop(
                    StopReason.MINIBATCHES_PERFECT, "the sampled minibatches are already perfect"
                )
            return Stop(
                StopReason.IDLE,
                f"{state.idle_streak} proposals in a row evaluated nothing new "
                f"(last: {last.reason})",
            )
        return None

    def _spending(self) -> Stop | None:
        budget, tracker = self._budget, self._tracker
        if budget.tokens is not None and tracker.total_tokens() >= budget.tokens:
            return Stop(StopReason.TOKENS, "token budget spent")
        if budget.usd is not None:
            cost = tracker.total_cost_usd()
            if cost is not None and cost >= budget.usd:
                return Stop(StopReason.USD, "usd budget spent")
        return None
