from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

import paretext as pt
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector


def summary(result: pt.Result) -> Any:
    return (
        [(c.id, dict(c.components), c.parents, dict(c.val_scores)) for c in result.candidates],
        [c.id for c in result.frontier],
        [dataclasses.astuple(p) for p in result.proposals],
        dict(result.best_outputs),
        result.rollouts_used,
        result.stop_reason,
    )


def run(world: RuleWorld, **kwargs: Any) -> pt.Result:
    settings: dict[str, Any] = {"budget": 260, "engine": pt.EngineConfig(seed=3), **kwargs}
    return world.optimize(train=15, **settings)


def test_optimization_improves_and_reports_lineage(world: RuleWorld) -> None:
    result = run(world)
    seed = result.candidates[0]
    assert seed.origin == "seed" and seed.score == pytest.approx(0.0)
    assert result.best.score > 0.5
    assert result.rollouts_used <= 260
    for c in result.candidates[1:]:
        assert c.parents and all(p in result.lineage for p in c.parents)
    assert set(result.best_outputs) == {f"ex{i}" for i in range(15, 30)}


def test_same_seed_same_result_whatever_the_concurrency(world: RuleWorld, jittery: Any) -> None:
    results = [
        run(world, program=jittery(world, seed=s), engine=pt.EngineConfig(seed=3, concurrency=c))
        for s, c in [(1, 1), (2, 3), (3, 32)]
    ]
    first = summary(results[0])
    for other in results[1:]:
        assert summary(other) == first


def test_gate_rejects_children_that_do_not_improve_the_minibatch(world: RuleWorld) -> None:
    useless = pt.ScriptedLM(lambda req: "```\nSolve it carefully.\n```")
    result = run(world, reflection_lm=useless, merge=pt.MergeConfig(enabled=False))
    assert len(result.candidates) == 1
    gated = [p for p in result.proposals if p.reason.startswith("gate")]
    assert len(gated) == 1 and not gated[0].accepted
    assert gated[0].child_gate_score is not None and gated[0].parent_gate_score is not None
    assert gated[0].child_gate_score <= gated[0].parent_gate_score
    # The same text again is never paid for twice: the reflection is asked again (and
    # then refused) when the text was known at planning, caught before its gate otherwise.
    again = [p for p in result.proposals if p is not gated[0]]
    assert again and all(
        p.reason.startswith((
            "same text as proposal", "reflection unusable: reply proposes a text that was "
            "already evaluated",
        ))
        for p in again
    )
    assert "evaluated nothing new (last: reflection unusable" in result.stop_reason


def test_rejected_texts_are_shown_to_later_reflections(world: RuleWorld) -> None:
    prompts: list[str] = []

    def respond(req: ChatRequest) -> str:
        prompts.append(req.messages[-1].content)
        return f"```\nSolve it, attempt {len(prompts)}.\n```"

    run(
        world,
        reflection_lm=pt.ScriptedLM(respond),
        merge=pt.MergeConfig(enabled=False),
        stop=pt.StopConfig(max_proposals=8),
    )
    assert any("already tried" in p and "attempt 1" in p for p in prompts[4:])


def test_merge_never_pairs_a_candidate_with_its_ancestor_nor_repeats_a_pair(
    world: RuleWorld,
) -> None:
    # Four one-minibatch proposals in flight grow several lineages, which merges recombine.
    result = run(
        world,
        budget=600,
        merge=pt.MergeConfig(max_merges=10),
        engine=pt.EngineConfig(seed=3, proposals_in_flight=4),
        reflection=pt.ReflectionConfig(minibatches_per_proposal=1),
    )
    merges = [p for p in result.proposals if p.kind == "merge"]
    assert merges, "the run should have tried merges"
    pairs = [frozenset(p.parents) for p in merges]
    assert len(pairs) == len(set(pairs))
    by_id = {c.id: c for c in result.candidates}

    def ancestors(cid: str) -> set[str]:
        out: set[str] = set()
        stack = list(by_id[cid].parents)
        while stack:
            p = stack.pop()
            out.add(p)
            stack.extend(by_id[p].parents)
        return out

    for p in merges:
        a, b = p.parents
        assert a not in ancestors(b) and b not in ancestors(a)
    accepted = [p for p in merges if p.accepted]
    assert accepted and all(
        len(by_id[p.candidate_id].parents) == 2 for p in accepted if p.candidate_id
    )


