from __future__ import annotations

import asyncio

import paretext as pt
from paretext._ids import ExampleId
from paretext._types import Rollout, TraceStep
from paretext.propose import ReflectionProposer


def proposer(**cfg: object) -> ReflectionProposer:
    lm = pt.ScriptedLM(lambda r: "```\nnew\n```", model="openai/gpt-4.1")
    p = ReflectionProposer(pt.ReflectionConfig(**cfg))  # type: ignore[arg-type]
    p.bind(lm, asyncio.Semaphore(1))
    return p


def test_reflective_dataset_shows_only_the_component_steps_and_truncates() -> None:
    trace = (
        TraceStep("plan", "question?", "PLAN-OUTPUT", "plan"),
        TraceStep("answer", "use plan", "ANSWER-OUTPUT " + "z" * 10_000, "answer"),
    )
    r = Rollout("h", ExampleId("e"), "final", trace, 0.0, "Wrong because of units.")
    text = proposer(max_chars_per_example=1200).render_example(1, "plan", {"q": "question?"}, r)
    assert "PLAN-OUTPUT" in text and "ANSWER-OUTPUT" not in text
    assert "Wrong because of units." in text and "Score: 0" in text
    long = proposer(max_chars_per_example=1200).render_example(1, "answer", {"q": "?"}, r)
    assert len(long) <= 1200 and "characters omitted" in long


def test_prompt_lists_rejected_attempts() -> None:
    r = Rollout("h", ExampleId("e"), "out", (), 0.0, "bad")
    prompt = proposer().build_prompt(
        "current text", "system", [{"q": 1}], [r], ["tried A", "tried B"]
    )
    assert "current text" in prompt and "already tried" in prompt and "tried B" in prompt


def test_a_retry_shows_the_unusable_reply_and_why_it_was_refused() -> None:
    requests: list[pt.ChatRequest] = []

    def reply(request: pt.ChatRequest) -> str:
        requests.append(request)
        return "```\ncurrent text\n```" if len(requests) == 1 else "```\nBetter text.\n```"

    p = ReflectionProposer(pt.ReflectionConfig(attempts=2))
    p.bind(pt.ScriptedLM(reply, model="openai/gpt-4.1"), asyncio.Semaphore(1))
    r = Rollout("h", ExampleId("e"), "out", (), 0.0, "bad")
    text = asyncio.run(p.propose_component(
        iteration=0, component="system", current="current text", examples=[{"q": 1}],
        rollouts=[r], rejected=[],
    ))
    assert text == "Better text."
    first, second = requests
    assert first.temperature is None and second.temperature == 1.0
    assert len(first.messages) == 2
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[2].content == "```\ncurrent text\n```"
    assert "repeats the current instruction unchanged" in second.messages[3].content


def test_already_evaluated_is_exact_for_one_component_and_silent_for_several() -> None:
    from paretext._ids import CandidateId, content_hash
    from paretext.propose import MutationRequest

    parent = pt.Candidate(CandidateId("c0"), {"a": "A", "b": "B"}, (), "seed", None, (), {})
    known = frozenset({content_hash({"a": "A2", "b": "B"})})
    one = MutationRequest(0, parent, ("a",), [], [], {}, (parent,), known_hashes=known)
    assert one.already_evaluated("a", "A2") and not one.already_evaluated("a", "A3")
    both = MutationRequest(0, parent, ("a", "b"), [], [], {}, (parent,), known_hashes=known)
    assert not both.already_evaluated("a", "A2")
