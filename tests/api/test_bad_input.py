"""Bad input fails clearly, before anything is spent."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import pytest

import paretext as pt
from paretext.errors import ConfigError, ProgramSignatureError
from paretext.testing import RuleWorld


class Spy:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, candidate: Mapping[str, str], example: Any) -> str:
        self.calls += 1
        return "x"


def metric(example: Any, output: Any) -> float:
    return 1.0


DATA = RuleWorld(n=10).examples()


def call(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "seed": {"system": "s"},
        "program": Spy(),
        "metric": metric,
        "trainset": DATA[:5],
        "valset": DATA[5:],
        "reflection_lm": pt.ScriptedLM(lambda r: "x"),
        "budget": 100,
    }
    kwargs.update(overrides)
    return pt.optimize(**kwargs)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"trainset": []}, ConfigError, "trainset is empty"),
        ({"valset": []}, ConfigError, "valset is empty"),
        ({"trainset": "abc"}, ConfigError, "trainset must be a sequence"),
        ({"trainset": 5}, ConfigError, "trainset must be a sequence"),
        ({"seed": {}}, ConfigError, "non-empty mapping"),
        ({"seed": {"system": 3}}, TypeError, "component 'system' must be a string"),
        (
            {"program": pt.ChatProgram(pt.ScriptedLM(lambda r: "x"), component="plan")},
            ConfigError,
            r"reads components \['plan'\]",
        ),
        ({"program": lambda a: a}, ProgramSignatureError, "takes 1 positional"),
        ({"program": 42}, ProgramSignatureError, "must be a callable"),
        ({"metric": lambda a, b, c, d: 1}, ProgramSignatureError, "takes 4 positional"),
        ({"budget": 3}, ConfigError, "smaller than one validation pass"),
        ({"budget": 7}, ConfigError, "not for one proposal"),
        ({"budget": "enormous"}, ConfigError, "unknown budget preset"),
        ({"budget": 2.5}, ConfigError, "budget must be"),
        ({"trainset": [{"id": "a"}, {"id": "a"}]}, ConfigError, "two examples with id 'a'"),
        ({"valset": [{"id": "ex0", "category": 9}]}, ConfigError, "different contents"),
        ({"reflection_lm": 3}, ConfigError, "reflection LM must be"),
    ],
)
def test_bad_input_is_refused_before_spending(
    overrides: dict[str, Any], error: type, message: str
) -> None:
    spy = overrides.setdefault("program", Spy())
    with pytest.raises(error, match=message):
        call(**overrides)
    if isinstance(spy, Spy):
        assert spy.calls == 0


def test_budget_objects_validate_themselves() -> None:
    with pytest.raises(ConfigError, match="positive"):
        pt.Budget(rollouts=0)
    with pytest.raises(ConfigError, match="at least one"):
        pt.Budget()


def test_config_objects_validate_themselves() -> None:
    with pytest.raises(ConfigError):
        pt.ReflectionConfig(minibatch_size=0)
    with pytest.raises(ConfigError, match="retry_temperature must be between 0 and 2"):
        pt.ReflectionConfig(retry_temperature=3.0)
    with pytest.raises(ConfigError):
        pt.EngineConfig(concurrency=0)
    with pytest.raises(ConfigError, match="unknown selector"):
        call(engine=pt.EngineConfig(selector="nope"))  # type: ignore[arg-type]


def test_presets_follow_the_documented_formula() -> None:
    b = pt.Budget.preset("light", n_val=50, n_components=2, minibatch_size=3)
    proposals = 8 * 2
    assert b.rollouts == 50 + proposals * 6 + 7 * 50
    assert (
        pt.Budget.preset("heavy", n_val=50, n_components=1, minibatch_size=3).rollouts > b.rollouts
    )


def test_resuming_with_other_settings_is_refused(tmp_path: Any) -> None:
    world = RuleWorld(n=10)
    data = world.examples()
    args = ({"system": "s"}, world.program, world.metric, data[:5], data[5:])
    from paretext.testing import rule_reflector

    pt.optimize(*args, reflection_lm=rule_reflector(), budget=40, run=tmp_path / "r")
    with pytest.raises(pt.errors.StoreError, match="seed"):
        pt.optimize(
            *args,
            reflection_lm=rule_reflector(),
            budget=40,
            run=tmp_path / "r",
            engine=pt.EngineConfig(seed=5),
        )
    # Concurrency only changes speed: allowed on resume.
    pt.optimize(
        *args,
        reflection_lm=rule_reflector(),
        budget=40,
        run=tmp_path / "r",
        engine=pt.EngineConfig(concurrency=2),
    )


def test_caller_objects_are_not_modified() -> None:
    world = RuleWorld(n=10)
    data = world.examples()
    seed = {"system": "Solve it."}
    snapshot = [dict(d) for d in data]
    from paretext.testing import rule_reflector

    pt.optimize(
        seed,
        world.program,
        world.metric,
        data[:5],
        data[5:],
        reflection_lm=rule_reflector(),
        budget=60,
    )
    assert seed == {"system": "Solve it."} and data == snapshot


def test_public_surface_is_pinned() -> None:
    assert sorted(pt.__all__) == sorted(set(pt.__all__))
    for name in pt.__all__:
        assert hasattr(pt, name), name
    assert set(pt.__all__) == {
        "AllComponents", "ArtifactResult", "BestSelector", "Budget", "Candidate", "CandidateId",
        "CandidateSelector", "ChatProgram", "ChatRequest", "ChatStep", "ComponentSelector",
        "ConfigError", "EngineConfig", "EngineObserver", "EpsilonGreedySelector", "Example",
        "ExampleId", "Failure", "Feedback", "FunctionProgram", "InMemoryRunStore",
        "InProcessExecutor", "LM", "LMResponse", "MergeConfig", "Metric", "ParetextError",
        "ParetoSelector", "Pipeline", "Program", "Proposal", "ReflectionConfig", "Result",
        "Rollout", "RolloutExecutor", "RoundRobinComponents", "RunSnapshot", "RunStore",
        "SQLiteRunStore", "ScriptedLM", "StopConfig", "StopReason", "TopKParetoSelector",
        "Trace", "TraceStep", "UsageTotals", "Verdict", "aapply", "aoptimize",
        "aoptimize_artifact", "apply", "asearch", "errors", "load", "optimize",
        "optimize_artifact", "run_rollout", "search",
    }
    # Every package says what it exports, and exports only what it has.
    for package in ("engine", "lm", "store", "propose", "report", "baselines", "tasks", "bench"):
        module = importlib.import_module(f"paretext.{package}")
        assert module.__all__ and all(hasattr(module, n) for n in module.__all__), package
