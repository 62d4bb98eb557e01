"""paretext.dspy.GEPA end to end: the real DSPy, a two-module program, real HTTP servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy
import pytest
from conftest import lms
from dspy_world import TwoStep, examples, metric
from fake_server import FakeOpenAIServer

from paretext.dspy import GEPA, ParetextGEPAResult
from paretext.store import SQLiteRunStore

pytestmark = pytest.mark.slow

SEED_INSTRUCTIONS = {
    "draft.predict": "Given the fields `question`, produce the fields `draft`.",
    "answer": "Given the fields `question`, `draft`, produce the fields `answer`.",
}


def instructions(module: Any) -> dict[str, str]:
    return {name: p.signature.instructions for name, p in module.named_predictors()}


def held_out_score(module: Any, lm: Any) -> float:
    test = examples(24, 40)
    with dspy.context(lm=lm):
        scores = [metric(ex, module(**ex.inputs())).score for ex in test]
    return sum(scores) / len(scores)


def test_compile_improves_both_predictors_and_leaves_the_student_alone(
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer], tmp_path: Path
) -> None:
    task, reflection = servers
    task_lm, reflection_lm = lms(task, reflection)
    student = TwoStep()
    optimizer = GEPA(
        metric=metric,
        max_metric_calls=160,
        reflection_lm=reflection_lm,
        num_threads=8,
        track_stats=True,
        track_best_outputs=True,
        log_dir=str(tmp_path / "run"),
    )
    with dspy.context(lm=task_lm):
        optimized = optimizer.compile(student, trainset=examples(0, 12), valset=examples(12, 24))

    assert instructions(student) == SEED_INSTRUCTIONS
    assert not hasattr(student, "detailed_results")
    changed = instructions(optimized)
    assert all(changed[name] != SEED_INSTRUCTIONS[name] for name in SEED_INSTRUCTIONS)
    before, after = held_out_score(student, task_lm), held_out_score(optimized, task_lm)
    assert before == 0.0 and after >= 0.25, (before, after, changed)

    results = optimized.detailed_results
    assert isinstance(results, ParetextGEPAResult)
    assert isinstance(results, dspy.teleprompt.gepa.gepa.DspyGEPAResult)
    n = len(results.candidates)
    assert n >= 3 and len(results.parents) == len(results.val_subscores) == n
    assert results.parents[0] == [None] and all(p != [None] for p in results.parents[1:])
    assert instructions(results.best_candidate) == changed
    assert results.val_aggregate_scores[results.best_idx] == max(results.val_aggregate_scores)
    assert set(results.val_subscores[0]) == set(range(12))
    assert results.total_metric_calls is not None and results.total_metric_calls <= 160
    assert sorted(results.discovery_eval_counts) == results.discovery_eval_counts
    assert results.log_dir == results.run_path == str(tmp_path / "run")
    assert set(results.best_outputs_valset or {}) == set(range(12))
    best_scores = results.highest_score_achieved_per_val_task
    assert sum(best_scores.values()) / 12 >= results.val_aggregate_scores[results.best_idx]
    assert results.to_dict()["best_idx"] == results.best_idx

    # The run store holds the run; compiling again with the same log_dir pays for nothing.
    store = SQLiteRunStore(tmp_path / "run", create=False)
    assert len(store.rollouts()) >= results.total_metric_calls - 12
    store.close()
    paid = task.total_requests, reflection.total_requests
    with dspy.context(lm=task_lm):
        again = optimizer.compile(student, trainset=examples(0, 12), valset=examples(12, 24))
    assert (task.total_requests, reflection.total_requests) == paid
    assert instructions(again) == changed


def test_a_reply_dspy_cannot_parse_becomes_format_feedback(tmp_path: Path) -> None:
    from dspy_world import reflection_responder, task_responder

    prompts: list[str] = []
    answer = task_responder()
    reflect = reflection_responder()

    def garbled(body: dict[str, Any]) -> str:
        if "`draft`" in body["messages"][0]["content"] and "q0" in body["messages"][-1]["content"]:
            return "no idea what format you want"
        return answer(body)

    def recording(body: dict[str, Any]) -> str:
        prompts.append(body["messages"][-1]["content"])
        return reflect(body)

    with FakeOpenAIServer(responder=garbled) as task, FakeOpenAIServer(responder=recording) as refl:
        task_lm, reflection_lm = lms(task, refl)
        optimizer = GEPA(
            metric=metric,
            max_metric_calls=60,
            reflection_lm=reflection_lm,
            num_threads=4,
            reflection_minibatch_size=4,
            track_stats=True,
            use_merge=False,
        )
        trainset = examples(0, 4)
        with dspy.context(lm=task_lm):
            optimized = optimizer.compile(TwoStep(), trainset=trainset, valset=examples(4, 12))
    draft_prompts = [p for p in prompts if "produce the fields `draft`" in p]
    assert draft_prompts, prompts
    assert any("Your output failed to parse. Follow this structure" in p for p in draft_prompts)
    assert any("no idea what format you want" in p for p in draft_prompts)
    # A parse failure is the example's score and feedback, not a failed rollout.
    failures = optimized.detailed_results.result.failures
    assert all(f.kind == "proposal" for f in failures), failures
