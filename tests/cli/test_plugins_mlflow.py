"""Commands mounted from other modules, and the MLflow command's error paths."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import typer
from cli_tasks import write_task
from typer.testing import CliRunner

import paretext as pt
from paretext.cli import EXIT_OK, EXIT_USAGE, _mount_plugins, app


def _module(monkeypatch: pytest.MonkeyPatch, name: str, **attrs: object) -> None:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_plugins_mount_groups_and_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    group = typer.Typer(help="Local models.")

    @group.command("list")
    def list_models() -> None:
        typer.echo("qwen-0.5b")

    def demo(fast: bool = typer.Option(False, "--fast")) -> None:
        """Run the demo."""
        typer.echo(f"demo fast={fast}")

    _module(monkeypatch, "fake_models", cli=group)
    _module(monkeypatch, "fake_demo", cli=demo)
    target = typer.Typer()

    @target.command()
    def other() -> None:
        """Keep the app a group."""

    _mount_plugins(
        target,
        {
            "models": "fake_models:cli",
            "demo": "fake_demo:cli",
            "bench": "paretext_not_here.bench:cli",
        },
    )
    runner = CliRunner()
    assert runner.invoke(target, ["models", "list"]).stdout.strip() == "qwen-0.5b"
    assert runner.invoke(target, ["demo", "--fast"]).stdout.strip() == "demo fast=True"
    assert runner.invoke(target, ["bench"]).exit_code == EXIT_USAGE  # absent module: no command


def test_plugin_that_cannot_import_reports_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "broken_plugin.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    target = typer.Typer()

    @target.command()
    def other() -> None:
        """Keep the app a group."""

    _mount_plugins(target, {"bench": "broken_plugin:cli"})
    result = CliRunner().invoke(target, ["bench"])
    assert result.exit_code == EXIT_USAGE
    assert "cannot load" in result.stderr and "a_dependency_that_is_not_installed" in result.stderr


def test_mlflow_missing_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    assert (
        runner.invoke(
            app, ["optimize", str(write_task(tmp_path)), "-b", "200", "-r", str(run), "-q"]
        ).exit_code
        == 0
    )
    monkeypatch.setitem(sys.modules, "mlflow", None)
    result = runner.invoke(app, ["mlflow", str(run)])
    assert result.exit_code == EXIT_USAGE
    assert "pip install 'paretext[mlflow]'" in result.stderr


def test_mlflow_command_and_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: pt.Result
) -> None:
    pytest.importorskip("mlflow", reason="mlflow is not installed: pip install 'paretext[mlflow]'")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    runner = CliRunner()
    run = tmp_path / "run"
    task = write_task(tmp_path)
    flagged = runner.invoke(
        app, ["optimize", str(task), "-b", "200", "-r", str(run), "--mlflow", "from-flag"]
    )
    assert flagged.exit_code == EXIT_OK, flagged.output
    assert "mlflow run:" in flagged.stderr
    result = runner.invoke(app, ["mlflow", str(run), "--experiment", "cli", "--tracking-uri", uri])
    assert result.exit_code == EXIT_OK, result.output
    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    assert client.get_run(result.stdout.strip()).data.tags["paretext.best"] == golden.best.id
    assert client.get_experiment_by_name("from-flag") is not None
