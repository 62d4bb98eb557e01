"""The recorder: the observer that persists each commit to the run store.

The engine itself never writes the store; what a run committed reaches disk
through this observer, in commit order, so a killed run leaves a prefix of
its commits, each whole (the store writes one record per transaction).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._ids import CandidateId, ExampleId
from .._types import HoldoutSelection, Proposal, Result
from .._verdict import StopReason
from ..errors import StoreError
from ..store import RunStore
from ._observer import EngineObserver
from ._state import RunSnapshot

__all__ = ["StoreRecorder", "read_selection", "record_selection", "run_summary"]


class StoreRecorder(EngineObserver):
    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._seq = 0
        self._started = time.monotonic()
        self._before = 0.0  # wall time of the processes that ran this run before

    def on_start(self, rollouts_limit: int | None) -> None:
        self._started = time.monotonic()
        summary = self._store.info().summary or {}
        before = summary.get("seconds_total", summary.get("seconds"))
        self._before = float(before) if isinstance(before, int | float) else 0.0

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        if proposal is None:
            seed = snapshot.seed
            self._store.put_candidate(seed)
            self._event("seed", {"candidate": seed.id, "score": seed.score})
            return
        if proposal.candidate_id is not None:
            self._store.put_candidate(snapshot.candidate(proposal.candidate_id))
        self._store.put_proposal(proposal)
        self._event(
            "proposal",
            {
                "iteration": proposal.iteration,
                "accepted": proposal.accepted,
                "candidate": proposal.candidate_id,
                "spent": snapshot.rollouts_committed,
            },
        )

    def on_finish(self, result: Result) -> None:
        # Stopped by a signal: the run is resumable, not done.
        status = "interrupted" if result.stopped == StopReason.SIGNAL else "finished"
        total = round(self._before + result.seconds, 3)
        self._store.finish({**run_summary(result), "seconds_total": total}, status=status)

    def on_abort(self, status: str, error: str) -> None:
        total = round(self._before + time.monotonic() - self._started, 3)
        # A store that cannot be written (disk full) must not hide the error that ended the run.
        with contextlib.suppress(StoreError):
            self._store.finish({"error": error, "seconds_total": total}, status=status)

    def _event(self, kind: str, payload: Mapping[str, Any]) -> None:
        self._store.append_event(self._seq, kind, payload)
        self._seq += 1


def run_summary(result: Result) -> dict[str, Any]:
    """What the store keeps about a finished run (the rest is replayed from its records).

    ``seconds`` is this process's wall time; the recorder adds ``seconds_total``, the
    wall time of every process that ran the run (a killed one counts only to its last
    finish or interruption).
    """
    return {
        "best": result.best.id,
        "best_score": result.best.score,
        "rollouts_used": result.rollouts_used,
        "rollouts_limit": result.rollouts_limit,
        "stopped": result.stopped.value,
        "stop_reason": result.stop_reason,
        "seconds": round(result.seconds, 3),
    }


def record_selection(store: RunStore, result: Result) -> None:
    """Keep the held-out choice with the finished run, so ``load`` and reports return it too.

    The summary's best and rollout counts become the selected result's; the search's
    own records stay as they are (a resumed run retraces them, then chooses again from
    recorded rollouts, paying nothing).
    """
    selection = result.selection
    if selection is None:
        return
    info = store.info()
    store.finish(
        {
            **(info.summary or {}),
            **run_summary(result),
            "selection": {
                "examples": list(selection.examples),
                "scores": dict(selection.scores),
                "chosen": selection.chosen,
                "search_best": selection.search_best,
            },
        },
        status=info.status,
    )


def read_selection(summary: Mapping[str, Any]) -> HoldoutSelection | None:
    """The held-out choice :func:`record_selection` kept, if the run made one."""
    kept = summary.get("selection")
    if not isinstance(kept, Mapping):
        return None
    return HoldoutSelection(
        examples=tuple(ExampleId(str(e)) for e in kept["examples"]),
        scores=MappingProxyType(
            {CandidateId(str(c)): float(v) for c, v in kept["scores"].items()}
        ),
        chosen=CandidateId(str(kept["chosen"])),
        search_best=CandidateId(str(kept["search_best"])),
    )
