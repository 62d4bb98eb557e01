"""``paretext demo`` with scripted LMs: optimizes, scores seed and best on test, honestly."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from test_bench import reflection_lm, rule_task, task_lm
from typer.testing import CliRunner

from paretext.cli import app
from paretext.demo import DemoSettings, run_demo, verdict
from paretext.tasks import register_task
from paretext.testing import RuleWorld


def test_demo_runs_end_to_end_and_reports_test_scores(tmp_path: Path) -> None:
    task = register_task(rule_task(RuleWorld(n=40, categories=6)), replace=True)
    console = Console(width=120, record=True)
    settings = DemoSettings(task=task.name, budget=80, train=10, val=8, test=10, minutes=5)
    outcome = run_demo(settings, tmp_path / "run", task_lm=task_lm(),
                       reflection_lm=reflection_lm(), console=console, progress=False)
    text = console.export_text()
    assert outcome.result.rollouts_used <= 80
    assert outcome.seed_test.mean == 0.0 and outcome.best_test.mean > 0.0
    assert outcome.report is not None and outcome.report.is_file()
    assert "seed prompt" in text and "optimized prompt" in text and "held-out test" in text
    assert "improved" in text and str(tmp_path / "run") in text and "report.html" in text
    # Running it again resumes the stored run: same outcome, no new task LM calls.
    lm = task_lm()
    again = run_demo(settings, tmp_path / "run", task_lm=lm, reflection_lm=reflection_lm(),
                     console=Console(record=True), progress=False, report=False)
    assert lm.calls == 0 and again.best_test == outcome.best_test


def test_verdict_is_honest() -> None:
    assert "did not help" in verdict(0.5, 0.5, 10)
    assert "got worse" in verdict(0.5, 0.4, 10) and "1 of 10" in verdict(0.5, 0.4, 10)
    assert "improved" in verdict(0.2, 0.5, 10) and "+0.300" in verdict(0.2, 0.5, 10)


def test_demo_is_mounted() -> None:
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0 and "--reflection-lm" in result.output
