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


def test_the_reflection_sees_what_the_program_read_never_the_label_and_each_output_once() -> None:
    """A date question with its gold answer in the example: the program reads the question
    only, so the reflection prompt holds no answer and no id unless the feedback says it."""
    prompts: list[str] = []

    def reflect(request: pt.ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return "```\nAnswer with a date as MM/DD/YYYY.\n```"

    task = pt.ScriptedLM(lambda r: "04/18/1985", model="task")
    examples = [
        {"id": 160 + i, "question": f"What day was it {i} days before 04/18/1985?",
         "answer": f"04/{17 - i:02d}/1985"}
        for i in range(4)
    ]

    def metric(example: dict[str, object], output: str) -> pt.Feedback:
        right = output == example["answer"]
        # The metric puts the label into the feedback for the first example only.
        says = f" The answer is {example['answer']}." if example["id"] == 160 else ""
        return pt.Feedback(float(right), ("Correct." if right else "Wrong date.") + says)

    pt.optimize(
        {"system": "Answer the question."},
        pt.ChatProgram(task, template="{question}"),
        metric,
        examples,
        examples,
        reflection_lm=pt.ScriptedLM(reflect),
        budget=40,
        stop=pt.StopConfig(max_proposals=1),
        reflection=pt.ReflectionConfig(minibatch_size=4, minibatches_per_proposal=1),
    )
    (prompt,) = prompts
    assert "What day was it 1 days before 04/18/1985?" in prompt  # what the program read
    assert '"id"' not in prompt and '"answer"' not in prompt and "160" not in prompt
    assert "The answer is 04/17/1985." in prompt  # where the metric chose to put a label
    for ex in examples[1:]:
        assert str(ex["answer"]) not in prompt
    assert prompt.count("04/18/1985") - prompt.count("before 04/18/1985") == 4  # once each
    assert "Assistant's answer" not in prompt


def test_declared_inputs_keep_a_function_programs_label_out_of_the_prompt() -> None:
    program = pt.FunctionProgram(lambda c, ex: "OUT-1", inputs=("question",))
    out = asyncio.run(program.run({"system": "s"}, {"id": 7, "question": "q?", "answer": "a"}))
    (step,) = out.trace
    assert step.inputs == {"question": "q?"}
    r = Rollout("h", ExampleId("e"), "OUT-1", out.trace, 0.0, "wrong")
    text = proposer().render_example(1, "system", {"id": 7, "question": "q?", "answer": "a"}, r)
    assert "q?" in text and "answer" not in text and "7" not in text
    assert text.count("OUT-1") == 1  # the output once
