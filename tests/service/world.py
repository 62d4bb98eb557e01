"""The rule world spoken over HTTP: task, reflection and judge models on the fake OpenAI server.

The service's worker resolves ``openai/<model>`` strings against the server
(``OPENAI_BASE_URL``), so rounds run through the real OpenAI client:

* ``rule-task`` answers ``right`` when the system prompt holds ``RULE-<category>``
  for the category named in the user message, else ``wrong``;
* ``rule-reflector`` is :func:`paretext.testing.rule_reflector` (adds the rules the
  feedback names);
* ``rule-judge`` grades ``right`` 1 and anything else 0, quoting the user's words.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from paretext.lm import ChatRequest
from paretext.testing import rule_reflector

_CATEGORY = re.compile(r"category (\d+)")
_NEW_ANSWER = re.compile(r"A new answer:\n(.*?)\n\nHow well", re.S)
_FEEDBACK = re.compile(r"The user's feedback on it:\n(.*?)\n\nA new answer", re.S)
_REFLECTOR = rule_reflector(1)
CATEGORIES = 6


def _content(body: dict[str, Any], role: str) -> str:
    return "\n".join(m["content"] for m in body.get("messages", []) if m.get("role") == role)


def respond(body: dict[str, Any]) -> str:
    model = body.get("model", "")
    if model == "rule-task":
        found = _CATEGORY.search(_content(body, "user"))
        category = found.group(1) if found else "?"
        return "right" if f"RULE-{category}" in _content(body, "system") else "wrong"
    if model == "rule-judge":
        prompt = _content(body, "user")
        found_answer = _NEW_ANSWER.search(prompt)
        answer = found_answer.group(1) if found_answer else ""
        said = _FEEDBACK.search(prompt)
        return json.dumps(
            {
                "score": 1.0 if answer.strip() == "right" else 0.0,
                "reason": said.group(1) if said else "no feedback",
            }
        )
    if model == "rule-reflector":
        request = ChatRequest.of(body["messages"])
        return asyncio.run(_REFLECTOR.chat(request)).text
    return f"unknown model {model!r}"


def event(
    i: int, *, user: str | None = None, version: int | None = None, categories: int = CATEGORIES
) -> dict[str, Any]:
    """Feedback on a wrong answer for question ``i``: every third kind of signal."""
    category = i % categories
    words = f"Wrong. The instruction must include RULE-{category}."
    body: dict[str, Any] = {
        "id": f"q{i}" + (f"-{user}" if user else ""),
        "input": f"Question {i} (category {category})",
        "output": "wrong",
        "feedback": words,
    }
    if i % 3 == 0:
        body["corrected"] = "right"
    elif i % 3 == 2:
        body["thumbs"] = False
    if user is not None:
        body["user"] = user
    if version is not None:
        body["version"] = version
    return body


SLOT = {
    "name": "support",
    "components": {"system": "Solve it."},
    "program": {"model": "openai/rule-task", "steps": [{"component": "system"}]},
    "policy": {
        "min_new_events": 24,
        "min_events": 8,
        "round_rollouts": 200,
        "reflection_lm": "openai/rule-reflector",
        "judge_lm": "openai/rule-judge",
    },
}
