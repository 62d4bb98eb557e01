"""A scripted world where one task's fix helps the others (for the artifact API's tests).

An artifact is lines of text; task ``t`` is solved by the line ``use <trick>``
for each trick it needs.  Every task needs the shared trick ``vectorize``, but
only the ``discoverer`` task's feedback names it; the others only say they are
slow.  Each task's own trick is named in its own feedback.  The scripted
writer adds the tricks named in the feedback it is shown and copies the ``+``
lines of any transfer diff: so only transfer can solve a non-discoverer task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import paretext as pt
from paretext.lm import ChatRequest, ScriptedLM

SHARED = "vectorize"
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)


def tasks(names: tuple[str, ...] = ("a", "b", "c")) -> list[dict[str, Any]]:
    return [
        {"id": n, "description": f"Task {n}.", "own": f"trick-{n}", "discoverer": i == 0}
        for i, n in enumerate(names)
    ]


def evaluate(artifact: str, task: Mapping[str, Any]) -> pt.Feedback:
    have = set(re.findall(r"^use (\S+)$", artifact, re.M))
    need = [task["own"], SHARED]
    done = [t for t in need if t in have]
    missing = [t for t in need if t not in have]
    sections: dict[str, str] = {}
    if task["own"] in missing:
        sections["hint"] = f"add the line: use {task['own']}"
    if SHARED in missing:
        sections["profile"] = (
            f"add the line: use {SHARED}" if task["discoverer"] else "the inner loop is slow"
        )
    score = len(done) / len(need)
    return pt.Feedback(score, "solved" if not missing else "not yet",
                       objectives={"done": float(len(done))}, sections=sections)


def writer() -> ScriptedLM:
    def respond(request: ChatRequest) -> str:
        prompt = request.messages[1].content  # the first ask, also on a retry
        current = _FENCE.findall(prompt)[0].strip()
        lines = current.splitlines()
        for trick in re.findall(r"add the line: use (\S+)", prompt):
            if f"use {trick}" not in lines:
                lines.append(f"use {trick}")
        for diff in re.findall(r"```diff\n(.*?)```", prompt, re.S):
            for line in diff.splitlines():
                if line.startswith("+") and line[1:].startswith("use ") and line[1:] not in lines:
                    lines.append(line[1:])
        return "```\n" + "\n".join(lines) + "\n```"

    return ScriptedLM(respond, model="scripted-writer")
