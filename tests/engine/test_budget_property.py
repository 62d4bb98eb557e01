"""The budget is never exceeded, whatever the budget, failures and reflection replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paretext as pt
from paretext.engine import replay
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector


class CountingProgram:
    def __init__(self, world: RuleWorld, fail_every: int) -> None:
        self.world = world
        self.fail_every = fail_every
        self.calls = 0

    def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        self.calls += 1
        idx = int(example["id"][2:])
        if self.fail_every and idx != 10 and idx % self.fail_every == 0:
            raise RuntimeError("flaky example")
        return self.world.program(candidate, example)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=st.integers(min_value=0, max_value=300),
    fail_every=st.sampled_from([0, 2, 3, 7]),
    garbage_replies=st.booleans(),
    n_val=st.integers(min_value=1, max_value=12),
    minibatch=st.integers(min_value=1, max_value=5),
    in_flight=st.integers(min_value=1, max_value=6),
    width=st.integers(min_value=1, max_value=8),
    forgets=st.booleans(),
    skip_perfect=st.booleans(),
)
def test_budget_is_never_exceeded(
    extra: int,
    fail_every: int,
    garbage_replies: bool,
    n_val: int,
    minibatch: int,
    in_flight: int,
    width: int,
    forgets: bool,
    skip_perfect: bool,
) -> None:
    world = RuleWorld(n=10 + n_val, categories=5)
    program = CountingProgram(world, fail_every)
    limit = 2 * n_val + 2 * min(10, minibatch * width) + extra  # one proposal at least
    reflector = (
        pt.ScriptedLM(lambda r: "no fences, just chatter" if r.sample % 2 else "```\nhi\n```")
        if garbage_replies
        else rule_reflector(1, keep_old=1 if forgets else None)
    )
    store = pt.InMemoryRunStore()
    result = world.optimize(
        train=10,
        program=program,
        reflection_lm=reflector,
        budget=limit,
        reflection=pt.ReflectionConfig(
            minibatch_size=minibatch, minibatches_per_proposal=width, skip_perfect=skip_perfect
        ),
        engine=pt.EngineConfig(proposals_in_flight=in_flight, fail_fast_after=n_val + 1),
        run=store,
    )
    assert result.rollouts_used <= limit
    assert program.calls <= result.rollouts_used
    # What the store replays is what the run committed, rollout for rollout.
    assert replay(store).rollouts_committed == result.rollouts_used


def test_every_failure_is_reported() -> None:
    world = RuleWorld(n=20, categories=4)
    program = CountingProgram(world, fail_every=3)

    def reply(req: ChatRequest) -> str:
        return (
            "Please provide the inputs." if req.sample % 1000 == 0 else "```\nSolve it. RULE-1\n```"
        )

    result = world.optimize(
        train=10, program=program, reflection_lm=pt.ScriptedLM(reply), budget=80
    )
    assert any(f.kind == "rollout" and "flaky example" in f.message for f in result.failures)
    # Attempt 1 always echoes the prompt; the retry (attempt 2) gives a usable reply.
    assert not [p for p in result.proposals if "echoes" in p.reason]
    assert result.proposals[0].accepted


def test_all_unusable_reflections_are_recorded_as_failures() -> None:
    result = RuleWorld(n=20, categories=4).optimize(
        train=10,
        reflection_lm=pt.ScriptedLM(lambda r: "Please provide the inputs."),
        budget=60,
        stop=pt.StopConfig(max_proposals=4),
    )
    assert len(result.proposals) == 4
    assert all("echoes the reflection prompt" in p.reason for p in result.proposals)
    assert sum(f.kind == "proposal" for f in result.failures) == 4
