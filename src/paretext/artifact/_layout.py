"""How an artifact optimization maps onto the engine's candidates and examples.

Three modes, one engine:

- ``single``: one artifact, no tasks.  One example (``artifact``); the engine
  runs as test-time search on it.
- ``batch``: one artifact per task.  A candidate holds one component per task
  (named by the task id) and task ``t``'s evaluation reads only component ``t``,
  so the per-instance Pareto frontier keeps each task's best artifact, a
  mutation rewrites the artifact of its minibatch's task, and a merge combines
  artifacts improved in different lineages, component by component.
- ``generalize``: one shared artifact (one text or several components) for
  every task, trained on ``tasks`` and validated on ``valset``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError

__all__ = ["SINGLE_ID", "Layout", "Mode", "task_id"]

Mode = Literal["single", "batch", "generalize"]

#: The id of the one example of single-artifact mode.
SINGLE_ID = "artifact"


def task_id(task: Any, index: int) -> str:
    """A task's id: its ``id`` key or attribute, else ``task-<index>``."""
    raw = task.get("id") if isinstance(task, Mapping) else getattr(task, "id", None)
    return str(raw) if raw is not None else f"task-{index}"


def _ids(tasks: Sequence[Any], split: str) -> list[str]:
    ids = [task_id(t, i) for i, t in enumerate(tasks)]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(f"{split} has two tasks with id {dup!r}")
    return ids


def _listed(items: Iterable[Any] | None, split: str) -> list[Any] | None:
    if items is None:
        return None
    if isinstance(items, str | bytes | Mapping):
        raise ConfigError(f"{split} must be a sequence of tasks, got {type(items).__name__}")
    listed = list(items)
    if not listed:
        raise ConfigError(f"{split} is empty: give at least one task (or tasks=None)")
    return listed


@dataclass(frozen=True)
class Layout:
    """The resolved mode: seed components, the engine's examples, and who reads what."""

    mode: Mode
    seed: Mapping[str, str]
    #: The seed was one string (the evaluator then receives strings, not mappings).
    text_seed: bool
    train: tuple[Mapping[str, Any], ...]
    val: tuple[Mapping[str, Any], ...] | None
    tasks: Mapping[str, Any]

    @staticmethod
    def resolve(
        seed: str | Mapping[str, str],
        tasks: Iterable[Any] | None,
        valset: Iterable[Any] | None,
        mode: Mode | None,
    ) -> Layout:
        train = _listed(tasks, "tasks")
        val = _listed(valset, "valset")
        if mode is None:
            mode = "single" if train is None else "generalize" if val is not None else "batch"
        if mode not in ("single", "batch", "generalize"):
            raise ConfigError(f"unknown mode {mode!r}; choose single, batch or generalize")
        _check_seed(seed)
        if mode == "single":
            if train is not None or val is not None:
                raise ConfigError("single-artifact mode takes no tasks or valset")
            components = {"artifact": seed} if isinstance(seed, str) else dict(seed)
            example = {"id": SINGLE_ID, "task": None}
            return Layout(mode, components, isinstance(seed, str), (example,), None,
                          {SINGLE_ID: None})
        if train is None:
            raise ConfigError(f"{mode} mode needs tasks")
        ids = _ids(train, "tasks")
        wrapped = tuple({"id": i, "task": t} for i, t in zip(ids, train, strict=True))
        by_id: dict[str, Any] = dict(zip(ids, train, strict=True))
        if mode == "batch":
            if val is not None:
                raise ConfigError(
                    "batch mode optimizes one artifact per task on the tasks themselves; "
                    "valset belongs to generalize mode"
                )
            if isinstance(seed, str):
                components = dict.fromkeys(ids, seed)
            else:
                missing = sorted(set(ids) - set(seed))
                extra = sorted(set(seed) - set(ids))
                if missing or extra:
                    raise ConfigError(
                        "in batch mode the seed maps each task id to its artifact; "
                        f"missing {missing}, unknown {extra}"
                    )
                components = {i: seed[i] for i in ids}
            return Layout(mode, components, True, wrapped, None, by_id)
        components = {"artifact": seed} if isinstance(seed, str) else dict(seed)
        val_wrapped: tuple[Mapping[str, Any], ...] | None = None
        if val is not None:
            val_ids = _ids(val, "valset")
            val_wrapped = tuple({"id": i, "task": t} for i, t in zip(val_ids, val, strict=True))
            by_id.update(zip(val_ids, val, strict=True))
        return Layout(mode, components, isinstance(seed, str), wrapped, val_wrapped, by_id)

    def reads(self, example: Mapping[str, Any]) -> tuple[str, ...]:
        """The components the evaluation of ``example`` depends on."""
        if self.mode == "batch":
            return (str(example["id"]),)
        return tuple(self.seed)

    def artifact_for(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> Any:
        """What the user's evaluator receives as the candidate for ``example``."""
        if self.mode == "batch":
            return candidate[str(example["id"])]
        if self.text_seed:
            return candidate["artifact"]
        return dict(candidate)

    def meta(self) -> dict[str, Any]:
        """Stored with the run, so reports know the mode and which task each component is."""
        return {"mode": self.mode, "tasks": list(self.tasks), "components": list(self.seed)}


def _check_seed(seed: Any) -> None:
    if isinstance(seed, str):
        if not seed.strip():
            raise ConfigError("the seed artifact is empty")
        return
    if not isinstance(seed, Mapping) or not seed:
        raise ConfigError("seed must be a text or a non-empty mapping of name to text")
    for name, text in seed.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise ConfigError(f"seed entries must map names to texts, got {name!r}: {text!r}")
