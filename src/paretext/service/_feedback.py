"""From feedback events to a dataset and a metric the engine can optimize against.

Each event becomes one example: the input fields the app rendered its prompt
with, plus what the user said about the output they saw.  The metric scores a
new output against that signal, strongest first:

* a **corrected output**: similarity to the correction (1.0 when equal);
* **free-text feedback**: an LLM judge is shown the user's words, the output they
  saw and the new one, and returns a score and a reason;
* a **score or thumbs** (1 for up, 0 for down): as given when the new output is
  the one the user rated; otherwise the rating carries over by similarity (a new
  output close to a liked one scores high, close to a disliked one low).

The feedback text always quotes the user, so reflection sees their words.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import Feedback
from ..lm import LM, ChatRequest, Message
from ._records import EventRecord

__all__ = [
    "EventMetric",
    "JudgeError",
    "event_example",
    "needs_judge",
    "parse_grade",
    "similarity",
    "split",
]

_JSON_OBJECT = re.compile(r"\{.*\}", re.S)
_JUDGE_SYSTEM = (
    "You grade answers for a user who gave feedback on an earlier answer. "
    'Reply with JSON only: {"score": a number from 0 to 1, "reason": one short sentence}.'
)
_JUDGE_FORMAT: Mapping[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "grade",
        "schema": {
            "type": "object",
            "properties": {
                "score": {"type": "number", "minimum": 0, "maximum": 1},
                "reason": {"type": "string"},
            },
            "required": ["score", "reason"],
        },
    },
}


class JudgeError(Exception):
    """The judge's reply had no usable score; the rollout fails with this message."""


def event_example(event: EventRecord) -> dict[str, Any]:
    """The example for one event: its input fields, its id, and the signal under ``event``."""
    fields = dict(event.input) if isinstance(event.input, Mapping) else {"input": event.input}
    return {
        **fields,
        "id": f"e{event.id}",
        "event": {
            "shown": event.output,
            "feedback": event.feedback,
            "score": event.score,
            "thumbs": event.thumbs,
            "corrected": event.corrected,
        },
    }


def needs_judge(events: Sequence[EventRecord]) -> bool:
    return any(e.corrected is None and e.feedback is not None for e in events)


def split(
    examples: Sequence[dict[str, Any]], holdout_fraction: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, val, holdout): the most recent events are held out to decide promotion.

    The rest is dealt into train and val in an order fixed by a hash of each id,
    so a pattern in arrival order does not put one kind of event all on one side.
    """
    n_hold = min(len(examples) - 2, max(2, round(len(examples) * holdout_fraction)))
    rest, holdout = list(examples[:-n_hold]), list(examples[-n_hold:])
    rest.sort(key=lambda e: hashlib.sha256(str(e["id"]).encode()).hexdigest())
    return rest[0::2], rest[1::2], holdout


def similarity(a: str, b: str) -> float:
    """1.0 for the same text (ignoring case and spacing), else difflib's ratio."""
    x, y = " ".join(a.split()).lower(), " ".join(b.split()).lower()
    if x == y:
        return 1.0
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()


def _said(signal: Mapping[str, Any]) -> str:
    words = signal.get("feedback")
    return (
        f' The user said about the answer they saw ({signal["shown"]!r}): "{words}"'
        if words
        else ""
    )


class EventMetric:
    """The metric of a round: ``metric(example, output) -> Feedback`` (see the module doc)."""

    def __init__(self, judge: LM | None) -> None:
        self.judge = judge

    async def __call__(self, example: Mapping[str, Any], output: Any) -> Feedback:
        signal: Mapping[str, Any] = example["event"]
        text = "" if output is None else str(output)
        if signal.get("corrected") is not None:
            ratio = similarity(text, signal["corrected"])
            return Feedback(
                ratio,
                f"The user corrected the answer to: {signal['corrected']!r}; this output matches "
                f"it {ratio:.0%}.{_said(signal)}",
            )
        if signal.get("feedback") is not None:
            if self.judge is None:
                raise JudgeError("this event has free-text feedback but no judge LM is configured")
            return await self._judge(example, text, signal)
        given = signal["score"] if signal.get("score") is not None else float(signal["thumbs"])
        sim = similarity(text, signal["shown"])
        score = given * sim + (1.0 - given) * (1.0 - sim)
        return Feedback(
            score,
            f"The user rated the answer {signal['shown']!r} {given:g} of 1; this output is "
            f"{sim:.0%} similar to it.",
        )

    async def _judge(
        self, example: Mapping[str, Any], output: str, signal: Mapping[str, Any]
    ) -> Feedback:
        assert self.judge is not None
        fields = {k: v for k, v in example.items() if k not in ("id", "event")}
        shown_input = fields["input"] if list(fields) == ["input"] else json.dumps(fields)
        prompt = (
            f"Input:\n{shown_input}\n\nThe answer the user saw:\n{signal['shown']}\n\n"
            f"The user's feedback on it:\n{signal['feedback']}\n\nA new answer:\n{output}\n\n"
            "How well does the new answer satisfy this user's feedback?"
        )
        reply = await self.judge.chat(
            ChatRequest(
                messages=(Message("system", _JUDGE_SYSTEM), Message("user", prompt)),
                temperature=0.0,
                response_format=_JUDGE_FORMAT,
            )
        )
        score, reason = parse_grade(reply.text)
        return Feedback(score, f'Judge: {reason} The user said: "{signal["feedback"]}"')


def parse_grade(text: str) -> tuple[float, str]:
    """``(score, reason)`` from the judge's reply; a score outside [0, 1] is clamped."""
    found = _JSON_OBJECT.search(text)
    try:
        data = json.loads(found.group(0) if found else text)
        score = float(data["score"])
    except (ValueError, KeyError, TypeError):
        raise JudgeError(f"the judge's reply has no JSON score: {text[:200]!r}") from None
    if score != score:  # NaN
        raise JudgeError(f"the judge's score is not a number: {text[:200]!r}")
    return min(1.0, max(0.0, score)), str(data.get("reason", "")).strip()
