"""Every command through the CLI runner, with its error paths and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_tasks import BROKEN, INTERRUPTING, write_task
from typer.testing import CliRunner, Result

import paretext as pt
from paretext.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_STORE, EXIT_USAGE, app
from paretext.errors import StoreError
from paretext.store import SQLiteRunStore
from paretext.testing import RuleWorld

COMMANDS = ["optimize", "resume", "show", "report", "export", "mlflow"]


def optimize(runner: CliRunner, task: Path, run: Path, *extra: str) -> Result:
    return runner.invoke(app, ["optimize", str(task), "--budget", "200", "--run", str(run), *extra])


def _json(runner: CliRunner, run: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["export", str(run)])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _one_line_error(result: Result, needle: str) -> None:
    stderr = result.stderr
    assert "Traceback" not in result.output
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("paretext: error: ") and needle in lines[0], lines[0]


# -- help and version ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_on_every_command(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"] if command else ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and "Exit codes" in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"paretext {pt.__version__}"


# -- the happy path --------------------------------------------------------------------------


def test_optimize_show_report_export(
    runner: CliRunner, task_file: Path, tmp_path: Path, golden: pt.Result
) -> None:
    run = tmp_path / "run"
    result = optimize(runner, task_file, run)
    assert result.exit_code == EXIT_OK, result.output
    best = f"{golden.best.score:.3f} ({golden.best.id})"
    assert "paretext run" in result.stdout and best in result.stdout
    assert "rollouts" in result.stderr  # the live bar goes to stderr
    assert (run / "report.html").is_file()

    store = SQLiteRunStore(run, create=False)
    try:
        store_meta = store.info().meta
        meta = store_meta["cli"]
        committed = len(store.candidates())
    finally:
        store.close()
    assert meta["source"] == str(task_file.resolve()) and meta["kind"] == "file"
    assert meta["budget"] == "200" and store_meta["rollouts_limit"] == 200

    shown = runner.invoke(app, ["show", str(run)])
    assert shown.exit_code == EXIT_OK, shown.output
    for needle in (
        "finished",
        f"best candidate {golden.best.id}",
        golden.best.components["system"][:30],  # long texts wrap
        "frontier",
        f"{golden.rollouts_used} / 200",
        "scripted-refle",
        "no failures",
    ):
        assert needle in shown.stdout, needle

    out = tmp_path / "elsewhere" / "r.html"
    reported = runner.invoke(app, ["report", str(run), "-o", str(out)])
    assert reported.exit_code == EXIT_OK and reported.stdout.strip() == str(out)
    assert "<svg" in out.read_text(encoding="utf-8")

    exported = _json(runner, run)
    assert exported["best"]["id"] == golden.best.id
    assert [c["id"] for c in exported["frontier"]] == [c.id for c in golden.frontier]
    assert "candidates" not in exported
    to_file = runner.invoke(app, ["export", str(run), "--all", "-o", str(tmp_path / "e.json")])
    assert to_file.exit_code == EXIT_OK and to_file.stdout == ""
    assert committed == len(golden.candidates)
    assert len(json.loads((tmp_path / "e.json").read_text())["candidates"]) == committed


def test_json_lines(runner: CliRunner, task_file: Path, tmp_path: Path, golden: pt.Result) -> None:
    run = tmp_path / "run"
    result = optimize(runner, task_file, run, "--json")
    assert result.exit_code == EXIT_OK, result.output
    store = SQLiteRunStore(run, create=False)
    try:
        proposals = store.proposals()
        summary = store.info().summary
    finally:
        store.close()
    assert summary is not None
    accepted = sum(p.accepted for p in proposals)
    assert [p.reason for p in proposals] == [p.reason for p in golden.proposals]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    # One commit for the seed, then one for every proposal, accepted or not.
    assert [e["event"] for e in events] == ["start"] + ["commit"] * (1 + len(proposals)) + [
        "finish"
    ]
    commits = events[1:-1]
    assert commits[0]["kind"] == "seed" and commits[0]["rollouts"] == 30
    assert [c["best_score"] for c in commits] == sorted(c["best_score"] for c in commits)
    assert commits[-1]["proposals_accepted"] == accepted
    assert commits[-1]["proposals_rejected"] == len(proposals) - accepted
    assert commits[-1]["frontier_size"] == len(golden.frontier)
    assert events[-1]["best"] == summary["best"] == golden.best.id
    assert events[-1]["rollouts"] == summary["rollouts_used"] == golden.rollouts_used
    assert commits[-1]["tokens"] > 0  # reflection calls were paid in this process


def test_quiet_prints_nothing(runner: CliRunner, task_file: Path, tmp_path: Path) -> None:
    result = optimize(runner, task_file, tmp_path / "run", "--quiet", "--no-report")
    assert result.exit_code == EXIT_OK
    assert result.output == ""
    assert not (tmp_path / "run" / "report.html").exists()


def test_default_run_directory(
    runner: CliRunner, task_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["optimize", str(task_file), "-b", "200", "-q"])
    assert result.exit_code == EXIT_OK, result.output
    (made,) = (tmp_path / "runs").iterdir()
    assert made.name.startswith("task-") and (made / "run.sqlite").is_file()


# -- resume ----------------------------------------------------------------------------------


def test_resume_replays_exactly(
    runner: CliRunner, task_file: Path, tmp_path: Path, golden: pt.Result
) -> None:
    run = tmp_path / "run"
    assert optimize(runner, task_file, run, "-q").exit_code == EXIT_OK
    before = _json(runner, run)
    calls = len(SQLiteRunStore(run, create=False).lm_calls())
    result = runner.invoke(app, ["resume", str(run), "--json", "-j", "2"])
    assert result.exit_code == EXIT_OK, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["best"] == before["best"]["id"] == golden.best.id
    assert all(e.get("tokens", 0) == 0 for e in events), "a replay pays for no LM call"
    assert _json(runner, run) == before
    assert len(SQLiteRunStore(run, create=False).lm_calls()) == calls


def test_resume_with_a_bigger_budget_continues(
    runner: CliRunner, task_file: Path, tmp_path: Path, golden: pt.Result
) -> None:
    run = tmp_path / "run"
    assert optimize(runner, task_file, run, "-q").exit_code == EXIT_OK
    before = _json(runner, run)
    assert before["rollouts_used"] == golden.rollouts_used
    result = runner.invoke(app, ["resume", str(run), "-q", "--budget", "400"])
    assert result.exit_code == EXIT_OK, result.output
    after = _json(runner, run)
    assert after["rollouts_used"] > before["rollouts_used"] and after["rollouts_limit"] == 400


def test_interrupt_then_resume_ends_where_an_uninterrupted_run_ends(
    runner: CliRunner, task_file: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    assert optimize(runner, task_file, reference, "-q").exit_code == EXIT_OK
    flaky = write_task(tmp_path, INTERRUPTING, name="interrupting.py")
    run = tmp_path / "run"
    first = optimize(runner, flaky, run)
    assert first.exit_code == EXIT_INTERRUPTED, first.output
    assert "paretext resume" in first.stderr
    assert _json(runner, run)["stop_reason"] == "stopped by SIGINT"
    second = runner.invoke(app, ["resume", str(run), "-q"])
    assert second.exit_code == EXIT_OK, second.output
    done, expected = _json(runner, run), _json(runner, reference)
    for key in ("best", "frontier", "rollouts_used", "seed_score", "proposals"):
        assert done[key] == expected[key], key


def test_resume_needs_a_cli_run(runner: CliRunner, tmp_path: Path) -> None:
    RuleWorld().optimize(train=15, budget=100, run=tmp_path / "api")
    result = runner.invoke(app, ["resume", str(tmp_path / "api")])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "was not started by `paretext optimize`")


def test_resume_when_the_task_file_is_gone(
    runner: CliRunner, task_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    assert optimize(runner, task_file, run, "-q").exit_code == EXIT_OK
    task_file.unlink()
    result = runner.invoke(app, ["resume", str(run)])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "does not exist")


# -- missing and corrupt runs ------------------------------------------------------------------

READERS = [["show"], ["report"], ["export"], ["resume"], ["mlflow"]]


@pytest.mark.parametrize("command", READERS)
def test_missing_run(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, str(tmp_path / "no-such-run")])
    assert result.exit_code == EXIT_STORE
    _one_line_error(result, "no run found")


@pytest.mark.parametrize("command", READERS)
def test_corrupt_store(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.sqlite").write_bytes(b"this is not a database" * 100)
    result = runner.invoke(app, [*command, str(run)])
    assert result.exit_code == EXIT_STORE
    _one_line_error(result, "corrupt")


def test_empty_store(runner: CliRunner, tmp_path: Path) -> None:
    SQLiteRunStore(tmp_path / "run").close()  # a schema but no run
    result = runner.invoke(app, ["show", str(tmp_path / "run")])
    assert result.exit_code == EXIT_STORE
    _one_line_error(result, "no run stored")


def test_debug_shows_the_exception(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "show", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and isinstance(result.exception, StoreError)


# -- bad flags and bad task files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--budget", "nope"],
        ["--budget", "0"],
        ["--concurrency", "0"],
        ["--quiet", "--json"],
        ["--no-such-flag"],
        ["--train", "-3"],
    ],
)
def test_bad_flags(runner: CliRunner, task_file: Path, tmp_path: Path, flags: list[str]) -> None:
    result = runner.invoke(
        app, ["optimize", str(task_file), "--run", str(tmp_path / "run"), *flags]
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert not (tmp_path / "run").exists()


def test_budget_too_small_for_one_proposal(
    runner: CliRunner, task_file: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["optimize", str(task_file), "-b", "20", "-r", str(tmp_path / "run")]
    )
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "budget of 20 rollouts")


def test_missing_task_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", str(tmp_path / "nope.py")])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "does not exist")


def test_task_file_without_metric(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "partial.py"
    path.write_text("seed = 'x'\nprogram = print\ntrainset = [1, 2]\n")
    result = runner.invoke(app, ["optimize", str(path), "--reflection-lm", "x"])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "must define metric")


def test_task_file_that_raises(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "boom.py"
    path.write_text("raise ImportError('no module named magic')\n")
    result = runner.invoke(app, ["optimize", str(path)])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "could not load")


def test_task_lm_with_a_file(runner: CliRunner, task_file: Path) -> None:
    result = runner.invoke(app, ["optimize", str(task_file), "--task-lm", "openai/x"])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "--task-lm applies to built-in tasks")


def test_unknown_task(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "no-such-task", "-r", str(tmp_path / "run")])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result, "no-such-task")


# -- a run that fails ----------------------------------------------------------------------------


def test_failed_run_exits_1_and_is_marked(runner: CliRunner, tmp_path: Path) -> None:
    task = write_task(tmp_path, BROKEN)
    run = tmp_path / "run"
    result = optimize(runner, task, run)
    assert result.exit_code == EXIT_RUN_FAILED
    _one_line_error(result, "the model server is down")
    shown = runner.invoke(app, ["show", str(run)])
    assert shown.exit_code == EXIT_OK
    assert "failed" in shown.stdout and "EvaluationsFailed" in shown.stdout
    assert runner.invoke(app, ["report", str(run)]).exit_code == EXIT_OK
    assert "EvaluationsFailed" in (run / "report.html").read_text(encoding="utf-8")


def test_console_entry_point_is_light() -> None:
    """`paretext --version` through main(); importing the CLI loads no report or MLflow code."""
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['paretext', '--version']\n"
        "import paretext.cli\n"
        "assert 'paretext.report' not in sys.modules and 'mlflow' not in sys.modules\n"
        "paretext.cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"paretext {pt.__version__}"
