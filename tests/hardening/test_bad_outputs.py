"""One bad output never kills a run (issue 15 point 5): each becomes one failed rollout with
its message, in the SQLite store, and a resumed run sees exactly what the first one saw."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import paretext as pt
from paretext.lm import ChatRequest
from paretext.store import SQLiteRunStore
from paretext.testing import RuleWorld

WORLD = RuleWorld()
BAD = "ex16"  # one validation example


def _circular() -> Any:
    out: dict[str, Any] = {}
    out["self"] = out
    return out


def _exit() -> Any:
    sys.exit("the program called sys.exit()")


OUTPUTS: dict[str, tuple[Callable[[], Any], str]] = {
    "circular": (_circular, "cannot be recorded: ValueError: Circular reference"),
    "tuple keys": (lambda: {(1, 2): "x"}, "cannot be recorded: TypeError: keys must be"),
    "sys.exit": (_exit, "SystemExit: the program called sys.exit()"),
}


@pytest.mark.parametrize("case", sorted(OUTPUTS))
def test_a_bad_output_is_one_failed_rollout(case: str, tmp_path: Path) -> None:
    make, message = OUTPUTS[case]

    def program(candidate: dict[str, str], example: dict[str, Any]) -> Any:
        return make() if example["id"] == BAD else WORLD.program(candidate, example)

    result = WORLD.optimize(train=15, program=program, budget=60, run=tmp_path / "run")
    assert any(message in str(f) for f in result.failures), result.failures
    again = WORLD.optimize(train=15, program=program, budget=60, run=tmp_path / "run")
    assert [c.components for c in again.candidates] == [c.components for c in result.candidates]


def test_lone_surrogates_are_stored_and_replayed(tmp_path: Path) -> None:
    def program(candidate: dict[str, str], example: dict[str, Any]) -> Any:
        answer = WORLD.program(candidate, example)
        return {"answer": answer, "raw": "bytes \udcff from a decoder"}

    def metric(example: Any, output: Any) -> pt.Feedback:
        fb = WORLD.metric(example, output["answer"])
        return pt.Feedback(score=fb.score, text=fb.text + " \udcfe")

    data = WORLD.examples()
    args = ({"system": "Solve it."}, program, metric, data[:15], data[15:])
    from paretext.testing import rule_reflector

    first = pt.optimize(*args, reflection_lm=rule_reflector(1), budget=60, run=tmp_path / "run")
    store = SQLiteRunStore(tmp_path / "run", create=False, read_only=True)
    try:
        stored = store.rollouts()
    finally:
        store.close()
    assert stored and all(r.output["raw"] == "bytes \udcff from a decoder" for r in stored)
    assert first.best_outputs[BAD]["raw"] == "bytes \udcff from a decoder"
    again = pt.optimize(*args, reflection_lm=rule_reflector(1), budget=60, run=tmp_path / "run")
    assert again.best.components == first.best.components and again.best.score == first.best.score


def test_an_lm_reply_with_a_lone_surrogate_is_stored(tmp_path: Path) -> None:
    def respond(request: ChatRequest) -> str:
        return "right \udcff"  # what a provider's broken decoder might hand back

    program = pt.ChatProgram(pt.ScriptedLM(respond, model="task-sim"), template="{input}")
    data = [{"id": f"q{i}", "input": f"question {i}"} for i in range(6)]

    def metric(example: Any, output: Any) -> float:
        return 1.0 if str(output).startswith("right") else 0.0

    pt.optimize({"system": "s"}, program, metric, data[:3], data[3:],
                reflection_lm=pt.ScriptedLM(lambda r: "```\nbetter\n```"), budget=30,
                run=tmp_path / "run")
    store = SQLiteRunStore(tmp_path / "run", create=False, read_only=True)
    try:
        calls = [c for c in store.lm_calls() if c.role == "task"]
    finally:
        store.close()
    assert calls and all(c.response.text == "right \\udcff" for c in calls)  # escaped, kept


@pytest.mark.parametrize(
    ("feedback", "message"),
    [
        (pt.Feedback(score=0.5, text=12345), "feedback text of type int"),  # type: ignore[arg-type]
        (pt.Feedback(score=0.5, objectives={1: 0.5}), "objective names must be strings"),  # type: ignore[dict-item]
    ],
)
def test_wrong_feedback_types_are_one_failed_rollout(feedback: pt.Feedback, message: str) -> None:
    def metric(example: Any, output: Any) -> pt.Feedback:
        return feedback if example["id"] == BAD else WORLD.metric(example, output)

    data = WORLD.examples()
    from paretext.testing import rule_reflector

    result = pt.optimize({"system": "Solve it."}, WORLD.program, metric, data[:15], data[15:],
                         reflection_lm=rule_reflector(1), budget=60)
    assert any(message in str(f) for f in result.failures), result.failures


def test_budget_nan_is_refused() -> None:
    for bad in (float("nan"), float("inf"), True):
        with pytest.raises(pt.errors.ConfigError, match="positive number"):
            pt.Budget(rollouts=bad)  # type: ignore[arg-type]
