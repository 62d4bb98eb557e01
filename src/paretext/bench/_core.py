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
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import Budget, EngineConfig, ReflectionConfig, StopConfig
from .._ids import ExampleId
from ..engine import EngineObserver
from ..errors import ConfigError
from ..lm import LM, CachedLM, resolve_lm
from ..program import ChatProgram
from ._evaluate import HeldOutScore, evaluate_candidate
from ._stats import bootstrap_interval, compare

if TYPE_CHECKING:
    from .._types import Proposal, Result
    from ..engine import RunSnapshot
    from ..tasks import Task, TaskSplits

__all__ = [
    "QUICK",
    "BenchConfig",
    "BenchObserver",
    "BenchResult",
    "ComparisonRow",
    "RunRecord",
    "SummaryRow",
    "arun_bench",
    "command",
    "comparisons",
    "read_runs",
    "run_bench",
    "solved_per_problem",
    "summarize",
    "with_overrides",
]

SEED_ROW = "seed"


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to compare and at which budget.  Split sizes ``None`` take the task's defaults;
    ``problems`` is the number of problems a test-time search task searches (its test split);
    ``holdout`` keeps that part of each validation set out of the search to choose the
    returned candidate (:func:`paretext.optimize`'s ``holdout``).
    """

    optimizers: tuple[str, ...] = (
        "gepa", "gepa_no_merge", "greedy_reflective", "opro", "best_of_n", "bootstrap_fewshot",
    )
    tasks: tuple[str, ...] = ("gsm8k",)
    seeds: tuple[int, ...] = (0, 1, 2)
    budget: int = 300
    train: int | None = None
    val: int | None = None
    test: int | None = None
    problems: int | None = None
    task_lm: str = "local"
    reflection_lm: str = "local"
    task_max_tokens: int | None = None
    reflection_max_tokens: int | None = 400
    reflection_chars_per_example: int = 1500
    #: ``None``: :class:`ReflectionConfig`'s default.  At a few dozen rollouts, ``1`` (GEPA's
    #: one reflection on one minibatch) affords several proposals where the default affords one.
    minibatches_per_proposal: int | None = None
    proposals_in_flight: int = 2
    concurrency: int = 8
    minutes_per_run: float | None = None
    holdout: int | float | None = None

    def __post_init__(self) -> None:
        from ..baselines import BASELINES

        for name in self.optimizers:
            if name not in BASELINES:
                raise ConfigError(f"unknown optimizer {name!r}; choose from {', '.join(BASELINES)}")
        if not self.optimizers or not self.tasks or not self.seeds:
            raise ConfigError("a benchmark needs at least one optimizer, task and seed")
        if self.budget < 1:
            raise ConfigError("the rollout budget must be positive")

    def splits(self, task: Task, seed: int) -> TaskSplits:
        """The task's splits at this seed; a test-time search task searches ``problems``."""
        if task.test_time:
            return task.load(seed, train=0, val=0, test=self.problems)
        return task.load(seed, train=self.train, val=self.val, test=self.test)

    def reply_cap(self, task: Task) -> int | None:
        """``task_max_tokens``, or the task's own cap when it is ``None``."""
        return task.max_tokens if self.task_max_tokens is None else self.task_max_tokens


#: ``paretext bench --quick``: 3 seeds of gepa and best_of_n on one QA task (BoolQ) and one
#: test-time search on code (MBPP, 10 problems searched), 40 rollouts each with one minibatch
#: per proposal, the search capped at a minute per run, the bundled 0.5B model as both task
#: and reflection LM on llama.cpp's batched server: 12 runs sized for under 20 minutes on 2
#: cores.  It checks the pipeline and the article's claims (1) and (4) at a size where only
#: large effects show; the statistics say which differences it cannot tell apart.
QUICK = BenchConfig(
    optimizers=("gepa", "best_of_n"),
    tasks=("boolq", "mbpp_search"),
    seeds=(0, 1, 2),
    budget=40,
    train=15,
    val=10,
    test=20,
    problems=10,
    reflection_lm="local",
    reflection_max_tokens=300,
    minibatches_per_proposal=1,
    concurrency=8,
    minutes_per_run=1.0,
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
    """Mean over seeds for one (task, optimizer).

    ``test_low``/``test_high`` bound the 95% bootstrap interval of the test mean
    (seeds and test examples resampled, :func:`~paretext.bench.bootstrap_interval`);
    ``test_std`` is the sample std over seeds (0 for one).  ``val_seed`` and
    ``val_best`` are the mean validation scores of the seed and the returned
    candidate, beside the test score so that overfitting shows.
    """

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
    test_low: float = 0.0
    test_high: float = 0.0
    val_seed: float | None = None


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """A against B on one task's test examples, paired by seed and example."""

    task: str
    a: str
    b: str
    difference: float
    low: float
    high: float
    wins: int
    losses: int
    ties: int
    sign_p: float
    verdict: str


@dataclass(frozen=True, slots=True)
class BenchResult:
    config: BenchConfig
    runs: tuple[RunRecord, ...]
    summary: tuple[SummaryRow, ...]
    started: str
    seconds: float
    machine: Mapping[str, Any] = field(default_factory=dict)
    comparisons: tuple[ComparisonRow, ...] = ()
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "config": asdict(self.config),
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "machine": dict(self.machine),
            "command": self.command,
            "summary": [asdict(r) for r in self.summary],
            "comparisons": [asdict(c) for c in self.comparisons],
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
        if config.minibatches_per_proposal is not None:
            reflection = replace(
                reflection, minibatches_per_proposal=config.minibatches_per_proposal
            )
        engine = EngineConfig(
            seed=seed, concurrency=config.concurrency,
            proposals_in_flight=config.proposals_in_flight,
        )
        kwargs = baseline.optimize_kwargs(engine=engine, reflection=reflection)
        tracking = BenchObserver(observer)
        started = time.monotonic()
        # A test-time search task searches on the test problems themselves (valset=None).
        trainset, valset = (splits.test, None) if task.test_time else (splits.train, splits.val)
        result = await aoptimize(
            dict(task.seed), program, task.metric, trainset, valset,
            reflection_lm=reflection_lm,
            budget=Budget(rollouts=config.budget, minutes=config.minutes_per_run),
            run=store,
            stop=StopConfig(handle_signals=False),
            observer=tracking,
            run_meta={"bench": {"task": task.name, "optimizer": optimizer, "seed": seed}},
            holdout=None if task.test_time else config.holdout,
            **kwargs,
        )
        wall = time.monotonic() - started
        started = time.monotonic()
        if task.test_time:
            held = solved_per_problem(result, splits.test)
        elif reference is not None and dict(result.best.components) == dict(reference.best):
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


def solved_per_problem(result: Result, problems: Sequence[Any]) -> HeldOutScore:
    """Test-time search's score: each problem's best score over every candidate validated on it.

    Read from the run state (the best candidate per instance), in ``problems`` order; task
    payloads carry their example id under ``"id"``.
    """
    by_id = {c.id: c for c in result.candidates}
    scores = []
    for problem in problems:
        ex = ExampleId(str(problem["id"]))
        holder = result.best_candidate_per_instance.get(ex)
        scores.append(0.0 if holder is None else by_id[holder].val_scores.get(ex, 0.0))
    return HeldOutScore(tuple(scores), 0)


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


def read_runs(path: Path) -> tuple[RunRecord, ...]:
    """The runs of a written ``bench.json``, to recompute its summary and comparisons."""
    data = json.loads(path.read_text())
    names = {f.name for f in fields(RunRecord)}
    return tuple(
        RunRecord(**{
            **{k: v for k, v in run.items() if k in names},
            "test_scores": tuple(run["test_scores"]),
            "curve": tuple(tuple(p) for p in run["curve"]),
        })
        for run in data["runs"]
    )


def _groups(runs: Sequence[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    """Runs per (task, optimizer) in first-seen order, each sorted by seed."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        groups.setdefault((r.task, r.optimizer), []).append(r)
    return {key: sorted(rs, key=lambda r: r.seed) for key, rs in groups.items()}


def _table(rs: Sequence[RunRecord]) -> list[tuple[float, ...]] | None:
    """Seeds x test examples, or None when the runs did not score the same examples."""
    if not rs or not rs[0].test_scores or len({len(r.test_scores) for r in rs}) != 1:
        return None
    return [r.test_scores for r in rs]


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def summarize(runs: Sequence[RunRecord]) -> tuple[SummaryRow, ...]:
    """Mean, 95% bootstrap interval and sample std over seeds per (task, optimizer)."""
    rows = []
    for (task, opt), rs in _groups(runs).items():
        tests = [r.test_score for r in rs]
        table = _table(rs)
        interval = bootstrap_interval(table) if table else None
        costs = [r.cost_usd for r in rs]
        rows.append(SummaryRow(
            task=task, optimizer=opt, seeds=len(rs),
            test_mean=statistics.fmean(tests),
            test_std=statistics.stdev(tests) if len(tests) > 1 else 0.0,
            test_low=interval.low if interval else min(tests),
            test_high=interval.high if interval else max(tests),
            val_seed=_mean([r.val_seed for r in rs]),
            val_best=_mean([r.val_best for r in rs]),
            rollouts=statistics.fmean(r.rollouts_used for r in rs),
            wall_s=statistics.fmean(r.wall_s for r in rs),
            tokens=statistics.fmean(r.prompt_tokens + r.completion_tokens for r in rs),
            cost_usd=None if any(c is None for c in costs)
            else math.fsum(c for c in costs if c is not None),
        ))
    return tuple(rows)


def comparisons(runs: Sequence[RunRecord]) -> tuple[ComparisonRow, ...]:
    """Every optimizer against the seed prompt, then every pair of optimizers, per task.

    Paired by seed and test example (:func:`~paretext.bench.compare`); a verdict other
    than ``tied`` means the 95% interval of the difference excludes zero.
    """
    out: list[ComparisonRow] = []
    groups = _groups(runs)
    for task in dict.fromkeys(t for t, _ in groups):
        names = [o for t, o in groups if t == task]
        pairs = [(o, SEED_ROW) for o in names if o != SEED_ROW]
        optimizers = [o for o in names if o != SEED_ROW]
        pairs += [(a, b) for i, a in enumerate(optimizers) for b in optimizers[i + 1:]]
        for a, b in pairs:
            ta, tb = _table(groups[(task, a)]), _table(groups[(task, b)])
            seeds_a = [r.seed for r in groups[(task, a)]]
            seeds_b = [r.seed for r in groups[(task, b)]]
            if ta is None or tb is None or len(ta[0]) != len(tb[0]):
                continue
            if b != SEED_ROW and seeds_a != seeds_b:
                continue  # unpaired seeds (a partial bench): no paired comparison
            c = compare(ta, tb)
            out.append(ComparisonRow(
                task=task, a=a, b=b, difference=c.difference.mean, low=c.difference.low,
                high=c.difference.high, wins=c.wins, losses=c.losses, ties=c.ties,
                sign_p=c.sign_p, verdict=c.verdict,
            ))
    return tuple(out)


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
            config=config, runs=tuple(runs), summary=summarize(runs),
            comparisons=comparisons(runs), command=command(config), started=started_at,
            seconds=time.monotonic() - started,
            machine={"python": platform.python_version(), "platform": platform.platform(),
                     "task_lm": tlm.model, "reflection_lm": rlm.model},
        )

    for task_name in config.tasks:
        task = (tasks or {}).get(task_name) or get_task(task_name)
        reference = config.splits(task, 0)
        say("seed_eval", {"task": task_name, "examples": len(reference.test)})
        seed_row = await _seed_row(config, task, reference, tlm, out)
        runs.append(seed_row)
        say("seed_done", {"task": task_name, "test_score": seed_row.test_score})
        for seed in config.seeds:
            # Splits are a pure function of the seed, and nothing below mutates them.
            splits = reference if seed == 0 else config.splits(task, seed)
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


#: ``paretext bench`` flags and the BenchConfig fields they set.
_FLAGS = (
    ("optimizers", "optimizers"), ("tasks", "tasks"), ("seeds", "seeds"), ("budget", "budget"),
    ("train", "train"), ("val", "val"), ("test", "test"), ("problems", "problems"),
    ("task-lm", "task_lm"),
    ("reflection-lm", "reflection_lm"), ("max-tokens", "task_max_tokens"),
    ("minutes-per-run", "minutes_per_run"), ("concurrency", "concurrency"),
    ("holdout", "holdout"), ("minibatches", "minibatches_per_proposal"),
)


def command(config: BenchConfig) -> str:
    """The ``paretext bench`` command line that reruns ``config`` (output directory aside)."""
    defaults = BenchConfig()
    parts = ["paretext bench"]
    for flag, name in _FLAGS:
        value = getattr(config, name)
        if value is not None and value != getattr(defaults, name):
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
            parts.append(f"--{flag} {shown}")
    return " ".join(parts)


def with_overrides(config: BenchConfig, **changes: Any) -> BenchConfig:
    """``config`` with the given fields replaced, ignoring those set to ``None``."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