def test_search_mode_reuses_validation_rollouts_for_minibatches() -> None:
    world = RuleWorld(n=12, categories=4)
    calls = 0

    def counting_program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        nonlocal calls
        calls += 1
        return world.program(candidate, example)

    result = pt.search(
        {"system": "Solve it."},
        counting_program,
        world.metric,
        world.examples(),
        reflection_lm=rule_reflector(2),
        budget=120,
    )
    assert result.best.score == pytest.approx(1.0)
    assert calls <= result.rollouts_used <= 120
    assert all(v == "right" for v in result.best_outputs.values())


def test_stop_conditions(world: RuleWorld, tmp_path: Any) -> None:
    slow = {"reflection": pt.ReflectionConfig(minibatches_per_proposal=1)}  # no early perfection
    capped = run(world, stop=pt.StopConfig(max_proposals=3), **slow)
    assert capped.stop_reason == "max_proposals=3 reached" and len(capped.proposals) == 3
    assert capped.stopped is pt.StopReason.MAX_PROPOSALS
    hit = run(world, budget=2000, stop=pt.StopConfig(score_threshold=0.5))
    assert hit.stop_reason.startswith("score threshold") and hit.best.score >= 0.5
    stuck = run(
        world,
        reflection_lm=pt.ScriptedLM(lambda r: "```\nSolve it well.\n```"),
        budget=2000,
        stop=pt.StopConfig(patience=5),
    )
    assert stuck.stop_reason == "no improvement in 5 proposals"
    stop_file = tmp_path / "STOP"
    stop_file.write_text("")
    assert run(world, stop=pt.StopConfig(stop_file=str(stop_file))).stop_reason.startswith(
        "stop file"
    )


@pytest.mark.parametrize("selector", ["best", "epsilon_greedy", "top_k_pareto"])
def test_other_selectors_run_and_improve(world: RuleWorld, selector: str) -> None:
    result = run(world, engine=pt.EngineConfig(seed=1, selector=selector))  # type: ignore[arg-type]
    assert result.best.score > 0.3


def optimize_two_components(reflection_lm: pt.ScriptedLM, budget: int, **kwargs: Any) -> pt.Result:
    """The rule world with its rules read from two components, ``a`` and ``b``, merge off."""
    world = RuleWorld(n=12, categories=3)

    def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        return world.program({"system": candidate["a"] + " " + candidate["b"]}, example)

    data = world.examples()
    return pt.optimize(
        {"a": "Solve.", "b": "Be brief."},
        program,
        world.metric,
        data[:6],
        data[6:],
        reflection_lm=reflection_lm,
        budget=budget,
        merge=pt.MergeConfig(enabled=False),
        **kwargs,
    )


def test_all_components_mode_rewrites_every_component() -> None:
    result = optimize_two_components(
        rule_reflector(1), 80, reflection=pt.ReflectionConfig(components="all")
    )
    changed = [set(p.components) for p in result.proposals if p.texts]
    assert changed and all(c == {"a", "b"} for c in changed)


def test_round_robin_cycles_components() -> None:
    result = optimize_two_components(
        pt.ScriptedLM(lambda r: "```\nNo rules here.\n```"),
        150,
        engine=pt.EngineConfig(proposals_in_flight=1),
    )
    order = [p.components[0] for p in result.proposals if p.parents == ("c0",)]
    assert order[:4] == ["a", "b", "a", "b"]
