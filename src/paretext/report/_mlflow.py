"""Log a run to MLflow (extra ``mlflow``): settings, scores per accepted candidate, artifacts.

Logging reads the finished (or partial) run store, so it never slows the
search and can be done again later (``paretext mlflow RUN``).  It uses an
``MlflowClient`` bound to the given tracking URI rather than ``mlflow``'s
process-wide active run, so it does not disturb a caller's own MLflow state.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ParetextError
from ._data import ReportData
from ._export import export_dict
from ._html import render_html

__all__ = ["log_to_mlflow", "mlflow_error", "mlflow_params", "tracking_uri_of"]

#: MLflow rejects longer parameter values on some backends; settings are short anyway.
MAX_PARAM_CHARS = 500
# MLflow's limits for one log_batch call are 100 params and 1000 metrics.
_PARAM_BATCH, _METRIC_BATCH = 100, 1000


def _import_mlflow() -> Any:
    try:
        return importlib.import_module("mlflow")
    except ImportError as exc:
        raise ConfigError(
            "MLflow logging needs the mlflow extra: pip install 'paretext[mlflow]'"
        ) from exc


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
        yield prefix, text[:MAX_PARAM_CHARS]


def mlflow_params(data: ReportData) -> dict[str, str]:
    """The run's settings as flat MLflow parameters (seed texts are artifacts, not params)."""
    fp = data.fingerprint
    params = dict(_flatten("config", fp.get("config", {})))
    params["reflection_lm"] = str(fp.get("reflection_lm", ""))
    params["components"] = ",".join(sorted(dict(fp.get("seed", {}))))
    for key in ("n_train", "n_val", "search_mode"):
        if key in data.meta:
            params[key] = str(data.meta[key])
    params.update(_flatten("cli", data.meta.get("cli", {})))
    return params


def log_to_mlflow(
    data: ReportData,
    *,
    tracking_uri: str | None = None,
    experiment: str = "paretext",
    run_name: str | None = None,
) -> str:
    """Create one MLflow run for ``data``; returns its run id.

    Metrics ``candidate_score``, ``best_score`` and ``frontier_size`` are logged
    once per accepted candidate with ``step`` = rollouts spent at that commit.
    Artifacts: ``report.html``, ``best_candidate.json`` and ``export.json``.
    """
    mlflow = _import_mlflow()
    entities = importlib.import_module("mlflow.entities")
    try:
        client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        exp_id = found.experiment_id if found is not None else client.create_experiment(experiment)
        tags = {
            "paretext.run": data.location or "",
            "paretext.status": data.status,
            "paretext.best": data.best or "",
        }
        run = client.create_run(
            exp_id, run_name=run_name or Path(data.location or "paretext").name, tags=tags
        )
        run_id: str = run.info.run_id
        now = int(time.time() * 1000)
        metrics = []
        for point in data.curve:
            if point.candidate is None or point.candidate_score is None:
                continue
            for key, value in (
                ("candidate_score", point.candidate_score),
                ("best_score", point.best_score),
                ("frontier_size", float(point.frontier_size)),
            ):
                metrics.append(entities.Metric(key, float(value), now, point.rollouts))
        finals: dict[str, float | None] = {
            "final_best_score": None if data.best_candidate is None else data.best_candidate.score,
            "seed_score": data.seed_score,
            "rollouts_used": float(data.rollouts_used),
            "candidates": float(len(data.candidates)),
            "failures": float(len(data.failures)),
            "cost_usd": data.total_cost_usd,
        }
        metrics += [
            entities.Metric(k, float(v), now, 0) for k, v in finals.items() if v is not None
        ]
        params = [entities.Param(k, v) for k, v in sorted(mlflow_params(data).items())]
        for i in range(0, len(params), _PARAM_BATCH):
            client.log_batch(run_id, params=params[i : i + _PARAM_BATCH])
        for i in range(0, len(metrics), _METRIC_BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + _METRIC_BATCH])
        with tempfile.TemporaryDirectory(prefix="paretext-mlflow-") as tmp:
            exported = export_dict(data)
            files = {
                "report.html": render_html(data),
                "best_candidate.json": json.dumps(exported["best"], indent=2, ensure_ascii=False),
                "export.json": json.dumps(exported, indent=2, ensure_ascii=False),
            }
            for name, text in files.items():
                path = Path(tmp) / name
                path.write_text(text, encoding="utf-8")
                client.log_artifact(run_id, str(path))
        client.set_terminated(run_id, "FINISHED" if data.status != "failed" else "FAILED")
    except ParetextError:
        raise
    except Exception as exc:  # MLflow raises many types; report them as one clear error
        uri = tracking_uri or str(mlflow.get_tracking_uri())
        raise mlflow_error(exc, uri) from exc
    return run_id


def mlflow_error(exc: BaseException, uri: str) -> ParetextError:
    """What went wrong, in words that say what to do (MLflow's own messages rarely do)."""
    text = str(exc)
    if "MLFLOW_ALLOW_FILE_STORE" in text:
        return ConfigError(
            f"MLflow refuses the file tracking store {uri} unless MLFLOW_ALLOW_FILE_STORE=true "
            "is set; log to a database instead: --tracking-uri sqlite:///mlflow.db "
            "(or MLFLOW_TRACKING_URI)"
        )
    if isinstance(exc, ImportError):
        return ConfigError(
            f"the MLflow tracking URI {uri} needs the {exc.name or 'missing'} package: "
            "pip install 'paretext[mlflow]'"
        )
    if any(w in text for w in ("Connection refused", "Max retries exceeded", "NewConnectionError")):
        return ParetextError(f"cannot reach the MLflow tracking server at {uri}")
    first = text.strip().splitlines()[0] if text.strip() else ""
    return ParetextError(f"MLflow logging to {uri} failed: {type(exc).__name__}: {first}")


def tracking_uri_of(tracking_uri: str | None) -> str:
    """The tracking URI MLflow will use: the given one, else its own default."""
    return tracking_uri or str(_import_mlflow().get_tracking_uri())
