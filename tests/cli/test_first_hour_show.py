"""Issue 17.8 and 17.9: progress counts finished rollouts; show and the report read well."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import paretext as pt
from paretext._progress import JsonLinesProgress
from paretext.cli import app
from paretext.report import load, render_html
from paretext.testing import RuleWorld

WORLD = RuleWorld(n=20, categories=4)


class Seen(pt.EngineObserver):
    def __init__(self) -> None:
        self.snapshots: list[pt.RunSnapshot] = []

    def on_rollouts(self, snapshot: pt.RunSnapshot) -> None:
        self.snapshots.append(snapshot)


def slow_program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
    time.sleep(0.002)
    return WORLD.program(candidate, example)


def test_progress_counts_finished_rollouts_and_shows_running_and_reserved_apart() -> None:
    seen = Seen()
    result = WORLD.optimize(train=10, budget=150, program=slow_program, observer=seen)
    assert any(s.rollouts_running > 0 for s in seen.snapshots)
    assert any(s.rollouts_reserved > 0 for s in seen.snapshots)
    finished = [s.rollouts_finished for s in seen.snapshots]
    assert all(f <= s.rollouts_spent for f, s in zip(finished, seen.snapshots, strict=True))
    assert seen.snapshots[-1].rollouts_running == 0
    assert seen.snapshots[-1].rollouts_finished == result.rollouts_used
    display = JsonLinesProgress()
    snap = display.snapshot(seen.snapshots[len(seen.snapshots) // 2], None)
    mid = seen.snapshots[len(seen.snapshots) // 2]
    assert snap.rollouts == mid.rollouts_finished and snap.rollouts_running == mid.rollouts_running


def flaky(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
    if example["id"] == "ex15":
        raise ConnectionError("connection refused, try again")
    return WORLD.program(candidate, example)


def test_show_wall_time_covers_every_process_and_failures_are_grouped(tmp_path: Path) -> None:
    run = tmp_path / "run"
    WORLD.optimize(train=10, budget=200, program=flaky, run=run)
    first = load(run).seconds
    WORLD.optimize(train=10, budget=200, program=flaky, run=run)  # a replay: ~0 s of its own
    data = load(run)
    assert data.seconds_total is not None and first is not None
    assert data.seconds_total >= first + (data.seconds or 0.0) - 0.002
    out = CliRunner().invoke(app, ["show", str(run)], env={"COLUMNS": "250"}).stdout
    assert "s in all (the last process" in out
    # One row for the one failure, however many candidates it hit.
    assert out.count("ConnectionError: connection refused, try again") == 1
    assert len({f.where for f in data.failures if "refused" in f.message}) > 1
    html = render_html(data)
    failures = html[html.index('id="failures"'):]
    failures = failures[: failures.index("</section>")]
    assert failures.count("connection refused, try again") == 1


def test_show_lists_rejection_reasons_one_per_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    same = pt.ScriptedLM(lambda r: "Solve it.")  # every reply repeats the text: all rejected
    WORLD.optimize(train=10, budget=300, run=run, reflection_lm=same)
    out = CliRunner().invoke(app, ["show", str(run)], env={"COLUMNS": "250"}).stdout
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "rejections")
    assert "×" in lines[at + 1] and "rejections:" not in out
