"""Reports on a run: data first (:func:`collect`), then views (HTML, terminal, JSON, MLflow,
W&B).

``import paretext`` does not import this package; the CLI and users import it
when they want a report.  Every view is built from one :class:`ReportData`,
so they always agree and tests assert on data, not markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import RunStore, SQLiteRunStore
from ._data import (
    CandidateView,
    ChildChange,
    ComponentDiff,
    CurvePoint,
    DiffSegment,
    Failure,
    FeedbackItem,
    InstanceBest,
    ModelUsage,
    ProposalView,
    ReportData,
    collect,
    text_diff,
)
from ._export import export_dict
from ._html import render_html
from ._terminal import print_summary

__all__ = [
    "CandidateView",
    "ChildChange",
    "ComponentDiff",
    "CurvePoint",
    "DiffSegment",
    "Failure",
    "FeedbackItem",
    "InstanceBest",
    "ModelUsage",
    "ProposalView",
    "ReportData",
    "collect",
    "export_dict",
    "load",
    "log_to_mlflow",
    "log_to_wandb",
    "mlflow_tracking_uri",
    "print_summary",
    "render_html",
    "text_diff",
    "write_report",
]


def load(run: str | Path | RunStore) -> ReportData:
    """:func:`collect` from a run directory (or ``.sqlite`` file) or an open store.

    A path must already hold a run: nothing is created or written (a run on a
    read-only disk loads).  Safe while the run is still being written by another
    process (SQLite WAL readers do not block).
    """
    if isinstance(run, RunStore):
        return collect(run)
    store = SQLiteRunStore(run, create=False, read_only=True)
    try:
        return collect(store)
    finally:
        store.close()


def write_report(
    run: str | Path | RunStore | ReportData, out: str | Path | None = None
) -> Path:
    """Write the HTML report of ``run`` (or of data already loaded from it); by default to
    ``report.html`` in the run directory."""
    data = run if isinstance(run, ReportData) else load(run)
    if out is None:
        if data.location is None:
            raise ValueError("an in-memory run has no directory: pass out=")
        base = Path(data.location)
        out = (base.parent if base.suffix in (".sqlite", ".db") else base) / "report.html"
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path


def log_to_mlflow(data: ReportData, **kwargs: Any) -> str:
    """Log ``data`` to MLflow; see :func:`paretext.report._mlflow.log_to_mlflow`.

    Imported on call so that ``paretext.report`` never needs MLflow installed.
    """
    from ._mlflow import log_to_mlflow as _log

    return _log(data, **kwargs)


def mlflow_tracking_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI MLflow logs to: ``tracking_uri``, else MLflow's own default."""
    from ._mlflow import tracking_uri_of

    return tracking_uri_of(tracking_uri)


def log_to_wandb(data: ReportData, **kwargs: Any) -> str:
    """Log ``data`` to Weights & Biases; see :func:`paretext.report._wandb.log_to_wandb`.

    Imported on call so that ``paretext.report`` never needs wandb installed.
    """
    from ._wandb import log_to_wandb as _log

    return _log(data, **kwargs)
