"""MLflow logging against a local file store (``mlflow-skinny`` is enough; it is in ``dev``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paretext as pt
from paretext.report import load, log_to_mlflow

mlflow = pytest.importorskip(
    "mlflow", reason="mlflow is not installed: pip install 'paretext[mlflow]' (or the dev extra)"
)


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # MLflow 3 keeps the file store behind this switch; it is the store that needs no server.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return (tmp_path / "mlruns").as_uri()


def test_params_metrics_and_artifacts(
    clean: Path, tracking_uri: str, tmp_path: Path, golden_classic: pt.Result
) -> None:
    data = load(clean)
    run_id = log_to_mlflow(data, tracking_uri=tracking_uri, experiment="paretext-test")
    client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["reflection_lm"] == "scripted-reflector"
    assert params["config.EngineConfig.selector"] == "pareto"
    assert params["config.ReflectionConfig.minibatch_size"] == "3"
    assert params["n_val"] == "15"
    assert run.data.tags["paretext.best"] == golden_classic.best.id

    history = client.get_metric_history(run_id, "candidate_score")
    assert len(history) == len(data.candidates) == len(golden_classic.candidates)
    assert [m.step for m in history] == [p.rollouts for p in data.curve if p.accepted]
    assert [m.value for m in history] == [c.score for c in data.candidates]
    best = client.get_metric_history(run_id, "best_score")
    assert best[-1].value == pytest.approx(golden_classic.best.score)
    assert run.data.metrics["final_best_score"] == pytest.approx(golden_classic.best.score)
    assert run.data.metrics["rollouts_used"] == data.rollouts_used == golden_classic.rollouts_used

    names = {a.path for a in client.list_artifacts(run_id)}
    assert names == {"report.html", "best_candidate.json", "export.json"}
    local = Path(client.download_artifacts(run_id, "best_candidate.json", str(tmp_path)))
    assert json.loads(local.read_text())["components"] == {
        "system": golden_classic.best.components["system"]
    }


def test_a_second_log_makes_a_second_run(clean: Path, tracking_uri: str) -> None:
    data = load(clean)
    first = log_to_mlflow(data, tracking_uri=tracking_uri)
    second = log_to_mlflow(data, tracking_uri=tracking_uri, run_name="again")
    assert first != second
