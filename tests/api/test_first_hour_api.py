"""Issue 17 from Python: Pipeline model strings, USD caps, progress, load/apply, feedback."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import paretext as pt
from paretext._progress import RichProgress, terminal_progress
from paretext.errors import ConfigError
from paretext.lm import OpenAIClientLM, register_price
from paretext.lm._pricing import _prices
from paretext.testing import RuleWorld

WORLD = RuleWorld(n=12, categories=3)
DATA = WORLD.examples()


def test_pipeline_takes_a_model_string_like_chat_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    pipe = pt.Pipeline("openai/gpt-4.1-mini", [pt.ChatStep("plan"), pt.ChatStep("answer")])
    assert pipe.lm.model == "openai/gpt-4.1-mini"
    assert pipe.uses_components() == {"plan", "answer"}
    with pytest.raises(ConfigError, match=r"Pipeline\('openai/<model>', \[ChatStep"):
        pt.Pipeline([pt.ChatStep("plan")])  # type: ignore[arg-type]


def _usd_run(reflection_lm: Any) -> pt.Result:
    return pt.optimize(
        {"system": "Solve it."}, WORLD.program, WORLD.metric, DATA[:6], DATA[6:],
        reflection_lm=reflection_lm, budget=pt.Budget(rollouts=60, usd=0.01),
    )


def test_a_usd_cap_over_an_unpriced_model_is_refused_before_anything_runs() -> None:
    unpriced = pt.ScriptedLM(lambda r: "x", model="mystery-model", cost_per_token=None)
    with pytest.raises(ConfigError) as info:
        _usd_run(unpriced)
    assert "'mystery-model'" in str(info.value) and "register_price" in str(info.value)
    assert unpriced.calls == 0


def test_a_loopback_server_is_free_only_when_said_so() -> None:
    local = OpenAIClientLM("openai/my-local", base_url="http://127.0.0.1:9/v1")
    assert not local.free
    hint = r"local server.*register_price\('openai/my-local', 0, 0\)"
    with pytest.raises(ConfigError, match=hint):
        _usd_run(local)
    try:
        register_price("openai/my-local", 0, 0)
        pt.lm.check_usd_cap(0.01, [local])  # now explicitly free: accepted
    finally:
        _prices.pop("openai/my-local", None)
    pt.lm.check_usd_cap(0.01, [OpenAIClientLM("m", base_url="http://127.0.0.1:9/v1", free=True)])


def test_progress_true_draws_on_a_terminal_and_stays_off_elsewhere() -> None:
    assert terminal_progress(Console(file=io.StringIO())) is None  # not a terminal
    buffer = io.StringIO()
    bar = terminal_progress(Console(file=buffer, force_terminal=True, width=120))
    assert isinstance(bar, RichProgress)
    bar.out = Console(file=buffer, force_terminal=True, width=120)
    WORLD.optimize(train=6, budget=60, observer=bar)
    text = buffer.getvalue()
    assert "rollouts" in text and "best prompt" in text
    # And through optimize itself: no terminal under pytest, so nothing is drawn.
    WORLD.optimize(train=6, budget=60, progress=True)


def test_the_observer_example_in_its_docstring_runs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = pt.EngineObserver.__doc__ or ""
    code = "\n".join(line[8:] for line in doc.split("::", 1)[1].splitlines() if line.strip())
    namespace: dict[str, Any] = {"pt": pt}
    exec(code, namespace)
    WORLD.optimize(train=6, budget=60, observer=namespace["Accepted"]())
    assert capsys.readouterr().out.strip()  # one line per accepted candidate


def test_load_returns_the_result_optimize_returned(tmp_path: Path) -> None:
    result = WORLD.optimize(train=6, budget=60, run=tmp_path / "r")
    loaded = pt.load(tmp_path / "r")
    assert isinstance(loaded, pt.Result)
    assert loaded.best == result.best and loaded.candidates == result.candidates
    assert loaded.frontier == result.frontier and loaded.stopped is result.stopped
    assert loaded.rollouts_used == result.rollouts_used


def test_apply_runs_the_best_candidate_on_new_inputs() -> None:
    result = WORLD.optimize(train=6, budget=60)
    fresh = [{"id": "new", "category": c, "question": "q"} for c in range(3)]
    expected = [WORLD.program(result.best.components, x) for x in fresh]
    assert pt.apply(WORLD.program, result, fresh) == expected
    assert result.apply(WORLD.program, fresh) == expected
    assert pt.apply(WORLD.program, {"system": "RULE-0"}, fresh[:1]) == ["right"]


def test_component_feedback_reaches_only_that_components_reflection() -> None:
    prompts: list[str] = []

    def reflect(request: pt.ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return "```\nnew text\n```"

    def program(c: Mapping[str, str], example: Mapping[str, Any], trace: pt.Trace) -> str:
        trace.step("plan", example["question"], c["plan"])
        trace.step("answer", c["plan"], c["answer"])
        return c["answer"]

    def metric(example: Mapping[str, Any], output: str) -> pt.Feedback:
        return pt.Feedback(0.0, "Wrong.", components={"plan": "PLAN-ONLY: list the steps"})

    pt.optimize(
        {"plan": "p", "answer": "a"}, program, metric, DATA[:6], DATA[6:],
        reflection_lm=pt.ScriptedLM(reflect), budget=60,
        reflection=pt.ReflectionConfig(components="all"),
        stop=pt.StopConfig(max_proposals=1),
    )
    plan = [p for p in prompts if "```\np\n```" in p]
    answer = [p for p in prompts if "```\na\n```" in p]
    assert plan and answer
    assert all("PLAN-ONLY: list the steps" in p for p in plan)
    assert not any("PLAN-ONLY" in p for p in answer)



def nan_metric(example: Mapping[str, Any], output: str) -> float:
    return float("nan") if example["id"] == "ex7" else 1.0


def test_a_nan_score_points_at_the_users_metric_not_paretext() -> None:
    result = pt.optimize(
        {"system": "Solve it."}, WORLD.program, nan_metric, DATA[:6], DATA[6:],
        reflection_lm=pt.ScriptedLM(lambda r: "x"), budget=60,
    )
    (failure,) = [f for f in result.failures if "NaN" in f.message]
    assert f"from nan_metric at {__file__}:" in failure.message
    assert "paretext/metric.py" not in failure.message
