"""The case study: the kernel batch as artifact tasks, and four methods compared on it.

Methods, each given the same number of LM-written kernels (proposals):

- ``seed``: the naive kernels themselves (no LM);
- ``best_of_n``: fresh rewrites of each seed at temperature 1, no feedback; the
  gate keeps the best per kernel (the ``best_of_n`` baseline's engine settings);
- ``self_refine``: each kernel alone, refined from its own feedback, current
  best only, no Pareto, no merge, no transfer (``greedy_reflective`` settings);
- ``paretext``: batch mode: the Pareto frontier over kernels, merge, and the
  changes that helped one kernel shown when rewriting the others (``gepa``).

Every method's final kernels are measured again at the end, so the speed-ups
reported are not the lucky draw that made the search keep a kernel.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from ..._types import Feedback
from ...artifact import ArtifactProposer, ArtifactResult, Layout, aoptimize_artifact
from ...baselines import get_baseline
from ...engine import EngineObserver
from ...errors import ConfigError
from ...lm import LM
from ._evaluate import C_FLAGS, KernelRun, kernel_feedback, run_c_kernel
from ._specs import KERNELS, get_kernel

__all__ = [
    "KERNEL_OBJECTIVE",
    "METHODS",
    "Method",
    "MethodRun",
    "StudyConfig",
    "evaluate_c",
    "kernel_seeds",
    "kernel_tasks",
    "run_method",
]

Method = Literal["seed", "best_of_n", "self_refine", "paretext"]
METHODS: tuple[Method, ...] = ("seed", "best_of_n", "self_refine", "paretext")

KERNEL_OBJECTIVE = (
    "Write a faster version of this C function that gives the same results for every size. "
    "Plain C only (no intrinsics, no OpenMP): a better algorithm, cache-friendly loop order, "
    "several independent accumulators, restrict pointers, less repeated work. Keep the exact "
    "signature and the includes it needs; no main()."
)
_BASELINE: Mapping[Method, str] = {
    "best_of_n": "best_of_n",
    "self_refine": "greedy_reflective",
    "paretext": "gepa",
}


def _compiler() -> str:
    return "gcc " + " ".join(C_FLAGS)


def kernel_tasks(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The batch as artifact tasks: ``id`` (the kernel) and the ``description`` shown to the LM."""
    specs = [get_kernel(n) for n in names] if names else list(KERNELS)
    return [{"id": s.name, "description": s.description(_compiler())} for s in specs]


def kernel_seeds(names: Sequence[str] | None = None) -> dict[str, str]:
    """Each kernel's seed: its naive reference."""
    specs = [get_kernel(n) for n in names] if names else list(KERNELS)
    return {s.name: s.reference for s in specs}


def evaluate_c(code: str, task: Mapping[str, Any]) -> Feedback:
    """The evaluator of the C batch: compile, check, time (see :func:`run_c_kernel`)."""
    return kernel_feedback(run_c_kernel(code, get_kernel(str(task["id"]))))


def _tallied(written: Counter[str]) -> Callable[[str, Mapping[str, Any]], Feedback]:
    """``evaluate_c`` that also counts how each LM-written (non-seed) kernel fared."""

    def evaluate(code: str, task: Mapping[str, Any]) -> Feedback:
        spec = get_kernel(str(task["id"]))
        run = run_c_kernel(code, spec)
        if code != spec.reference:
            written[run.status] += 1
        return kernel_feedback(run)

    return evaluate


@dataclass(frozen=True, slots=True)
class StudyConfig:
    """One comparison: the kernels, the LM-written kernels each method gets, the writer."""

    kernels: tuple[str, ...] = tuple(k.name for k in KERNELS)
    proposals: int = 8
    max_tokens: int = 400
    attempts: int = 1
    final_reps: int = 31

    def __post_init__(self) -> None:
        if self.proposals < 1:
            raise ConfigError("StudyConfig.proposals must be >= 1")
        for name in self.kernels:
            get_kernel(name)


