"""The public entry points: ``optimize`` (sync), ``aoptimize`` (async) and ``search``.

Loose inputs (a model string, ``"light"``, a run path) become typed objects here,
once; nothing the caller passed is modified.  Everything is validated before a
single rollout or LM call is spent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ._apply import aapply, load
from ._canonical import canonical_text, to_canonical
from ._config import (
    Budget,
    EngineConfig,
    MergeConfig,
    ReflectionConfig,
    StopConfig,
    config_fingerprint,
    preset_rollouts,
)
from ._identity import code_identity
from ._ids import ExampleId
from ._progress import terminal_progress
from ._resume import OnChange, open_run_store
from ._types import Example, Result
from .engine import (
    Engine,
    EngineObserver,
    HoldoutPlan,
    ObserverGroup,
    RolloutExecutor,
    RunSpec,
    candidate_selector,
    component_selector,
    plan_holdout,
    record_selection,
    select_on_holdout,
)
from .errors import ConfigError
from .lm import LM, UsageTracker, check_usd_cap, close_loop_clients, compose_lm, resolve_lm
from .metric import Metric, as_metric
from .program import Pipeline, Program, as_program
from .propose import MutationProposer
from .store import RunStore

__all__ = [
    "aapply",
    "aoptimize",
    "apply",
    "asearch",
    "build_spec",
    "load",
    "optimize",
    "run_fingerprint",
    "run_sync",
    "search",
    "sync_twin",
]

T = TypeVar("T")
P = ParamSpec("P")
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


def _splits(trainset: Iterable[Any], valset: Iterable[Any] | None) -> tuple[list[Example], ...]:
    """Train and validation examples (validation is the train set in search mode)."""
    train = _examples(trainset, "train")
    val = train if valset is None else _examples(valset, "val")
    _check_shared_ids(train, val)
    return train, val


def _check_shared_ids(train: list[Example], val: list[Example]) -> None:
    """A shared id must mean the same example: evaluations are cached by id."""
    val_by_id = {e.id: e for e in val}
    for e in train:
        other = val_by_id.get(e.id)
        if other is not None and to_canonical(other.data) != to_canonical(e.data):
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
    budget: BudgetLike, n_train: int, n_val: int, n_components: int, reflection: ReflectionConfig
) -> Budget:
    """The one budget resolution: a preset becomes rollouts against this data."""
    if isinstance(budget, str) or (isinstance(budget, int) and not isinstance(budget, bool)):
        budget = Budget(rollouts=budget)
    elif not isinstance(budget, Budget):
        raise ConfigError(
            f"budget must be a Budget, a preset name or a rollout count, got {budget!r}"
        )
    if isinstance(budget.rollouts, str):
        # In GEPA-native units (one-minibatch proposals), whatever the search's shape.
        rollouts = preset_rollouts(budget.rollouts, n_val, n_components, reflection.minibatch_size)
        budget = replace(budget, rollouts=rollouts)
    limit = budget.rollout_limit
    if limit is not None:
        if limit < n_val:
            raise ConfigError(
                f"budget of {limit} rollouts is smaller than one validation pass "
                f"({n_val} examples)"
            )
        gate = min(n_train, reflection.minibatch_size * reflection.minibatches_per_proposal)
        one_proposal = n_val + 2 * gate + n_val
        if limit < one_proposal:
            raise ConfigError(
                f"budget of {limit} rollouts pays for the seed's validation but not for "
                f"one proposal ({2 * gate} minibatch rollouts and a validation); at least "
                f"{one_proposal} are needed (or fewer ReflectionConfig.minibatches_per_proposal)"
            )
    return budget


def _resolve_lm(lm: object, role: str) -> LM:
    if isinstance(lm, str):
        return resolve_lm(lm)
    if isinstance(lm, LM):
        return lm
    raise ConfigError(f"{role} LM must be an LM or a model string, got {type(lm).__name__}")


def _data_hash(examples: list[Example], split: str) -> str:
    """The fingerprint of a split: a canonical encoding, never ``repr`` (see ``_canonical``)."""
    encoded = [[e.id, to_canonical(e.data, f"{split}set[{i}]")] for i, e in enumerate(examples)]
    digest = hashlib.sha256(canonical_text(encoded).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


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
    on_change: OnChange = "refuse",
    branch: str | Path | None = None,
    retry_failures: bool = False,
    wait: bool = False,
) -> RunSpec:
    """The one RunSpec builder: validate and resolve every input.

    Spends nothing; touches disk only to open ``run`` (see :mod:`paretext._resume`
    for ``on_change``, ``branch`` and ``retry_failures``).
    """
    engine = engine or EngineConfig()
    reflection = reflection or ReflectionConfig()
    merge = merge or MergeConfig()
    candidate_selector(engine.selector)  # a bad name fails here, before the store opens
    component_selector(reflection.components)
    prog = as_program(program)
    met = as_metric(metric, perfect_score=engine.perfect_score)
    components = _seed(seed, prog)
    train, val = _splits(trainset, valset)
    resolved_budget = _budget(budget, len(train), len(val), len(components), reflection)
    reflection_model = _resolve_lm(reflection_lm, "reflection")
    check_usd_cap(resolved_budget.usd, [reflection_model, *_program_lms(prog)])

    # Before the store opens: data without a stable encoding is refused with nothing written.
    fingerprint = run_fingerprint(components, train, val, reflection_model.model, proposer,
                                  engine, reflection, merge)
    fingerprint["code"] = code_identity(prog, met)
    store = open_run_store(run, fingerprint, {
        "search_mode": valset is None, "n_train": len(train), "n_val": len(val),
        "rollouts_limit": resolved_budget.rollout_limit, **(run_meta or {}),
    }, on_change=on_change, branch=branch, retry_failures=retry_failures, wait=wait)
    tracker = UsageTracker()
    refl = compose_lm(reflection_model, store, tracker, role="reflection", hedge=engine.hedge)
    prog = _with_task_lm(prog, store, tracker, cache=cache_task_lm, hedge=engine.hedge)
    return RunSpec(
        seed_components=components, train=train, val=val, program=prog, metric=met,
        reflection_lm=refl, store=store, budget=resolved_budget, engine=engine,
        reflection=reflection, merge=merge, stop=stop or StopConfig(), tracker=tracker,
        search_mode=valset is None, proposer=proposer, executor=executor,
    )


def _program_lms(prog: Program) -> list[LM]:
    """The LMs a program declares (a pipeline's); a function's own LM calls are not visible."""
    return [prog.lm] if isinstance(prog, Pipeline) else []


def _with_task_lm(
    prog: Program, store: RunStore, tracker: UsageTracker, *, cache: bool, hedge: bool
) -> Program:
    """A pipeline's LM composed for the run (recorded, metered); other programs as they are."""
    if isinstance(prog, Pipeline):
        lm = compose_lm(prog.lm, store, tracker, role="task", cache=cache, hedge=hedge)
        return prog.with_lm(lm)
    return prog


def run_fingerprint(
    components: Mapping[str, str],
    train: list[Example],
    val: list[Example],
    reflection_model: str,
    proposer: MutationProposer | None,
    engine: EngineConfig,
    reflection: ReflectionConfig,
    merge: MergeConfig,
) -> dict[str, Any]:
    """What a resumed run must share with the stored one: everything that decides results.

    Speed-only settings (``concurrency``, ``hedge``, the executor) and the hang guard
    (``rollout_timeout``) are left out, so they may change: recorded rollouts replay anyway.
    """
    return {
        "seed": dict(components),
        "train": _data_hash(train, "train"),
        "val": _data_hash(val, "val"),
        "reflection_lm": reflection_model,
        "proposer": type(proposer).__name__ if proposer is not None else "ReflectionProposer",
        "config": {
            "EngineConfig": _without(engine, "concurrency", "hedge", "rollout_timeout"),
            **config_fingerprint(reflection, merge),
        },
    }


def _without(cfg: EngineConfig, *fields: str) -> dict[str, Any]:
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
    progress: bool = False,
    cache_task_lm: bool = True,
    run_meta: Mapping[str, Any] | None = None,
    proposer: MutationProposer | None = None,
    executor: RolloutExecutor | None = None,
    on_change: OnChange = "refuse",
    branch: str | Path | None = None,
    retry_failures: bool = False,
    wait: bool = False,
    holdout: int | float | None = None,
    holdout_candidates: int = 4,
) -> Result:
    """Optimize the ``seed`` components of ``program`` for ``metric``.

    ``valset=None`` runs test-time search on ``trainset``.  ``run`` names a
    directory holding the SQLite run store: running again with the same path,
    settings and code resumes exactly, paying for nothing already recorded.
    When the program or the metric changed, the run is refused unless
    ``on_change="fresh"`` (start over), ``branch=NEW_RUN`` (a new run reusing
    what still applies) or ``on_change="replay_anyway"``; ``retry_failures``
    reruns recorded failures.  ``observer`` follows the run (an
    :class:`EngineObserver`); ``progress=True`` shows a live bar on a terminal
    (nothing when stderr is not one).  ``run_meta`` is stored with the run (the
    CLI keeps what it needs to resume).  ``proposer`` replaces GEPA's reflective
    mutation (baselines use this seam); ``executor`` runs the rollouts elsewhere
    (it never changes results).  Only one process may write a run: another one
    writing ``run`` is an error naming it (``RunLocked``), unless ``wait=True``
    queues behind it.
    ``holdout`` (a count, or a fraction of ``valset``) keeps that many validation
    examples out of the search; the returned ``best`` is then the one of
    ``holdout_candidates`` contenders (the search's best and the frontier's next
    best) that scores highest on them, and ``Result.selection`` says how it was
    chosen.  Their rollouts come out of ``budget``.
    """
    plan = None
    if holdout is not None:
        if valset is None:
            raise ConfigError("holdout needs a valset: test-time search has no held-out data")
        engine_cfg = engine or EngineConfig()
        plan = plan_holdout(_examples(valset, "val"), holdout, candidates=holdout_candidates,
                            seed=engine_cfg.seed)
        valset = [e.data for e in plan.search]
        trainset = [e.data for e in _examples(trainset, "train")]  # read once, even an iterator
        budget = _budget_less(budget, plan, len(trainset), len(_seed(seed, as_program(program))),
                              reflection or ReflectionConfig())
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
        on_change=on_change,
        branch=branch,
        retry_failures=retry_failures,
        wait=wait,
    )
    bar = terminal_progress() if progress else None
    try:
        result = await Engine(spec, ObserverGroup([o for o in (observer, bar) if o])).run()
        if plan is None:
            return result
        selected = await select_on_holdout(spec, result, plan)
        await asyncio.to_thread(record_selection, spec.store, selected)
        return selected
    except BaseException:
        if bar is not None:
            bar.close(failed=True)
        raise
    finally:
        if run is not None and not isinstance(run, RunStore):
            spec.store.close()


