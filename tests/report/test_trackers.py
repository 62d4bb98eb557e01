"""Issue 17.9/17.11: MLflow and W&B, each against its real client library, offline."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paretext.cli import EXIT_OK, EXIT_USAGE, app
from paretext.report import load
from paretext.testing import RuleWorld


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("trackers") / "run"
    RuleWorld().optimize(train=15, budget=150, run=run)
    return run


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy's, inside MLflow
# MLflow's database store leaves files for the garbage collector to close (not ours).
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_mlflow_sqlite_uri_works_and_says_where(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    import mlflow

    monkeypatch.chdir(tmp_path)  # a database store keeps its artifacts in ./mlruns

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = CliRunner().invoke(app, ["mlflow", str(run_dir), "--tracking-uri", uri])
    assert result.exit_code == EXIT_OK, result.output
    run_id = result.stdout.strip()
    assert f"at {uri}" in result.stderr and "mlflow ui --backend-store-uri" in result.stderr
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    assert client.get_run(run_id).data.tags["paretext.best"] == load(run_dir).best


def test_mlflow_file_store_refusal_is_a_clear_usage_error(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    uri = f"file:{tmp_path / 'mlruns'}"
    result = CliRunner().invoke(app, ["mlflow", str(run_dir), "--tracking-uri", uri])
    assert result.exit_code == EXIT_USAGE, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "MLFLOW_ALLOW_FILE_STORE=true" in line
    assert "--tracking-uri sqlite:///mlflow.db" in line and "migrate-filestore" not in line


def _wandb_records(path: Path) -> Iterator[Any]:
    """The records of an offline ``.wandb`` file (W&B's log format: 32 KiB blocks of chunks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw, block, pos, buf = path.read_bytes(), 32768, 7, b""
    while pos + 7 <= len(raw):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        data, pos = raw[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0:
            break
        buf = data if kind in (1, 2) else buf + data
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            yield record


def test_wandb_offline_run_holds_the_curve_summary_and_artifact(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    result = CliRunner().invoke(app, ["wandb", str(run_dir), "--project", "pt-test"])
    assert result.exit_code == EXIT_OK, result.output
    (file,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    records = list(_wandb_records(file))
    kinds = [r.WhichOneof("record_type") for r in records]
    data = load(run_dir)
    accepted = [p for p in data.curve if p.candidate is not None and p.candidate_score is not None]
    assert kinds.count("history") == len(accepted) and "artifact" in kinds and "exit" in kinds
    summary = {
        u.key: u.value_json for r in records if r.HasField("summary") for u in r.summary.update
    }
    assert summary["best"] == f'"{data.best}"'
    assert float(summary["final_best_score"]) == data.best_candidate.score  # type: ignore[union-attr]


def test_wandb_missing_names_the_extra(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "wandb", None)
    result = CliRunner().invoke(app, ["wandb", str(run_dir)])
    assert result.exit_code == EXIT_USAGE and "pip install 'paretext[wandb]'" in result.stderr