@dataclass(frozen=True, slots=True)
class MethodRun:
    """One method on the batch with one seed: per-kernel final measurements and the costs."""

    method: Method
    seed: int
    kernels: Mapping[str, KernelRun]
    codes: Mapping[str, str]
    proposals: int
    accepted: int
    lm_calls: int
    evaluations: int
    wall_s: float
    transfers: tuple[Mapping[str, Any], ...] = field(default=())
    #: How the kernels the LM wrote fared: evaluations by status (ok, wrong, compile_error...).
    written: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "seed": self.seed,
            "proposals": self.proposals,
            "accepted": self.accepted,
            "lm_calls": self.lm_calls,
            "evaluations": self.evaluations,
            "wall_s": round(self.wall_s, 1),
            "kernels": {k: r.to_dict() for k, r in self.kernels.items()},
            "codes": dict(self.codes),
            "transfers": list(self.transfers),
            "written": dict(self.written),
        }


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _settings(method: Method, seed: int, cfg: StudyConfig) -> dict[str, Any]:
    kwargs = get_baseline(_BASELINE[method]).optimize_kwargs(
        engine=EngineConfig(seed=seed, concurrency=1, proposals_in_flight=1),
        reflection=ReflectionConfig(max_tokens=cfg.max_tokens, attempts=cfg.attempts),
        merge=MergeConfig(max_merges=3),
    )
    kwargs.pop("proposer")  # the artifact proposer below writes code instead of instructions
    return kwargs


def _proposer(method: Method, cfg: StudyConfig) -> Callable[[Layout], ArtifactProposer]:
    def make(layout: Layout) -> ArtifactProposer:
        common: dict[str, Any] = {
            "objective": KERNEL_OBJECTIVE,
            "kind": "C kernels",
            "lang": "c",
            "max_tokens": cfg.max_tokens,
            "attempts": cfg.attempts,
        }
        if method == "best_of_n":
            return ArtifactProposer(layout, feedback=False, transfer=0, source="seed",
                                    temperature=1.0, **common)
        return ArtifactProposer(layout, transfer=2 if method == "paretext" else 0, **common)

    return make


async def _optimize(
    method: Method,
    seed: int,
    cfg: StudyConfig,
    lm: LM,
    kernels: Sequence[str],
    proposals: int,
    run: str | None,
    observer: EngineObserver | None,
    written: Counter[str],
) -> ArtifactResult:
    # Self-refinement runs each kernel alone: batch mode over one task, so there is no
    # other task to learn from and the prompt is the same as paretext's minus transfer.
    tasks = kernel_tasks(kernels)
    n_tasks = len(kernels)
    return await aoptimize_artifact(
        kernel_seeds(kernels),
        _tallied(written),
        tasks=tasks,
        mode="batch",
        reflection_lm=lm,
        budget=Budget(rollouts=n_tasks + (proposals + 4) * (n_tasks + 2) * 2),
        stop=StopConfig(max_proposals=proposals, handle_signals=False),
        observer=observer,
        run=run,
        max_parallel_evaluations=1,
        proposer=_proposer(method, cfg),
        run_meta={"study": {"method": method, "seed": seed}},
        **_settings(method, seed, cfg),
    )


def _reason_calls(result: ArtifactResult) -> int:
    return sum(u.calls for u in result.result.usage)


