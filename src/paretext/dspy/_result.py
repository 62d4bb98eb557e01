"""``detailed_results`` as dspy.GEPA gives them, read from paretext's :class:`~paretext.Result`.

Candidates are indexed in the order they were committed (the seed is 0) and
validation instances by their position in ``valset``, as dspy.GEPA does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dspy import Prediction
from dspy.teleprompt.gepa.gepa import DspyGEPAResult

from .._types import Result

__all__ = ["ParetextGEPAResult", "detailed_results"]


@dataclass(frozen=True)
class ParetextGEPAResult(DspyGEPAResult):  # type: ignore[misc]
    """dspy.GEPA's result record, plus paretext's own :class:`~paretext.Result`.

    ``log_dir`` (and ``run_path``) is the run store: compiling again with the same
    ``log_dir`` resumes it; ``paretext show/report`` read it.
    """

    run_path: str | None = None
    result: Result | None = None


def detailed_results(
    result: Result,
    build: Any,
    val_ids: Sequence[str],
    *,
    discovery: Mapping[str, int],
    best_outputs: bool,
    seed: int,
) -> ParetextGEPAResult:
    """``build(components)`` makes the module for a candidate."""
    index = {c.id: i for i, c in enumerate(result.candidates)}
    position = {vid: i for i, vid in enumerate(val_ids)}
    subscores = [
        {position[vid]: score for vid, score in c.val_scores.items() if vid in position}
        for c in result.candidates
    ]
    best_per_instance: dict[Any, set[int]] = {}
    for pos in position.values():
        top = max((s.get(pos, float("-inf")) for s in subscores), default=float("-inf"))
        best_per_instance[pos] = {i for i, s in enumerate(subscores) if s.get(pos) == top}
    outputs = None
    if best_outputs:
        outputs = {}
        for vid, output in result.best_outputs.items():
            cid = result.best_candidate_per_instance.get(vid)
            if vid in position and cid is not None and isinstance(output, Mapping):
                fields = output.get("prediction") or {}
                outputs[position[vid]] = [(index[cid], Prediction(**fields))]
    return ParetextGEPAResult(
        candidates=[build(c.components) for c in result.candidates],
        parents=[[index[p] for p in c.parents] or [None] for c in result.candidates],
        val_aggregate_scores=[c.score for c in result.candidates],
        val_subscores=subscores,
        per_val_instance_best_candidates=best_per_instance,
        discovery_eval_counts=[discovery.get(c.id, 0) for c in result.candidates],
        best_outputs_valset=outputs,
        total_metric_calls=result.rollouts_used,
        num_full_val_evals=len(result.candidates),
        log_dir=result.run_path,
        seed=seed,
        run_path=result.run_path,
        result=result,
    )
