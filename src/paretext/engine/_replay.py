"""Rebuild a run's committed state from its store, through the same transition the engine uses.

``replay`` is how everything that reads a stored run (``paretext show``, the
report, MLflow, ``load``) sees it: the frontier, the best candidate, who holds
each instance and what failed are recomputed by :meth:`CommittedState.apply`,
never by a second copy of the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from .._types import Failure
from .._verdict import StopReason
from ..errors import StoreError
from ..lm import UsageTracker
from ..store import RunInfo, RunStore
from ._recorder import read_selection
from ._state import CommittedState, FrontierType, Outcome, RunSnapshot

__all__ = ["replay", "run_failures"]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def run_failures(info: RunInfo) -> list[Failure]:
    """The run itself failed: what its store says went wrong."""
    if info.status != "failed":
        return []
    return [Failure("run", "run", str(_mapping(info.summary).get("error") or "the run failed"))]


def replay(store: RunStore) -> RunSnapshot:
    """The run in ``store`` as a snapshot.  Raises ``StoreError`` when no seed is committed yet."""
    info = store.info()
    candidates = store.candidates()
    if not candidates:
        where = store.location or "<memory>"
        raise StoreError(f"the run at {where} has no committed candidate yet")
    config = _mapping(info.fingerprint.get("config"))
    engine, merge = _mapping(config.get("EngineConfig")), _mapping(config.get("MergeConfig"))
    seed = candidates[0]
    state = CommittedState(
        frontier_type=cast(FrontierType, engine.get("frontier", "instance")),
        val_ids=tuple(seed.val_scores),
        max_merges=int(merge.get("max_merges", 0)) if merge.get("enabled", True) else 0,
    )
    rollouts = {(r.candidate_hash, r.example_id): r for r in store.rollouts()}
    state.apply_seed(seed.components, rollouts)
    for stored in store.proposals():
        proposal = state.apply(Outcome(replace(stored, candidate_id=None), rollouts))
        if proposal.candidate_id != stored.candidate_id:
            raise StoreError(
                f"the run at {store.location or '<memory>'} does not replay: proposal "
                f"{stored.iteration} made {proposal.candidate_id}, the store says "
                f"{stored.candidate_id}"
            )
    tracker = UsageTracker()
    for call in store.lm_calls():
        tracker.record(call.role, call.response, warn=False)
    summary = _mapping(info.summary)
    state.failures[:0] = run_failures(info)
    used = summary.get("rollouts_used")
    limit = summary.get("rollouts_limit", info.meta.get("rollouts_limit"))
    stopped = summary.get("stopped")
    snapshot = state.snapshot(
        rollouts_spent=used if isinstance(used, int) else state.spent,
        rollouts_limit=limit if isinstance(limit, int) else None,
        usage=tracker.totals(),
        elapsed_s=float(summary.get("seconds") or 0.0),
        status=info.status,
        stopped=StopReason(stopped) if isinstance(stopped, str) else None,
        stop_reason=summary.get("stop_reason"),
    )
    selection = read_selection(summary)
    if selection is None:
        return snapshot
    return replace(snapshot, best=snapshot.candidate(selection.chosen), selection=selection)
