"""The benchmark: optimizers x tasks x seeds at one rollout budget, on the same engine.

Each (task, optimizer, seed) is one stored run under ``OUT/runs``; running the
same benchmark again resumes every run from its store (a finished run costs
nothing).  After each optimization the best candidate is scored on the task's
test split, which no optimizer sees; the seed prompt is scored there too, once
per task, as the reference row.
"""

from __future__ import annotations

import asyncio
import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import Budget, EngineConfig, ReflectionConfig, StopConfig
from ..engine import EngineObserver
from ..errors import ConfigError
from ..lm import LM, CachedLM, resolve_lm
from ..program import ChatProgram
from ._evaluate import HeldOutScore, evaluate_candidate

if TYPE_CHECKING:
    from .._types import Proposal, Result
    from ..engine import RunSnapshot
    from ..tasks import Task

__all__ = [
    "QUICK",
    "BenchConfig",
    "BenchObserver",
    "BenchResult",
    "RunRecord",
    "SummaryRow",
    "arun_bench",
    "run_bench",
    "summarize",
    "with_overrides",
]

SEED_ROW = "seed"


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to compare and at which budget.  Split sizes ``None`` take the task's defaults."""

    optimizers: tuple[str, ...] = (
        "gepa", "gepa_no_merge", "greedy_reflective", "opro", "best_of_n", "bootstrap_fewshot",
    )
    tasks: tuple[str, ...] = ("gsm8k",)
    seeds: tuple[int, ...] = (0, 1, 2)
    budget: int = 300
    train: int | None = None
    val: int | None = None
    test: int | None = None
    task_lm: str = "local"
    reflection_lm: str = "local"
    task_max_tokens: int | None = None
    reflection_max_tokens: int | None = 400
    reflection_chars_per_example: int = 1500
    proposals_in_flight: int = 2
    concurrency: int = 8
    minutes_per_run: float | None = None

    def __post_init__(self) -> None:
        from ..baselines import BASELINES

        for name in self.optimizers:
            if name not in BASELINES:
                raise ConfigError(f"unknown optimizer {name!r}; choose from {', '.join(BASELINES)}")
        if not self.optimizers or not self.tasks or not self.seeds:
            raise ConfigError("a benchmark needs at least one optimizer, task and seed")
        if self.budget < 1:
            raise ConfigError("the rollout budget must be positive")

    def reply_cap(self, task: Task) -> int | None:
        """``task_max_tokens``, or the task's own cap when it is ``None``."""
        return task.max_tokens if self.task_max_tokens is None else self.task_max_tokens


#: ``paretext bench --quick``: sized to finish within about 45 minutes on 2 CPU cores with
#: the bundled models (0.5B task LM answering BoolQ in about a second, 1.5B reflection LM at
#: ~40 s per proposal): four optimizers, one seed, 200 rollouts each, search capped at 7
#: minutes per run, 60 test examples.  It touches both claims of the article -- feedback
#: (gepa) against scores only (opro) and blind resampling (best_of_n); Pareto (gepa) against
#: greedy selection -- but one seed is far too few to settle either: read it as a smoke test.
QUICK = BenchConfig(
    optimizers=("gepa", "greedy_reflective", "opro", "best_of_n"),
    tasks=("boolq",),
    seeds=(0,),
    budget=200,
    train=30,
    val=20,
    test=60,
    reflection_lm="local/qwen2.5-coder-1.5b",
    reflection_max_tokens=300,
    concurrency=4,
    minutes_per_run=7.0,
)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One (task, optimizer, seed): what it found, its held-out score and what it cost."""

    task: str
    optimizer: str
    seed: int
    test_score: float
    test_n: int
    test_failures: int
    test_scores: tuple[float, ...]
    val_seed: float | None
    val_best: float | None
    rollouts_used: int
    rollouts_limit: int | None
    wall_s: float
    eval_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    proposals: int
    accepted: int
    stop_reason: str
    best: Mapping[str, str]
    curve: tuple[tuple[int, float], ...]
    run_path: str | None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Mean over seeds for one (task, optimizer); ``test_std`` is the sample std (0 for one)."""

    task: str
    optimizer: str
    seeds: int
    test_mean: float
    test_std: float
    val_best: float | None
    rollouts: float
    wall_s: float
    tokens: float
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class BenchResult:
    config: BenchConfig
    runs: tuple[RunRecord, ...]
    summary: tuple[SummaryRow, ...]
    started: str
    seconds: float
    machine: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "config": asdict(self.config),
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "machine": dict(self.machine),
            "summary": [asdict(r) for r in self.summary],
            "runs": [
                {**asdict(r), "best": dict(r.best), "curve": [list(p) for p in r.curve],
                 "test_scores": list(r.test_scores)}
                for r in self.runs
            ],
        }

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        return path


