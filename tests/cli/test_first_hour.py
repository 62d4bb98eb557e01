"""Issue 17 through the command line: changed code, the prompt at the end, task-file configs."""

from __future__ import annotations

import json
from pathlib import Path

from cli_tasks import write_task
from typer.testing import CliRunner

from paretext.cli import EXIT_OK, EXIT_STORE, EXIT_USAGE, app
from paretext.store import SQLiteRunStore

ZERO_METRIC = """
program = world.program

def metric(example, output):
    return 0.0
"""

CONFIGURED = """
import paretext as pt

program = world.program

def metric(example, output):
    return (7.5, "Correct.") if output == "right" else (0.0, world.metric(example, output).text)

engine = pt.EngineConfig(perfect_score=7.5, seed=3)
reflection = pt.ReflectionConfig(minibatch_size=2)
merge = pt.MergeConfig(enabled=False)
stop = pt.StopConfig(max_proposals=3)
budget = pt.Budget(rollouts=150)
"""


def _optimize(runner: CliRunner, task: Path, run: Path, *extra: str) -> str:
    result = runner.invoke(app, ["optimize", str(task), "--run", str(run), "--no-report", *extra])
    assert result.exit_code == EXIT_OK, result.output
    return result.stdout


def test_changed_metric_is_refused_naming_it_then_replayed_on_request(tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    _optimize(runner, write_task(tmp_path), run, "-q", "--budget", "200")
    changed = write_task(tmp_path, ZERO_METRIC)  # the same file, now with another metric
    for command in (["optimize", str(changed), "--run", str(run)], ["resume", str(run)]):
        result = runner.invoke(app, [*command, "-q"])
        assert result.exit_code == EXIT_STORE, result.output
        assert "the program (program in task.py) and the metric" not in result.stderr
        assert "changed since the run" in result.stderr and "--replay-anyway" in result.stderr
    result = runner.invoke(app, ["resume", str(run), "-q", "--fresh", "--no-report"])
    assert result.exit_code == EXIT_OK, result.output
    store = SQLiteRunStore(run, create=False)
    try:
        assert store.candidates()[0].score == 0.0  # scored by the new metric
    finally:
        store.close()


def test_optimize_prints_the_best_prompt_with_its_diff(tmp_path: Path) -> None:
    out = _optimize(CliRunner(), write_task(tmp_path), tmp_path / "run", "--budget", "200")
    assert "best prompt c" in out and "diff against the seed (system):" in out
    assert "-Solve it." in out and "+Solve it. RULE-" in out


def test_json_finish_event_holds_the_components(tmp_path: Path) -> None:
    out = _optimize(CliRunner(), write_task(tmp_path), tmp_path / "run", "--json", "-b", "200")
    finish = json.loads(out.strip().splitlines()[-1])
    assert finish["event"] == "finish"
    assert finish["components"]["system"].startswith("Solve it. RULE-")


def test_task_file_configs_and_flags(tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    out = _optimize(runner, write_task(tmp_path, CONFIGURED), run, "--json")
    events = [json.loads(line) for line in out.strip().splitlines()]
    assert events[0]["rollouts_limit"] == 150
    commits = [e for e in events if e["event"] == "commit"]
    assert len(commits) <= 1 + 3 and all(c["kind"] != "merge" for c in commits)
    store = SQLiteRunStore(run, create=False)
    try:
        config = store.info().fingerprint["config"]
    finally:
        store.close()
    assert config["EngineConfig"]["perfect_score"] == 7.5 and config["EngineConfig"]["seed"] == 3
    assert config["ReflectionConfig"]["minibatch_size"] == 2
    assert config["MergeConfig"]["enabled"] is False


def test_flags_perfect_score_minibatch_no_merge(tmp_path: Path) -> None:
    runner = CliRunner()
    task = write_task(tmp_path, CONFIGURED.split("engine =")[0])
    bad = runner.invoke(app, ["optimize", str(task), "--run", str(tmp_path / "a"), "-q"])
    assert bad.exit_code == EXIT_OK, bad.output  # 7.5 is outside [0, 1]: those rollouts fail
    store = SQLiteRunStore(tmp_path / "a", create=False)
    try:
        errors = {r.error for r in store.rollouts() if r.error}
    finally:
        store.close()
    assert errors and all("--perfect-score" in e and "task.py:" in e for e in errors), errors
    run = tmp_path / "b"
    _optimize(runner, task, run, "-q", "-b", "200", "--perfect-score", "7.5", "--minibatch", "4",
              "--no-merge", "-j", "2")
    store = SQLiteRunStore(run, create=False)
    try:
        config = store.info().fingerprint["config"]
    finally:
        store.close()
    assert config["EngineConfig"]["perfect_score"] == 7.5
    assert config["ReflectionConfig"]["minibatch_size"] == 4
    assert config["MergeConfig"]["enabled"] is False


def test_a_task_file_config_of_the_wrong_type_is_a_usage_error(tmp_path: Path) -> None:
    task = write_task(tmp_path, "program = world.program\nmerge = False\n")
    result = CliRunner().invoke(app, ["optimize", str(task), "--run", str(tmp_path / "r"), "-q"])
    assert result.exit_code == EXIT_USAGE
    assert "merge as bool; it must be a paretext.MergeConfig" in result.stderr
