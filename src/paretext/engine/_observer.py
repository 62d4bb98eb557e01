"""Hooks for progress displays.  Every method is a no-op by default."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._types import Proposal, Result
    from ._budget import Ledger
    from ._state import CommittedState

__all__ = ["EngineObserver"]


class EngineObserver:
    """Subclass and override what you need; the engine calls these from the event loop."""

    def on_start(self, rollout_limit: int | None) -> None:
        """The run starts (or resumes) with this rollout limit."""

    def on_rollouts(self, ledger: Ledger) -> None:
        """Rollouts were charged."""

    def on_commit(self, state: CommittedState, ledger: Ledger, proposal: Proposal | None) -> None:
        """A proposal (or, with ``None``, the seed) was committed."""

    def on_stop_requested(self, reason: str, in_flight: int) -> None:
        """A first signal: no new proposals; the ``in_flight`` ones finish and commit."""

    def on_finish(self, result: Result) -> None:
        """The run ended."""