async def run_method(
    method: Method,
    seed: int,
    lm: LM | None,
    cfg: StudyConfig | None = None,
    *,
    run_dir: str | None = None,
    observer: Callable[[str], EngineObserver | None] | None = None,
) -> MethodRun:
    """Run ``method`` on the batch with ``seed``, then re-measure its final kernels."""
    cfg = cfg or StudyConfig()
    started = time.monotonic()
    names = list(cfg.kernels)
    codes = kernel_seeds(names)
    proposals = accepted = lm_calls = evaluations = 0
    transfers: list[Mapping[str, Any]] = []
    written: Counter[str] = Counter()
    if method != "seed":
        if lm is None:
            raise ConfigError(f"method {method!r} needs an LM")
        groups = [[n] for n in names] if method == "self_refine" else [names]
        shares = _split(cfg.proposals, len(groups))
        for group, share in zip(groups, shares, strict=True):
            if share == 0:
                continue
            label = f"{method}-s{seed}" + (f"-{group[0]}" if method == "self_refine" else "")
            out = await _optimize(
                method, seed, cfg, lm, group, share,
                None if run_dir is None else f"{run_dir}/{label}",
                observer(label) if observer else None,
                written,
            )
            for name in group:
                best = out.best
                codes[name] = best[name] if isinstance(best, Mapping) else best
            proposals += len([p for p in out.result.proposals if p.kind == "mutation"])
            accepted += sum(p.accepted for p in out.result.proposals)
            lm_calls += _reason_calls(out)
            evaluations += out.evaluations
            transfers += [
                {"source": t.source, "from": t.source_task, "target": t.target,
                 "to": t.target_task, "lines": list(t.lines), "gain": round(t.gain, 3)}
                for t in out.transfers
            ]
    final = {
        name: await asyncio.to_thread(run_c_kernel, codes[name], get_kernel(name),
                                      reps=cfg.final_reps)
        for name in names
    }
    return MethodRun(method, seed, final, codes, proposals, accepted, lm_calls, evaluations,
                     time.monotonic() - started, tuple(transfers), dict(written))


def summarize(runs: Sequence[MethodRun], kernels: Sequence[str]) -> list[dict[str, Any]]:
    """Per method and kernel: correct runs out of seeds, and the speed-ups (geometric mean)."""
    rows: list[dict[str, Any]] = []
    for method in METHODS:
        mine = [r for r in runs if r.method == method]
        if not mine:
            continue
        row: dict[str, Any] = {"method": method, "seeds": len(mine), "kernels": {}}
        for name in kernels:
            finals = [r.kernels[name] for r in mine]
            speeds = [k.speedup for k in finals if k.correct and k.speedup]
            row["kernels"][name] = {
                "correct": sum(k.correct for k in finals),
                "speedups": [None if not k.correct else k.speedup for k in finals],
                "geomean": _geomean(speeds) if speeds else None,
            }
        all_speeds = [
            k.speedup if k.correct and k.speedup else 1.0  # a wrong kernel falls back to the seed
            for r in mine for k in r.kernels.values()
        ]
        row["geomean_with_fallback"] = _geomean(all_speeds)
        written: Counter[str] = Counter()
        for r in mine:
            written.update(r.written)
        row["written"] = dict(written)
        row["lm_calls"] = statistics.mean(r.lm_calls for r in mine)
        row["evaluations"] = statistics.mean(r.evaluations for r in mine)
        row["wall_s"] = statistics.mean(r.wall_s for r in mine)
        rows.append(row)
    return rows


def _geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def markdown_table(rows: Sequence[Mapping[str, Any]], kernels: Sequence[str]) -> str:
    """Per kernel: correct seeds / speed-up (geometric mean over them); then the geometric
    mean over every kernel and seed, LM calls per run, and how the written kernels fared."""
    head = (
        "| method | " + " | ".join(kernels)
        + " | all kernels | LM calls | LM-written kernels: correct / wrong / no compile / crash |"
    )
    sep = "|---" * (len(kernels) + 4) + "|"
    lines = [head, sep]
    for row in rows:
        cells = []
        for name in kernels:
            k = row["kernels"][name]
            speed = "–" if k["geomean"] is None else f"{k['geomean']:.2f}x"
            cells.append(f"{k['correct']}/{row['seeds']} {speed}")
        w = row["written"]
        fates = "–" if not w else (
            f"{w.get('ok', 0)} / {w.get('wrong', 0)} / "
            f"{w.get('compile_error', 0) + w.get('link_error', 0)} / "
            f"{w.get('crashed', 0) + w.get('timeout', 0)}"
        )
        lines.append(
            f"| {row['method']} | " + " | ".join(cells)
            + f" | {row['geomean_with_fallback']:.2f}x | {row['lm_calls']:.1f} | {fates} |"
        )
    return "\n".join(lines)

