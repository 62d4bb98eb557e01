"""Optimize any text artifact (code, configuration, a prompt) with an evaluator that explains.

>>> import paretext as pt
>>> def evaluate(code, task):            # -> pt.Feedback(score, verdict, objectives, sections)
...     ...
>>> out = pt.optimize_artifact(seed_code, evaluate, tasks=kernels, reflection_lm="local")
>>> out.best["dot"], out.per_task["dot"].score, out.transfers

Single-artifact mode (no tasks), batch mode (one artifact per task, ideas shared
between tasks) and generalize mode (one shared artifact, train and validation
tasks), all on the same engine.  See :func:`aoptimize_artifact`.
"""

from __future__ import annotations

from ._api import ArtifactResult, TaskBest, aoptimize_artifact, optimize_artifact
from ._layout import Layout, Mode
from ._proposer import ArtifactProposer, describe_task, transfer_hints
from ._transfer import Transfer, find_transfers, line_shapes

__all__ = [
    "ArtifactProposer",
    "ArtifactResult",
    "Layout",
    "Mode",
    "TaskBest",
    "Transfer",
    "aoptimize_artifact",
    "describe_task",
    "find_transfers",
    "line_shapes",
    "optimize_artifact",
    "transfer_hints",
]
