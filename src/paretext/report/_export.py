"""The run as plain JSON: the best candidate and the frontier, ready for another program."""

from __future__ import annotations

from typing import Any

from ._data import CandidateView, ReportData

__all__ = ["export_dict"]

#: Bumped when a field changes meaning; readers can check it.
EXPORT_VERSION = 1


def _candidate(c: CandidateView, instances: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": c.id,
        "score": c.score,
        "origin": c.origin,
        "parents": list(c.parents),
        "components": dict(c.components),
        "wins": c.wins,
        "val_scores": {ex: s for ex, s in zip(instances, c.scores, strict=True) if s is not None},
    }


def export_dict(data: ReportData, *, all_candidates: bool = False) -> dict[str, Any]:
    """JSON-ready dict; ``best`` is ``None`` while a run has no candidate yet."""
    best = data.best_candidate
    out: dict[str, Any] = {
        "format": "paretext.export",
        "version": EXPORT_VERSION,
        "run": data.location,
        "status": data.status,
        "finished": data.finished,
        "stop_reason": data.stop_reason,
        "seed_score": data.seed_score,
        "best": None if best is None else _candidate(best, data.instances),
        "frontier": [_candidate(data.candidate(cid), data.instances) for cid in data.frontier],
        "rollouts_used": data.rollouts_used,
        "rollouts_limit": data.rollouts_limit,
        "proposals": {"accepted": data.accepted, "rejected": data.rejected},
        "cost_usd": data.total_cost_usd,
        "usage": [
            {
                "role": u.role,
                "model": u.model,
                "calls": u.calls,
                "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens,
                "cost_usd": u.cost_usd,
            }
            for u in data.usage
        ],
        "failures": [
            {"kind": f.kind, "where": f.where, "message": f.message} for f in data.failures
        ],
    }
    if all_candidates:
        out["candidates"] = [_candidate(c, data.instances) for c in data.candidates]
    return out
