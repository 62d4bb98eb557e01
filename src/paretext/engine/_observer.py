"""Hooks for whoever follows a run: progress displays, the store recorder, your own code.

Observers get frozen :class:`RunSnapshot` objects, never the live state; every
method is a no-op by default.  The engine calls them from the event loop, in
order, so a hook should be quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._types import Proposal, Result
    from ._state import RunSnapshot

__all__ = ["EngineObserver", "ObserverGroup"]


class EngineObserver:
    """Subclass and override what you need; pass it as ``optimize(..., observer=...)``.

    Example: print each accepted candidate as it commits::

        class Accepted(pt.EngineObserver):
            def on_commit(self, snapshot, proposal):
                if proposal is not None and proposal.accepted:
                    print(proposal.candidate_id, snapshot.best.score)
    """

    def on_start(self, rollouts_limit: int | None) -> None:
        """The run starts (or resumes) with this rollout limit (``None``: unlimited)."""

    def on_rollouts(self, snapshot: RunSnapshot) -> None:
        """Rollouts were launched (charged to the budget)."""

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        """A proposal (or, with ``None``, the seed) was committed."""

    def on_stop_requested(self, reason: str, in_flight: int) -> None:
        """A first signal: no new proposals; the ``in_flight`` ones finish and commit."""

    def on_finish(self, result: Result) -> None:
        """The run ended normally."""

    def on_abort(self, status: str, error: str) -> None:
        """The run ended with an error (``failed``) or was cancelled (``interrupted``)."""


class ObserverGroup(EngineObserver):
    """Several observers as one: every hook is called on each, in order."""

    def __init__(self, observers: Sequence[EngineObserver]) -> None:
        self.observers = tuple(observers)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_") and hasattr(EngineObserver, name):
            observers = object.__getattribute__(self, "observers")

            def each(*args: Any) -> None:
                for o in observers:
                    getattr(o, name)(*args)

            return each
        return object.__getattribute__(self, name)
