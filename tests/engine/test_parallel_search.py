"""The default search: several minibatches a proposal, reflected on in parallel, synthesised."""

from __future__ import annotations

from typing import Any

import pytest

import paretext as pt
from paretext import ExampleId
from paretext.engine import Ledger
from paretext.engine._proposals import deal
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector

from .test_engine import summary
from .test_planner import planner
from .test_state import seeded


def rollout(ex: str, score: float, feedback: str) -> pt.Rollout:
    return pt.Rollout("h", ExampleId(ex), "out", (), score, feedback)


def test_deal_sends_different_mistakes_to_different_reflections() -> None:
    rs = [
        rollout("a1", 0.0, "needs A"), rollout("a2", 0.0, "needs A"), rollout("b1", 0.0, "needs B"),
        rollout("ok1", 1.0, "fine"), rollout("c1", 0.0, "needs C"), rollout("ok2", 1.0, "fine"),
    ]
    groups = deal(rs, 3, perfect=1.0)
    firsts = [g[0].feedback for g in groups]
    assert firsts == ["needs A", "needs B", "needs C"]  # one kind of mistake each
    assert sorted(r.example_id for g in groups for r in g) == sorted(r.example_id for r in rs)
    assert all(len(g) <= 2 for g in groups)


def test_deal_drops_minibatches_with_nothing_to_fix() -> None:
    rs = [rollout("a", 0.0, "needs A"), rollout("ok1", 1.0, "fine"), rollout("ok2", 1.0, "fine")]
    groups = deal(rs, 3, perfect=1.0)
    assert [[r.example_id for r in g] for g in groups] == [["a"]]
    perfect = rs[1:]  # with skip_perfect=False a perfect batch is still reflected on, once
    assert [[r.example_id for r in g] for g in deal(perfect, 3, perfect=1.0)] == [["ok1", "ok2"]]


def test_a_proposal_gates_on_all_its_minibatches_and_synthesises_their_texts() -> None:
    prompts: list[str] = []
    inner = rule_reflector(1)

    async def reflect(request: ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return (await inner.chat(request)).text

    world = RuleWorld(n=30, categories=6)
    result = world.optimize(
        train=15, reflection_lm=pt.ScriptedLM(reflect, model=inner.model), budget=200,
        reflection=pt.ReflectionConfig(minibatches_per_proposal=4),
        stop=pt.StopConfig(max_proposals=1),
    )
    (proposal,) = result.proposals
    assert len(proposal.gate_examples) == 12 and proposal.accepted
    reflections = [p for p in prompts if "Version 1:" not in p]
    syntheses = [p for p in prompts if "Version 1:" in p]
    assert len(reflections) == 4 and len(syntheses) == 1
    # Four reflections, one rule each, four different rules: the child holds all of them.
    assert result.candidates[1].components["system"].count("RULE-") == 4


def test_the_width_never_depends_on_the_budget() -> None:
    """A resumed run with a bigger budget must plan what the stored run planned."""
    tight = planner(seeded(), Ledger(3 + 3 + 4), minibatches=3).plan(0, [])  # just enough
    roomy = planner(seeded(), Ledger(1000), minibatches=3).plan(0, [])
    assert tight is not None and roomy is not None
    assert (tight.gate, tight.minibatches) == (roomy.gate, roomy.minibatches)
    assert planner(seeded(), Ledger(3 + 3 + 3), minibatches=3).plan(0, []) is None


@pytest.mark.parametrize(
    ("reflector", "settings"),
    [
        (rule_reflector(1, keep_old=2), {}),
        (rule_reflector(None), {"engine_in_flight": 2, "width": 3}),
    ],
)
def test_the_default_search_is_the_same_whatever_the_concurrency(
    jittery: Any, reflector: pt.ScriptedLM, settings: dict[str, int]
) -> None:
    world = RuleWorld(n=40, categories=10)
    results = [
        world.optimize(
            train=20,
            program=jittery(world, seed=s),
            reflection_lm=reflector,
            budget=300,
            engine=pt.EngineConfig(
                seed=5, concurrency=c, proposals_in_flight=settings.get("engine_in_flight", 1)
            ),
            reflection=pt.ReflectionConfig(minibatches_per_proposal=settings.get("width", 8)),
        )
        for s, c in [(1, 1), (2, 3), (3, 32)]
    ]
    assert summary(results[1]) == summary(results[0]) == summary(results[2])
    assert results[0].best.score > results[0].candidates[0].score
