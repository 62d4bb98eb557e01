"""Issue 17.1: a run recorded by other code is never replayed silently."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import paretext as pt
from paretext._resume import CodeChangedError
from paretext.errors import EvaluationsFailed
from paretext.testing import RuleWorld, rule_reflector

WORLD = RuleWorld(n=12, categories=3)
DATA = WORLD.examples()


def good_metric(example: Mapping[str, Any], output: str) -> pt.Feedback:
    return WORLD.metric(example, output)


def zero_metric(example: Mapping[str, Any], output: str) -> float:
    return 0.0


def broken_metric(example: Mapping[str, Any], output: str) -> float:
    raise ValueError("metric bug")


class Counting:
    """A program counting its runs: shows what a resumed run really executed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        self.calls += 1
        return WORLD.program(candidate, example)


def run(path: Path, metric: Any, program: Any = None, **kwargs: Any) -> pt.Result:
    return pt.optimize(
        {"system": "Solve it."}, program or Counting(), metric, DATA[:6], DATA[6:],
        reflection_lm=rule_reflector(1), budget=60, run=path, **kwargs,
    )


def test_a_changed_metric_is_refused_not_replayed(tmp_path: Path) -> None:
    first = run(tmp_path / "r", good_metric)
    assert first.best.score == 1.0
    program = Counting()
    with pytest.raises(CodeChangedError) as info:
        run(tmp_path / "r", zero_metric, program)
    message = str(info.value)
    assert "the metric (zero_metric in test_code_resume.py)" in message
    for way_out in ("--fresh", "--branch", "--replay-anyway", "on_change='fresh'"):
        assert way_out in message
    assert program.calls == 0  # nothing ran, nothing was replayed


def test_a_fixed_metric_is_not_answered_with_the_old_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationsFailed, match="metric bug"):
        run(tmp_path / "r", broken_metric)
    with pytest.raises(CodeChangedError, match="the metric"):
        run(tmp_path / "r", good_metric)
    program = Counting()
    result = run(tmp_path / "r", good_metric, program, on_change="replay_anyway")
    assert program.calls > 0  # the failed rollouts were run again with the fixed metric
    assert result.best.score == 1.0
    assert not [f for f in result.failures if "metric bug" in f.message]
    assert list((tmp_path / "r").glob("run.*.sqlite"))  # the old store was kept beside it


def test_unchanged_code_resumes_and_fresh_starts_over(tmp_path: Path) -> None:
    run(tmp_path / "r", good_metric)
    again = Counting()
    run(tmp_path / "r", good_metric, again)
    assert again.calls == 0  # same code: every rollout replays
    fresh = Counting()
    result = run(tmp_path / "r", zero_metric, fresh, on_change="fresh")
    assert fresh.calls > 0 and result.best.score == 0.0


def test_branch_reuses_lm_calls_and_only_rollouts_that_still_hold(tmp_path: Path) -> None:
    task_lm = pt.ScriptedLM(lambda r: "right" if "RULE" in r.messages[0].content else "wrong")
    program = pt.ChatProgram(task_lm, template="{question}")

    def metric_a(example: Mapping[str, Any], output: str) -> float:
        return float(output == "right")

    def metric_b(example: Mapping[str, Any], output: str) -> float:
        return float(output == "right") * 0.5

    run(tmp_path / "a", metric_a, program)
    paid = task_lm.calls
    with pytest.raises(CodeChangedError):
        run(tmp_path / "a", metric_b, program)
    result = run(tmp_path / "a", metric_b, program, branch=tmp_path / "b")
    assert result.run_path == str(tmp_path / "b")
    assert result.best.score <= 0.5  # rescored by the new metric, not replayed
    assert task_lm.calls == paid  # every task LM request was already recorded: none paid again
    # The branch is a run of its own now: it resumes.
    assert run(tmp_path / "a", metric_b, program, branch=tmp_path / "b").best == result.best


def test_retry_failures_reruns_them_when_nothing_changed(tmp_path: Path) -> None:
    flaky = {"fail": True}

    def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        if flaky["fail"] and example["id"] == "ex7":
            raise ConnectionError("server down")
        return WORLD.program(candidate, example)

    first = run(tmp_path / "r", good_metric, program)
    assert any("server down" in f.message for f in first.failures)
    flaky["fail"] = False
    replayed = run(tmp_path / "r", good_metric, program)
    assert any("server down" in f.message for f in replayed.failures)
    retried = run(tmp_path / "r", good_metric, program, retry_failures=True)
    assert not any("server down" in f.message for f in retried.failures)


def test_identity_sees_pipelines_templates_and_models() -> None:
    from paretext._identity import code_identity

    lm = pt.ScriptedLM(lambda r: "x", model="m1")
    base = code_identity(pt.ChatProgram(lm, template="{q}"), good_metric)
    other_template = code_identity(pt.ChatProgram(lm, template="Q: {q}"), good_metric)
    other_model = code_identity(
        pt.ChatProgram(pt.ScriptedLM(lambda r: "x", model="m2"), template="{q}"), good_metric
    )
    assert base == code_identity(pt.ChatProgram(lm, template="{q}"), good_metric)
    assert base["program"] != other_template["program"] != other_model["program"]
    assert base["metric"] == other_model["metric"]