class BenchObserver(EngineObserver):
    """Keeps the run's last snapshot, for its best score against rollouts spent."""

    def __init__(self, forward: EngineObserver | None = None) -> None:
        self.last: RunSnapshot | None = None
        self.forward = forward or EngineObserver()

    @property
    def curve(self) -> list[tuple[int, float]]:
        """(rollouts committed, best validation score) after each commit."""
        commits = () if self.last is None else self.last.commits
        return [(c.rollouts, c.best_score) for c in commits]

    def on_start(self, rollout_limit: int | None) -> None:
        self.last = None
        self.forward.on_start(rollout_limit)

    def on_rollouts(self, snapshot: RunSnapshot) -> None:
        self.forward.on_rollouts(snapshot)

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        self.last = snapshot
        self.forward.on_commit(snapshot, proposal)

    def on_finish(self, result: Result) -> None:
        self.forward.on_finish(result)

    def on_abort(self, status: str, error: str) -> None:
        self.forward.on_abort(status, error)


#: Called as ``(event, info)``: "run_start", "run_end", "seed_eval" -- for progress displays.
Reporter = Callable[[str, Mapping[str, Any]], None]
#: Makes the engine observer of one run (e.g. a progress bar), or ``None`` for none.
ObserverFactory = Callable[[str, str, int, int], EngineObserver | None]


def _usage(result: Result) -> tuple[int, int, float | None]:
    prompt = sum(u.prompt_tokens for u in result.usage)
    completion = sum(u.completion_tokens for u in result.usage)
    costs = [u.cost_usd for u in result.usage]
    cost = None if any(c is None for c in costs) else math.fsum(c for c in costs if c is not None)
    return prompt, completion, cost


async def _one_run(
    config: BenchConfig,
    task: Task,
    optimizer: str,
    seed: int,
    splits: Any,
    task_lm: LM,
    reflection_lm: LM,
    out: Path | None,
    observer: EngineObserver | None,
    reference: RunRecord | None = None,
) -> RunRecord:
    from ..api import aoptimize
    from ..baselines import get_baseline
    from ..store import RunStore, open_store

    baseline = get_baseline(optimizer)
    run_dir = None if out is None else out / "runs" / task.name / f"{optimizer}-s{seed}"
    store: RunStore = open_store(run_dir)
    try:
        program = ChatProgram(
            task_lm, component=task.component, template=task.template,
            temperature=0.0, max_tokens=config.reply_cap(task),
        )
        reflection = ReflectionConfig(
            max_tokens=config.reflection_max_tokens,
            max_chars_per_example=config.reflection_chars_per_example,
        )
        engine = EngineConfig(
            seed=seed, concurrency=config.concurrency,
            proposals_in_flight=config.proposals_in_flight,
        )
        kwargs = baseline.optimize_kwargs(engine=engine, reflection=reflection)
        tracking = BenchObserver(observer)
        started = time.monotonic()
        result = await aoptimize(
            dict(task.seed), program, task.metric, splits.train, splits.val,
            reflection_lm=reflection_lm,
            budget=Budget(rollouts=config.budget, minutes=config.minutes_per_run),
            run=store,
            stop=StopConfig(handle_signals=False),
            observer=tracking,
            run_meta={"bench": {"task": task.name, "optimizer": optimizer, "seed": seed}},
            **kwargs,
        )
        wall = time.monotonic() - started
        started = time.monotonic()
        if reference is not None and dict(result.best.components) == dict(reference.best):
            # Nothing beat the seed: its test score is the reference row's (same split, same
            # deterministic task LM), so it is not paid for again.
            held = HeldOutScore(reference.test_scores, reference.test_failures)
        else:
            cached = program.with_lm(CachedLM(task_lm, store, role="task"))
            held = await evaluate_candidate(
                cached, task.metric, result.best.components, splits.test,
                concurrency=config.concurrency,
            )
        eval_s = time.monotonic() - started
    finally:
        store.close()
    prompt, completion, cost = _usage(result)
    seed_candidate = result.candidates[0]
    return RunRecord(
        task=task.name, optimizer=optimizer, seed=seed,
        test_score=held.mean, test_n=len(held.scores), test_failures=held.failures,
        test_scores=held.scores, val_seed=seed_candidate.score, val_best=result.best.score,
        rollouts_used=result.rollouts_used, rollouts_limit=result.rollouts_limit,
        wall_s=round(wall, 2), eval_s=round(eval_s, 2),
        prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost,
        proposals=len(result.proposals), accepted=sum(p.accepted for p in result.proposals),
        stop_reason=result.stop_reason, best=dict(result.best.components),
        curve=tuple(tracking.curve), run_path=result.run_path,
    )