def _budget_less(
    budget: BudgetLike, plan: HoldoutPlan, n_train: int, n_components: int,
    reflection: ReflectionConfig,
) -> Budget:
    """The search's budget: the caller's, less the rollouts the final selection needs."""
    resolved = _budget(budget, n_train, len(plan.search), n_components, reflection)
    limit = resolved.rollout_limit
    if limit is None:
        return resolved
    if limit - plan.reserve < 1:
        raise ConfigError(
            f"budget of {limit} rollouts cannot pay for the held-out selection "
            f"({plan.candidates} candidates x {len(plan.held)} examples = {plan.reserve})"
        )
    return replace(resolved, rollouts=limit - plan.reserve)


async def asearch(
    seed: Mapping[str, str] | str,
    program: Program | Callable[..., Any],
    metric: Callable[..., Any] | Metric,
    tasks: Iterable[Any],
    *,
    reflection_lm: LM | str,
    budget: BudgetLike = "light",
    run: str | Path | RunStore | None = None,
    engine: EngineConfig | None = None,
    reflection: ReflectionConfig | None = None,
    merge: MergeConfig | None = None,
    stop: StopConfig | None = None,
    observer: EngineObserver | None = None,
    progress: bool = False,
    cache_task_lm: bool = True,
    run_meta: Mapping[str, Any] | None = None,
    proposer: MutationProposer | None = None,
    executor: RolloutExecutor | None = None,
    on_change: OnChange = "refuse",
    branch: str | Path | None = None,
    retry_failures: bool = False,
    wait: bool = False,
) -> Result:
    """Test-time search: optimize on ``tasks`` themselves and keep the best output per task."""
    return await aoptimize(
        seed, program, metric, tasks, None, reflection_lm=reflection_lm, budget=budget, run=run,
        engine=engine, reflection=reflection, merge=merge, stop=stop, observer=observer,
        progress=progress, cache_task_lm=cache_task_lm, run_meta=run_meta, proposer=proposer,
        executor=executor, on_change=on_change, branch=branch, retry_failures=retry_failures,
        wait=wait,
    )


