"""The rule world for DSPy programs, behind a real OpenAI-compatible HTTP server.

A two-module program: ``draft`` (``ChainOfThought("question -> draft")``) then
``answer`` (``Predict("question, draft -> answer")``).  Question ``q{i}`` has
category ``i % CATEGORIES``.  The task model (an HTTP responder speaking DSPy's
chat format) writes the right draft only when the draft's instruction holds
``RULE-<category>``, and the right answer only from a right draft and when the
answer's instruction holds ``STEP-<category>``; each is worth half the score.  The
metric's feedback is
predictor-specific (``pred_name``): the draft is told its rule, the answer its
step.  The reflection responder adds one rule or step named in the feedback per
reply, and answers both paretext's reflection prompt (fenced text) and
dspy.GEPA's (JSON with ``new_instruction``).

Used by ``tests/dspy`` and ``benchmarks/vs_dspy.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import dspy

__all__ = [
    "CATEGORIES",
    "TwoStep",
    "examples",
    "metric",
    "reflection_responder",
    "task_responder",
]

CATEGORIES = 4
_FIELD = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n|\Z)", re.S)
_TOKEN = re.compile(r"\b(RULE|STEP)-(\d+)\b")
_FENCED = re.compile(r"```(?:json)?\n?(.*?)```", re.S)


class TwoStep(dspy.Module):
    """Draft with a chain of thought, then answer from the draft."""

    def __init__(self) -> None:
        super().__init__()
        self.draft = dspy.ChainOfThought("question -> draft")
        self.answer = dspy.Predict("question, draft -> answer")

    def forward(self, question: str) -> dspy.Prediction:
        draft = self.draft(question=question).draft
        return dspy.Prediction(
            draft=draft, answer=self.answer(question=question, draft=draft).answer
        )


def examples(start: int, stop: int) -> list[dspy.Example]:
    return [
        dspy.Example(question=f"q{i}", answer=f"a{i}").with_inputs("question")
        for i in range(start, stop)
    ]


def _category(question: str) -> int:
    return int(question.strip().lstrip("q")) % CATEGORIES


def metric(
    gold: Any, pred: Any, trace: Any = None, pred_name: str | None = None, pred_trace: Any = None
) -> dspy.Prediction:
    """dspy.GEPA's metric contract; the feedback depends on the predictor asked about."""
    c = _category(gold.question)
    right = str(pred.get("answer", "")).strip() == gold.answer
    drafted = str(pred.get("draft", "")).strip() == f"plan-{c}"
    score = 0.5 * drafted + 0.5 * right
    if right:
        return dspy.Prediction(score=score, feedback="Correct.")
    if pred_name is not None and pred_name.startswith("draft"):
        outputs = pred_trace[0][2] if pred_trace else {}
        if str(outputs.get("draft", "")).strip() == f"plan-{c}":
            return dspy.Prediction(score=score, feedback="The draft was right.")
        return dspy.Prediction(score=score, feedback=f"Wrong draft: it must follow RULE-{c}.")
    if pred_name == "answer":
        inputs = pred_trace[0][1] if pred_trace else {}
        if str(inputs.get("draft", "")).strip() != f"plan-{c}":
            return dspy.Prediction(score=score, feedback="The draft it was given was wrong.")
        return dspy.Prediction(score=score, feedback=f"Wrong answer: it must apply STEP-{c}.")
    return dspy.Prediction(score=score, feedback=f"Wrong: expected {gold.answer}.")


def _instruction(system: str) -> str:
    return system.split("your objective is:", 1)[-1].strip()


def task_responder() -> Any:
    """The task model: DSPy chat-format replies that follow the rule world."""

    def respond(body: dict[str, Any]) -> str:
        messages = body["messages"]
        system = messages[0]["content"]
        fields = dict(_FIELD.findall(messages[-1]["content"]))
        question = fields["question"].strip()
        c = _category(question)
        instruction = _instruction(system)
        if "`draft`" in system.split("Your output fields are:", 1)[1].split("All interactions")[0]:
            draft = f"plan-{c}" if f"RULE-{c}" in instruction else "plan-none"
            return (
                f"[[ ## reasoning ## ]]\nThinking about {question}.\n\n"
                f"[[ ## draft ## ]]\n{draft}\n\n[[ ## completed ## ]]"
            )
        n = question.lstrip("q")
        good = fields.get("draft", "").strip() == f"plan-{c}" and f"STEP-{c}" in instruction
        answer = f"a{n}" if good else "unknown"
        return f"[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"

    return respond


def _improve(current: str, feedback: str) -> str:
    have = set(_TOKEN.findall(current))
    wanted = sorted(set(_TOKEN.findall(feedback)) - have, key=lambda t: (t[0], int(t[1])))
    if not wanted:
        return current
    kind, n = wanted[0]
    return f"{current.rstrip('.')}. Apply {kind}-{n}."


def reflection_responder() -> Any:
    """The reflection model: adds the first rule or step the feedback names."""

    def respond(body: dict[str, Any]) -> str:
        messages = body["messages"]
        prompt = messages[-1]["content"]
        fields = dict(_FIELD.findall(prompt))
        if "current_instruction" in fields:  # dspy.GEPA's proposer (JSON adapter)
            current = fields["current_instruction"].strip()
            feedback = fields.get("examples_with_feedback", "")
            return json.dumps({"new_instruction": _improve(current, feedback)})
        blocks = _FENCED.findall(prompt)
        current = blocks[0].strip() if blocks else ""
        if "Version A" in prompt:  # paretext's merge synthesis: both versions' tokens
            tokens = sorted(
                set(_TOKEN.findall(blocks[0] + blocks[1])), key=lambda t: (t[0], int(t[1]))
            )
            base = _TOKEN.sub("", current).split(". Apply")[0].rstrip(". ")
            return "```\n" + base + "".join(f". Apply {k}-{n}" for k, n in tokens) + ".\n```"
        feedback = "\n".join(ln for ln in prompt.splitlines() if "Feedback" in ln)
        return f"```\n{_improve(current, feedback)}\n```"

    return respond
