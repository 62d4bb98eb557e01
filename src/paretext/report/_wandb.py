"""Log a run to Weights & Biases (extra ``wandb``): settings, the score curve, artifacts.

Like MLflow logging, it reads the run store after the fact, so it never slows
the search and can be repeated (``paretext wandb RUN``).  ``WANDB_MODE=offline``
writes the run to disk for a later ``wandb sync``, with no account or network.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ParetextError
from ._data import ReportData
from ._export import export_dict
from ._html import render_html
from ._mlflow import mlflow_params

__all__ = ["log_to_wandb"]


def _import_wandb() -> Any:
    try:
        return importlib.import_module("wandb")
    except ImportError as exc:
        raise ConfigError(
            "Weights & Biases logging needs the wandb extra: pip install 'paretext[wandb]'"
        ) from exc


def log_to_wandb(
    data: ReportData,
    *,
    project: str = "paretext",
    run_name: str | None = None,
    mode: str | None = None,
    directory: str | Path | None = None,
) -> str:
    """Create one W&B run for ``data``; returns its path (``entity/project/id`` or the id).

    ``candidate_score``, ``best_score`` and ``frontier_size`` are logged once per
    accepted candidate at ``step`` = rollouts spent at that commit; the summary
    holds the final figures; ``report.html`` and ``best_candidate.json`` are an
    artifact.  ``mode`` is W&B's (``"offline"``, ``"online"``; default ``WANDB_MODE``).
    """
    wandb = _import_wandb()
    try:
        run = wandb.init(
            project=project,
            name=run_name or Path(data.location or "paretext").name,
            config=mlflow_params(data),
            mode=mode,
            # Per run: W&B keeps its first settings for the whole process otherwise.
            dir=str(directory) if directory is not None else os.environ.get("WANDB_DIR"),
            reinit="create_new",
            tags=[data.status],
        )
        for point in data.curve:
            if point.candidate is None or point.candidate_score is None:
                continue
            run.log(
                {
                    "candidate_score": point.candidate_score,
                    "best_score": point.best_score,
                    "frontier_size": point.frontier_size,
                },
                step=point.rollouts,
            )
        best = data.best_candidate
        finals: dict[str, Any] = {
            "final_best_score": None if best is None else best.score,
            "best": data.best,
            "seed_score": data.seed_score,
            "rollouts_used": data.rollouts_used,
            "candidates": len(data.candidates),
            "failures": len(data.failures),
            "cost_usd": data.total_cost_usd,
        }
        run.summary.update({k: v for k, v in finals.items() if v is not None})
        with tempfile.TemporaryDirectory(prefix="paretext-wandb-") as tmp:
            exported = export_dict(data)
            artifact = wandb.Artifact("paretext-run", type="paretext-run")
            for name, text in (
                ("report.html", render_html(data)),
                ("best_candidate.json", json.dumps(exported["best"], indent=2)),
                ("export.json", json.dumps(exported, indent=2, ensure_ascii=False)),
            ):
                path = Path(tmp) / name
                path.write_text(text, encoding="utf-8")
                artifact.add_file(str(path))
            run.log_artifact(artifact)
            path_id = "/".join(p for p in (run.entity, run.project, run.id) if p) or run.id
            run.finish(exit_code=1 if data.status == "failed" else 0)
    except ParetextError:
        raise
    except Exception as exc:  # wandb raises many types; report them as one clear error
        raise ParetextError(f"W&B logging failed: {type(exc).__name__}: {exc}") from exc
    return str(path_id)
