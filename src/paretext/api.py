"""The public entry points: ``optimize`` (sync), ``aoptimize`` (async) and ``search``.

Loose inputs (a model string, ``"light"``, a run path) become typed objects here,
once; nothing the caller passed is modified.  Everything is validated before a
single rollout or LM call is spent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ._config import (
    Budget,
    EngineConfig,
    MergeConfig,
    ReflectionConfig,
    StopConfig,
    config_fingerprint,
)
from ._ids import ExampleId, canonical_json
from ._types import Example, Result
from .engine import Engine, EngineObserver, RolloutExecutor, RunSpec
from .errors import ConfigError
from .lm._base import LM
from .lm._cache import CachedLM
from .lm._usage import MeteredLM, UsageTracker
from .metric import Metric, as_metric
from .program import Pipeline, Program, as_program
from .propose import MutationProposer
from .store import RunStore, open_store

__all__ = ["aoptimize", "asearch", "optimize", "search"]

T = TypeVar("T")
BudgetLike = Budget | str | int


def _examples(items: Iterable[Any], split: str) -> list[Example]:
    if isinstance(items, str | bytes | Mapping):
        raise ConfigError(f"{split}set must be a sequence of examples, got {type(items).__name__}")
    try:
        listed = list(items)
    except TypeError:
        raise ConfigError(
            f"{split}set must be a sequence of examples, got {type(items).__name__}"
        ) from None
    if not listed:
        raise ConfigError(f"{split}set is empty: paretext needs at least one example")
    out: list[Example] = []
    seen: set[str] = set()
    for i, item in enumerate(listed):
        raw = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
        ex_id = str(raw) if raw is not None else f"{split}-{i}"
        if ex_id in seen:
            raise ConfigError(f"{split}set has two examples with id {ex_id!r}")
        seen.add(ex_id)
        out.append(Example(ExampleId(ex_id), item))
    return out


def _check_shared_ids(train: list[Example], val: list[Example]) -> None:
    """A shared id must mean the same example: evaluations are cached by id."""
    val_by_id = {e.id: e for e in val}
    for e in train:
        other = val_by_id.get(e.id)
        if other is not None and canonical_json(other.data) != canonical_json(e.data):
            raise ConfigError(
                f"trainset and valset both have an example with id {e.id!r} but different contents"
            )


def _seed(seed: Mapping[str, str] | str, program: Program) -> dict[str, str]:
    if isinstance(seed, str):
        declared = program.uses_components()
        name = next(iter(declared)) if declared and len(declared) == 1 else "instruction"
        seed = {name: seed}
    if not isinstance(seed, Mapping) or not seed:
        raise ConfigError("seed must be a non-empty mapping of component name to text")
    for name, text in seed.items():
        if not isinstance(name, str):
            raise TypeError(f"component names must be strings, got {name!r}")
        if not isinstance(text, str):
            raise TypeError(f"component {name!r} must be a string, got {type(text).__name__}")
    needed = program.uses_components()
    missing = sorted((needed or frozenset()) - set(seed))
    if missing:
        raise ConfigError(f"the program reads components {missing} that the seed does not define")
    return dict(seed)


def _budget(
    budget: BudgetLike, n_val: int, n_components: int, reflection: ReflectionConfig
) -> Budget:
    if isinstance(budget, Budget):
        resolved = budget
    elif isinstance(budget, str):
        resolved = Budget.preset(
            budget, n_val=n_val, n_components=n_components, minibatch_size=reflection.minibatch_size
        )
    elif isinstance(budget, int) and not isinstance(budget, bool):
        resolved = Budget(rollouts=budget)
    else:
        raise ConfigError(
            f"budget must be a Budget, a preset name or a rollout count, got {budget!r}"
        )
    if resolved.rollouts is not None:
        if resolved.rollouts < n_val:
            raise ConfigError(
                f"budget of {resolved.rollouts} rollouts is smaller than one validation pass "
                f"({n_val} examples)"
            )
        one_proposal = n_val + 2 * reflection.minibatch_size + n_val
        if resolved.rollouts < one_proposal:
            raise ConfigError(
                f"budget of {resolved.rollouts} rollouts pays for the seed's validation but "
                "not for "
                f"one proposal; at least {one_proposal} are needed"
            )
    return resolved


def _resolve_lm(lm: LM | str, role: str) -> LM:
    if isinstance(lm, LM):
        return lm
    if isinstance(lm, str):
        from .lm import resolve_lm  # the provider factory; imported lazily

        return resolve_lm(lm)
    raise ConfigError(f"{role} LM must be an LM or a model string, got {type(lm).__name__}")


def _data_hash(examples: list[Example]) -> str:
    payload = canonical_json([[e.id, e.data] for e in examples])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_spec(
    seed: Mapping[str, str] | str,
    program: Program | Callable[..., Any],
    metric: Callable[..., Any] | Metric,
    trainset: Iterable[Any],
    valset: Iterable[Any] | None,
    *,
    reflection_lm: LM | str,
    budget: BudgetLike = "light",
    run: str | Path | RunStore | None = None,
    engine: EngineConfig | None = None,
    reflection: ReflectionConfig | None = None,
    merge: MergeConfig | None = None,
    stop: StopConfig | None = None,
    cache_task_lm: bool = True,
    run_meta: Mapping[str, Any] | None = None,
    proposer: MutationProposer | None = None,
    executor: RolloutExecutor | None = None,
) -> RunSpec:
    """Validate and resolve every input; spends nothing, touches disk only to open ``run``."""
    engine = engine or EngineConfig()
    reflection = reflection or ReflectionConfig()
    merge = merge or MergeConfig()
    stop = stop or StopConfig()
    prog = as_program(program)
    met = as_metric(metric, perfect_score=engine.perfect_score)
    components = _seed(seed, prog)
    train = _examples(trainset, "train")
    search_mode = valset is None
    val = train if valset is None else _examples(valset, "val")
    _check_shared_ids(train, val)
    resolved_budget = _budget(budget, len(val), len(components), reflection)
    reflection_model = _resolve_lm(reflection_lm, "reflection")

    store = open_store(run)
    tracker = UsageTracker()
    refl = MeteredLM(
        CachedLM(reflection_model, store, role="reflection"), tracker, role="reflection"
    )
    if isinstance(prog, Pipeline):
        task_lm = CachedLM(prog.lm, store, role="task", enabled=cache_task_lm)
        prog = prog.with_lm(MeteredLM(task_lm, tracker, role="task"))
    fingerprint = {
        "seed": components,
        "train": _data_hash(train),
        "val": _data_hash(val),
        "reflection_lm": reflection_model.model,
        "proposer": type(proposer).__name__ if proposer is not None else "ReflectionProposer",
        "config": {
            "EngineConfig": _without(engine, "concurrency"),
            **config_fingerprint(reflection, merge),
        },
    }
    meta = {
        "search_mode": search_mode,
        "n_train": len(train),
        "n_val": len(val),
        **(run_meta or {}),
    }
    store.open_run(fingerprint, meta)
    return RunSpec(
        seed_components=components,
        train=train,
        val=val,
        program=prog,
        metric=met,
        reflection_lm=refl,
        store=store,
        budget=resolved_budget,
        engine=engine,
        reflection=reflection,
        merge=merge,
        stop=stop,
        tracker=tracker,
        search_mode=search_mode,
        proposer=proposer,
        executor=executor,
    )


def _without(cfg: EngineConfig, *fields: str) -> dict[str, Any]:
    """Settings that change only speed (like ``concurrency``) may differ on resume."""
    data = config_fingerprint(cfg)["EngineConfig"]
    return {k: v for k, v in data.items() if k not in fields}


async def aoptimize(
    seed: Mapping[str, str] | str,
    program: Program | Callable[..., Any],
    metric: Callable[..., Any] | Metric,
    trainset: Iterable[Any],
    valset: Iterable[Any] | None = None,
    *,
    reflection_lm: LM | str,
    budget: BudgetLike = "light",
    run: str | Path | RunStore | None = None,
    engine: EngineConfig | None = None,
    reflection: ReflectionConfig | None = None,
    merge: MergeConfig | None = None,
    stop: StopConfig | None = None,
    observer: EngineObserver | None = None,
    cache_task_lm: bool = True,
    run_meta: Mapping[str, Any] | None = None,
    proposer: MutationProposer | None = None,
    executor: RolloutExecutor | None = None,
) -> Result:
    """Optimize the ``seed`` components of ``program`` for ``metric``.

    ``valset=None`` runs test-time search on ``trainset``.  ``run`` names a
    directory holding the SQLite run store: running again with the same path
    and settings resumes exactly, paying for nothing already recorded.
    ``run_meta`` is stored with the run (the CLI keeps what it needs to resume).
    ``proposer`` replaces GEPA's reflective mutation (baselines use this seam).
    ``executor`` runs the rollouts elsewhere, e.g. ``paretext.ray.RayExecutor`` on a
    cluster; like ``concurrency`` it never changes results, so it may differ on resume.
    """
    spec = build_spec(
        seed,
        program,
        metric,
        trainset,
        valset,
        reflection_lm=reflection_lm,
        budget=budget,
        run=run,
        engine=engine,
        reflection=reflection,
        merge=merge,
        stop=stop,
        cache_task_lm=cache_task_lm,
        run_meta=run_meta,
        proposer=proposer,
        executor=executor,
    )
    try:
        return await Engine(spec, observer).run()
    finally:
        if run is not None and not isinstance(run, RunStore):
            spec.store.close()


def optimize(*args: Any, **kwargs: Any) -> Result:
    """The sync twin of :func:`aoptimize` (same arguments)."""
    return _run_sync(aoptimize(*args, **kwargs))


async def asearch(
    seed: Mapping[str, str] | str,
    program: Program | Callable[..., Any],
    metric: Callable[..., Any] | Metric,
    tasks: Iterable[Any],
    **kwargs: Any,
) -> Result:
    """Test-time search: optimize on ``tasks`` themselves and keep the best output per task."""
    return await aoptimize(seed, program, metric, tasks, None, **kwargs)


def search(*args: Any, **kwargs: Any) -> Result:
    """The sync twin of :func:`asearch`."""
    return _run_sync(asearch(*args, **kwargs))


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running loop (a notebook): run on a private loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
