"""optimize_artifact's three modes on scripted LMs, transfer between tasks, and bad input."""

from __future__ import annotations

import re

import pytest

import paretext as pt
from paretext.artifact import ArtifactProposer
from paretext.lm import ChatRequest, ScriptedLM
from paretext.report import collect, render_html

from . import world

ONE_BY_ONE = pt.EngineConfig(proposals_in_flight=1)


def _batch(**kwargs: object) -> pt.ArtifactResult:
    return pt.optimize_artifact(
        "start",
        world.evaluate,
        tasks=world.tasks(),
        reflection_lm=world.writer(),
        budget=300,
        stop=pt.StopConfig(max_proposals=12),
        engine=ONE_BY_ONE,
        **kwargs,  # type: ignore[arg-type]
    )


# -- single artifact -------------------------------------------------------------------


def test_single_mode_fixes_one_artifact_from_its_side_information() -> None:
    def evaluate(text: str) -> pt.Feedback:
        missing = [w for w in ("alpha", "beta") if w not in text]
        return pt.Feedback(1 - len(missing) / 2, "ok" if not missing else "incomplete",
                           sections={"checker": "\n".join(f"missing word: {w}" for w in missing)})

    def respond(request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        current = re.findall(r"```\n(.*?)```", prompt, re.S)[0].strip()
        words = re.findall(r"missing word: (\w+)", prompt)
        return "```\n" + current + " " + words[0] + "\n```"

    out = pt.optimize_artifact("draft", evaluate, reflection_lm=ScriptedLM(respond), budget=20)
    assert out.mode == "single"
    assert out.best == "draft alpha beta"
    assert out.per_task["artifact"].score == 1.0
    assert out.transfers == ()
    assert out.result.stop_reason == "perfect validation score reached"


def test_single_mode_reflection_sees_the_sections() -> None:
    seen: list[str] = []

    def respond(request: ChatRequest) -> str:
        seen.append(request.messages[-1].content)
        return "```\nbetter\n```"

    pt.optimize_artifact(
        "v1",
        lambda text: pt.Feedback(0.0 if text == "v1" else 1.0, "bad",
                                 sections={"compiler": "error: x\nerror: x\nerror: x"}),
        reflection_lm=ScriptedLM(respond),
        budget=10,
    )
    assert "## compiler\nerror: x  [repeated 3 times]" in seen[0]


# -- batch mode and transfer --------------------------------------------------------------


def test_batch_mode_spreads_the_discovered_fix_to_the_other_tasks() -> None:
    out = _batch()
    assert out.mode == "batch"
    assert {t: b.score for t, b in out.per_task.items()} == {"a": 1.0, "b": 1.0, "c": 1.0}
    for task in ("a", "b", "c"):
        assert "use vectorize" in out.best[task]  # type: ignore[index]
    spread = [t for t in out.transfers if "use vectorize" in t.lines]
    assert spread, out.transfers
    origin = spread[0].source
    assert all(t.source == origin and t.source_task == "a" for t in spread)
    assert {t.target_task for t in spread} == {"b", "c"}
    assert all(t.gain > 0 for t in spread)


def test_without_transfer_only_the_discoverer_is_solved() -> None:
    out = _batch(transfer=0)
    scores = {t: b.score for t, b in out.per_task.items()}
    assert scores["a"] == 1.0
    assert scores["b"] < 1.0 and scores["c"] < 1.0
    assert not [t for t in out.transfers if "use vectorize" in t.lines]


def test_batch_mode_rewrites_only_the_minibatch_tasks_artifact() -> None:
    out = _batch()
    for proposal in out.result.proposals:
        if proposal.kind == "mutation" and proposal.texts:
            assert set(proposal.texts) == set(proposal.gate_examples)


def test_each_task_and_artifact_pair_is_evaluated_once() -> None:
    calls: list[tuple[str, str]] = []

    def counting(artifact: str, task: dict[str, object]) -> pt.Feedback:
        calls.append((str(task["id"]), artifact))
        return world.evaluate(artifact, task)

    out = pt.optimize_artifact(
        "start", counting, tasks=world.tasks(), reflection_lm=world.writer(), budget=300,
        stop=pt.StopConfig(max_proposals=12), engine=ONE_BY_ONE,
    )
    assert len(calls) == len(set(calls)) == out.evaluations
    assert out.evaluations < out.result.rollouts_used  # unchanged artifacts were not re-run


def test_the_report_shows_the_transfers() -> None:
    store = pt.InMemoryRunStore()
    out = _batch(run=store)
    data = collect(store)
    assert data.batch_mode
    assert data.transfers == out.transfers
    html = render_html(data)
    assert "Cross-task transfer" in html and "use vectorize" in html


def test_a_batch_run_resumes_without_evaluating_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = _batch(run=tmp_path / "run")
    again = _batch(run=tmp_path / "run")
    assert again.evaluations == 0
    assert again.best == first.best
    assert again.transfers == first.transfers


def test_per_task_seeds_are_accepted() -> None:
    seeds = {"a": "start a", "b": "start b", "c": "start c"}
    out = pt.optimize_artifact(seeds, world.evaluate, tasks=world.tasks(),
                               reflection_lm=world.writer(), budget=300,
                               stop=pt.StopConfig(max_proposals=3), engine=ONE_BY_ONE)
    for task, best in out.per_task.items():
        assert str(best.artifact).startswith(f"start {task}")


def test_best_of_n_rewrites_the_seed_without_feedback() -> None:
    prompts: list[str] = []

    def respond(request: ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return f"```\nstart\nuse trick-{len(prompts)}\n```"

    pt.optimize_artifact(
        "start", world.evaluate, tasks=world.tasks(), reflection_lm=ScriptedLM(respond),
        budget=300, stop=pt.StopConfig(max_proposals=4), engine=ONE_BY_ONE,
        proposer=lambda layout: ArtifactProposer(layout, feedback=False, source="seed",
                                                 transfer=0),
    )
    assert prompts
    for prompt in prompts:
        assert "How it was evaluated" not in prompt and "add the line" not in prompt
        assert "Current version:\n```\nstart\n```" in prompt


# -- generalization ---------------------------------------------------------------------


def test_generalize_mode_learns_one_shared_artifact_on_train_and_validates_on_val() -> None:
    train = [{"id": f"t{i}", "need": w} for i, w in enumerate(("red", "green", "blue"))]
    val = [{"id": "v0", "need": "green"}, {"id": "v1", "need": "blue"}]
    seen: list[str] = []

    def evaluate(candidate: str, task: dict[str, str]) -> pt.Feedback:
        seen.append(task["id"])
        ok = task["need"] in candidate
        return pt.Feedback(float(ok), "ok" if ok else f"mention {task['need']}")

    def respond(request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        current = re.findall(r"```\n(.*?)```", prompt, re.S)[0].strip()
        return "```\n" + " ".join([current, *re.findall(r"mention (\w+)", prompt)]) + "\n```"

    out = pt.optimize_artifact("colours:", evaluate, tasks=train, valset=val,
                               reflection_lm=ScriptedLM(respond), budget=60,
                               reflection=pt.ReflectionConfig(minibatches_per_proposal=1))
    assert out.mode == "generalize"
    assert isinstance(out.best, str) and "green" in out.best and "blue" in out.best
    assert set(out.per_task) == {"v0", "v1"}
    assert out.result.best.score == 1.0
    assert {"t0", "t1", "t2"} & set(seen)


def test_generalize_mode_passes_component_mappings() -> None:
    got: list[object] = []

    def evaluate(candidate: dict[str, str], task: object) -> float:
        got.append(candidate)
        return 0.5

    pt.optimize_artifact({"a": "x", "b": "y"}, evaluate, tasks=[{"id": 1}], valset=[{"id": 2}],
                         reflection_lm=ScriptedLM(lambda r: "```\nz\n```"), budget=10,
                         stop=pt.StopConfig(max_proposals=1))
    assert got[0] == {"a": "x", "b": "y"}


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tasks": world.tasks(), "valset": world.tasks(), "mode": "batch"}, "valset belongs"),
        ({"tasks": [], "mode": "batch"}, "tasks is empty"),
        ({"tasks": [{"id": "a"}, {"id": "a"}]}, "two tasks with id 'a'"),
        ({"mode": "batch"}, "batch mode needs tasks"),
        ({"tasks": world.tasks(), "mode": "single"}, "takes no tasks"),
        ({"tasks": world.tasks(), "mode": "sideways"}, "unknown mode"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(kwargs: dict[str, object],
                                                       message: str) -> None:
    lm = ScriptedLM(lambda r: pytest.fail("no LM call expected"))
    with pytest.raises(pt.ConfigError, match=message):
        pt.optimize_artifact("start", world.evaluate, reflection_lm=lm, budget=50,
                             **kwargs)  # type: ignore[arg-type]


def test_batch_seed_mapping_must_cover_the_tasks() -> None:
    with pytest.raises(pt.ConfigError, match=r"missing \['c'\]"):
        pt.optimize_artifact({"a": "x", "b": "y"}, world.evaluate, tasks=world.tasks(),
                             reflection_lm=world.writer(), budget=50)


def test_an_evaluator_without_a_task_argument_needs_single_mode() -> None:
    with pytest.raises(pt.errors.ProgramSignatureError, match="passes a task too"):
        pt.optimize_artifact("x", lambda text: 1.0, tasks=world.tasks(),
                             reflection_lm=world.writer(), budget=50)


def test_a_missing_objective_fails_the_rollout_with_its_name() -> None:
    with pytest.raises(pt.errors.EvaluationsFailed, match="objectives \\['speedup'\\]"):
        pt.optimize_artifact("x", lambda text: pt.Feedback(0.5), objectives=["speedup"],
                             reflection_lm=world.writer(), budget=50)


async def test_the_async_twin_takes_an_async_evaluator() -> None:
    async def evaluate(text: str, task: object) -> pt.Feedback:
        return world.evaluate(text, task)  # type: ignore[arg-type]

    out = await pt.aoptimize_artifact("start", evaluate, tasks=world.tasks(),
                                      reflection_lm=world.writer(), budget=300,
                                      stop=pt.StopConfig(max_proposals=12), engine=ONE_BY_ONE)
    assert all(b.score == 1.0 for b in out.per_task.values())


def test_reports_of_other_runs_have_no_transfer_section() -> None:
    store = pt.InMemoryRunStore()
    pt.optimize_artifact("v1", lambda text: 0.5, reflection_lm=ScriptedLM(lambda r: "```\nv2\n```"),
                         budget=10, run=store)
    data = collect(store)
    assert not data.batch_mode and data.transfers == ()
    assert 'href="#transfers"' not in render_html(data)
