from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import paretext as pt
from paretext.errors import EvaluationsFailed, LMTransportError
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector


def test_a_run_whose_evaluations_all_fail_stops_with_a_clear_error() -> None:
    calls = 0

    def broken(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError("task LM unreachable")

    with pytest.raises(EvaluationsFailed, match="task LM unreachable") as info:
        RuleWorld(n=30).optimize(
            train=10, seed="x", program=broken, reflection_lm=rule_reflector(), budget=500
        )
    assert calls == 10  # stopped after the first 10, not the whole validation set
    assert len(info.value.errors) == 10


def test_bad_metric_values_become_failed_rollouts() -> None:
    world = RuleWorld(n=12, categories=3)

    def metric(example: Mapping[str, Any], output: str) -> Any:
        idx = int(example["id"][2:])
        if idx % 4 == 0:
            return float("nan")
        if idx % 4 == 1:
            return 1.7
        if idx % 4 == 2:
            raise KeyError("label")
        return world.metric(example, output)

    store = pt.InMemoryRunStore()
    data = world.examples()
    result = pt.optimize(
        {"system": "s"},
        world.program,
        metric,
        data[:6],
        data[6:],
        run=store,
        reflection_lm=rule_reflector(),
        budget=40,
        stop=pt.StopConfig(max_proposals=1),
    )
    assert any(f.kind == "rollout" for f in result.failures)
    errors = {r.example_id: r.error or "" for r in store.rollouts()}
    assert "NaN" in errors["ex8"]
    assert "outside [0, 1.0]" in errors["ex9"]
    assert "KeyError" in errors["ex10"]
    assert errors["ex11"] == ""


def test_reflection_lm_outage_stops_the_run_with_its_message() -> None:
    def down(req: ChatRequest) -> str:
        raise LMTransportError("503 from provider", model="x", status=503)

    with pytest.raises(EvaluationsFailed, match="503 from provider"):
        RuleWorld(n=20, categories=4).optimize(
            train=10, seed="s", reflection_lm=pt.ScriptedLM(down), budget=400
        )


def test_truncated_reflection_without_a_block_is_rejected_with_reason() -> None:
    def cut(req: ChatRequest) -> pt.LMResponse:
        return pt.LMResponse(
            text="The new instruction should say that",
            model="m",
            finish_reason="length",
            cost_usd=0.0,
        )

    result = RuleWorld(n=20, categories=4).optimize(
        train=10, seed="s", reflection_lm=pt.ScriptedLM(cut), budget=100,
        stop=pt.StopConfig(max_proposals=2),
    )
    assert all("cut off at max_tokens" in p.reason for p in result.proposals)


def test_truncated_looping_reflection_is_repaired_and_used() -> None:
    loop = "Never guess. " * 30

    def cut(req: ChatRequest) -> pt.LMResponse:
        return pt.LMResponse(
            text=f"```\nRead every example carefully. {loop}Never", model="m",
            finish_reason="length", cost_usd=0.0,
        )

    result = RuleWorld(n=20, categories=4).optimize(
        train=10, seed="s", reflection_lm=pt.ScriptedLM(cut), budget=100,
        stop=pt.StopConfig(max_proposals=1),
    )
    (proposal,) = result.proposals
    assert proposal.texts == {"system": "Read every example carefully. Never guess."}
    assert not proposal.failed


def test_only_errors_count_as_failed_proposals() -> None:
    def proposal(verdict: pt.Verdict) -> pt.Proposal:
        return pt.Proposal(0, "mutation", (), ("system",), None, (), None, None, verdict, "why")

    failed = {v for v in pt.Verdict if proposal(v).failed}
    assert failed == {
        pt.Verdict.REFLECTION_UNUSABLE,
        pt.Verdict.REFLECTION_LM_FAILED,
        pt.Verdict.MERGE_UNUSABLE,
        pt.Verdict.MERGE_LM_FAILED,
    }
    assert proposal(pt.Verdict.ACCEPTED).accepted and not proposal(pt.Verdict.DUPLICATE).accepted
