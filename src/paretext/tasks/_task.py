"""The :class:`Task` record: data loader, seed prompt, user template and metric in one place.

A task is what a benchmark or a demo needs to run an optimization without any
glue code: fixed splits, a seed candidate, the user-message template for
``ChatProgram`` and a metric whose feedback says *why* an output failed.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ..errors import ConfigError

__all__ = ["Metric", "Payload", "Pools", "SplitSizes", "Task", "TaskSplits"]

#: One example as the program and the metric see it: a dict with a stable string ``id``.
Payload = dict[str, Any]
#: ``metric(example, output) -> Feedback``; scores lie in [0, 1].
Metric = Callable[[Mapping[str, Any], Any], Feedback]


@dataclass(frozen=True, slots=True)
class Pools:
    """Raw records of a task before splitting.

    ``dev`` feeds train and validation.  ``test`` is a separate held-out pool (as
    AIME is for math); when it is ``None`` the test split is carved out of ``dev``.
    """

    dev: Sequence[Mapping[str, Any]]
    test: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class SplitSizes:
    """How many examples go to each split; ``test=None`` takes every remaining example."""

    train: int
    val: int
    test: int | None = None


@dataclass(frozen=True, slots=True)
class TaskSplits:
    """Train, validation and test payloads.  Each call of :meth:`Task.load` returns fresh copies."""

    train: list[Payload]
    val: list[Payload]
    test: list[Payload]


@dataclass(frozen=True, slots=True, eq=False)
class Task:
    """A ready optimization task.

    ``source`` returns the raw records (read lazily, on the first :meth:`load`);
    ``metric(example, output)`` scores one output and explains the score;
    ``seed`` maps component names to their seed texts and ``template`` is the
    user message, formatted with ``template.format(**example)``.  ``max_tokens``
    caps the task LM's reply at what a good answer needs (``None``: no cap), so a
    rambling small model costs seconds, not minutes, per rollout.
    ``test_time=True`` marks a test-time search task: the search runs on the test
    problems themselves with their execution feedback (train and validation stay
    empty), and each problem scores the best program found for it -- the article's
    setting where every task instance comes with its own tests.

    Splits are fixed: the test split depends only on the task (never on the seed),
    so test scores from different seeds are comparable; train and validation are
    drawn from the rest with ``random.Random(f"{name}:{seed}")``.  A larger test
    split extends a smaller one (its first ``n`` examples stay the same); so does a
    larger train split while the test size is unchanged.
    Tasks compare and hash by identity.
    """

    name: str
    description: str
    seed: Mapping[str, str]
    template: str
    source: Callable[[], Pools]
    metric: Metric
    sizes: SplitSizes = SplitSizes(train=50, val=50, test=200)
    max_tokens: int | None = None
    test_time: bool = False

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name):
            raise ConfigError(f"task name {self.name!r} must be non-empty, without spaces")
        if not self.seed:
            raise ConfigError(f"task {self.name!r} needs at least one seed component")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ConfigError(f"task {self.name!r}: max_tokens must be positive or None")
        object.__setattr__(self, "seed", MappingProxyType(dict(self.seed)))

    @property
    def component(self) -> str:
        """The first seed component: the one a single-prompt ``ChatProgram`` optimizes."""
        return next(iter(self.seed))

    def load(
        self,
        seed: int = 0,
        *,
        train: int | None = None,
        val: int | None = None,
        test: int | None = None,
        sizes: SplitSizes | None = None,
    ) -> TaskSplits:
        """Fixed, seeded train/val/test splits.

        Sizes come from ``sizes`` (default: :attr:`Task.sizes`), then from any of
        ``train``/``val``/``test`` given.  ``SplitSizes(test=None)`` puts every
        example left after train and val into test (or the whole held-out pool).
        """
        base = sizes or self.sizes
        n_train = base.train if train is None else train
        n_val = base.val if val is None else val
        n_test = base.test if test is None else test
        pools = self.source()
        dev = list(pools.dev)
        taken: set[str] = set()
        if pools.test is None:
            order = _shuffled(dev, f"{self.name}:test")
            if n_test is None:
                n_test = max(len(order) - n_train - n_val, 0)
            _check_size(self.name, "test", n_test, len(order))
            test_part = order[:n_test]
            taken = {str(r["id"]) for r in test_part}
        else:
            held = _shuffled(list(pools.test), f"{self.name}:test")
            n_test = len(held) if n_test is None else n_test
            _check_size(self.name, "test", n_test, len(held))
            test_part = held[:n_test]
        # Shuffling the whole pool before dropping test keeps train stable across test sizes.
        rest = [r for r in _shuffled(dev, f"{self.name}:{seed}") if str(r["id"]) not in taken]
        _check_size(self.name, "train", n_train, len(rest))
        _check_size(self.name, "val", n_val, len(rest) - n_train)
        return TaskSplits(
            train=_copies(rest[:n_train]),
            val=_copies(rest[n_train : n_train + n_val]),
            test=_copies(test_part),
        )


def _shuffled(records: list[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    # Sorting by id first makes the order independent of how the files list records.
    ordered = sorted(records, key=lambda r: str(r["id"]))
    for before, after in itertools.pairwise(ordered):
        if str(before["id"]) == str(after["id"]):
            raise ConfigError(f"duplicate example id {str(after['id'])!r}")
    random.Random(key).shuffle(ordered)
    return ordered


def _check_size(task: str, split: str, wanted: int, available: int) -> None:
    if wanted < 0 or wanted > available:
        raise ConfigError(
            f"task {task!r}: asked for {wanted} {split} examples, but 0..{max(available, 0)} "
            "are available"
        )


def _copies(records: list[Mapping[str, Any]]) -> list[Payload]:
    return [copy.deepcopy(dict(r)) for r in records]