def sync_twin(fn: Callable[P, Coroutine[Any, Any, T]], name: str) -> Callable[P, T]:
    """The sync twin of ``fn``: the same typed signature, run to completion on its own loop."""

    @functools.wraps(fn)
    def twin(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(fn(*args, **kwargs))

    twin.__name__ = twin.__qualname__ = name
    twin.__doc__ = f"The sync twin of :func:`{fn.__name__}` (same arguments).\n\n{fn.__doc__}"
    return twin


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a loop of its own (in a thread when called from a running loop).

    What it opened on that loop (LM connections) is closed there, so the program
    stays usable from any later loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on_own_loop(coro)
    # Called from inside a running loop (a notebook): run on a private loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run_on_own_loop, coro).result()


def _run_on_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` whose worker threads (sync programs and metrics) never hold up the exit.

    A sync program that blocks forever cannot be killed; after its rollout timed out, or
    after a second Ctrl-C, its thread is abandoned instead of joined.
    """

    async def main() -> T:
        asyncio.get_running_loop().set_default_executor(_DaemonExecutor())
        try:
            return await coro
        finally:
            await close_loop_clients()  # on the loop that opened them: usable from later loops

    return asyncio.run(main())


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """One daemon thread per call: nothing to join at shutdown or at interpreter exit.

    (A ``ThreadPoolExecutor`` only because asyncio accepts no other default executor;
    its pool is never used.)
    """

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=work, name="paretext-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons."""


optimize = sync_twin(aoptimize, "optimize")
apply = sync_twin(aapply, "apply")
search = sync_twin(asearch, "search")