async def _seed_row(
    config: BenchConfig, task: Task, splits: Any, task_lm: LM, out: Path | None
) -> RunRecord:
    """The seed prompt on the test split: the reference every optimizer should beat."""
    from ..store import open_store

    store = open_store(None if out is None else out / "runs" / task.name / "seed-test")
    try:
        store.open_run({"bench": "seed-test", "task": task.name, "seed": dict(task.seed)}, {})
        program = ChatProgram(
            CachedLM(task_lm, store, role="task"), component=task.component,
            template=task.template, temperature=0.0, max_tokens=config.reply_cap(task),
        )
        started = time.monotonic()
        held = await evaluate_candidate(
            program, task.metric, dict(task.seed), splits.test, concurrency=config.concurrency
        )
        eval_s = time.monotonic() - started
        store.finish({"test_score": held.mean, "test_n": len(held.scores)})
        location = store.location
    finally:
        store.close()
    return RunRecord(
        task=task.name, optimizer=SEED_ROW, seed=0,
        test_score=held.mean, test_n=len(held.scores), test_failures=held.failures,
        test_scores=held.scores, val_seed=None, val_best=None, rollouts_used=0, rollouts_limit=None,
        wall_s=0.0, eval_s=round(eval_s, 2), prompt_tokens=0, completion_tokens=0, cost_usd=0.0,
        proposals=0, accepted=0, stop_reason="", best=dict(task.seed), curve=(),
        run_path=location,
    )


def summarize(runs: Sequence[RunRecord]) -> tuple[SummaryRow, ...]:
    """Mean ± sample std over seeds per (task, optimizer), in first-seen order."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        groups.setdefault((r.task, r.optimizer), []).append(r)
    rows = []
    for (task, opt), rs in groups.items():
        tests = [r.test_score for r in rs]
        vals = [r.val_best for r in rs if r.val_best is not None]
        costs = [r.cost_usd for r in rs]
        rows.append(SummaryRow(
            task=task, optimizer=opt, seeds=len(rs),
            test_mean=statistics.fmean(tests),
            test_std=statistics.stdev(tests) if len(tests) > 1 else 0.0,
            val_best=statistics.fmean(vals) if vals else None,
            rollouts=statistics.fmean(r.rollouts_used for r in rs),
            wall_s=statistics.fmean(r.wall_s for r in rs),
            tokens=statistics.fmean(r.prompt_tokens + r.completion_tokens for r in rs),
            cost_usd=None if any(c is None for c in costs)
            else math.fsum(c for c in costs if c is not None),
        ))
    return tuple(rows)


async def arun_bench(
    config: BenchConfig,
    out: Path | None = None,
    *,
    task_lm: LM | None = None,
    reflection_lm: LM | None = None,
    tasks: Mapping[str, Task] | None = None,
    observers: ObserverFactory | None = None,
    report: Reporter | None = None,
    on_record: Callable[[BenchResult], None] | None = None,
) -> BenchResult:
    """Run every (task, seed, optimizer); LMs and tasks default to resolving ``config``'s names.

    ``on_record`` gets the result so far after each run (to write partial outputs).
    """
    from ..tasks import get_task

    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.monotonic()
    tlm = task_lm or resolve_lm(config.task_lm)
    rlm = reflection_lm or resolve_lm(config.reflection_lm)
    say = report or (lambda event, info: None)
    runs: list[RunRecord] = []
    total = len(config.tasks) * len(config.seeds) * len(config.optimizers)
    index = 0

    def result() -> BenchResult:
        return BenchResult(
            config=config, runs=tuple(runs), summary=summarize(runs), started=started_at,
            seconds=time.monotonic() - started,
            machine={"python": platform.python_version(), "platform": platform.platform(),
                     "task_lm": tlm.model, "reflection_lm": rlm.model},
        )

    for task_name in config.tasks:
        task = (tasks or {}).get(task_name) or get_task(task_name)
        reference = task.load(0, train=config.train, val=config.val, test=config.test)
        say("seed_eval", {"task": task_name, "examples": len(reference.test)})
        seed_row = await _seed_row(config, task, reference, tlm, out)
        runs.append(seed_row)
        say("seed_done", {"task": task_name, "test_score": seed_row.test_score})
        for seed in config.seeds:
            # Splits are a pure function of the seed, and nothing below mutates them.
            splits = reference if seed == 0 else task.load(
                seed, train=config.train, val=config.val, test=config.test
            )
            for optimizer in config.optimizers:
                index += 1
                say("run_start", {"task": task_name, "optimizer": optimizer, "seed": seed,
                                  "index": index, "total": total})
                observer = observers(task_name, optimizer, seed, index) if observers else None
                record = await _one_run(
                    config, task, optimizer, seed, splits, tlm, rlm, out, observer, seed_row
                )
                runs.append(record)
                say("run_end", {"record": record, "index": index, "total": total})
                if on_record is not None:
                    on_record(result())
    return result()


def run_bench(config: BenchConfig, out: Path | None = None, **kwargs: Any) -> BenchResult:
    """The sync twin of :func:`arun_bench`."""
    return asyncio.run(arun_bench(config, out, **kwargs))


def with_overrides(config: BenchConfig, **changes: Any) -> BenchConfig:
    """``config`` with the given fields replaced, ignoring those set to ``None``."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
