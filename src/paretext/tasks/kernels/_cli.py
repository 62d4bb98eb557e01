"""``paretext optimize-artifact``: artifacts and the kernel case study from the command line.

``run FILE`` optimizes the artifact a Python file defines (``seed``, ``evaluate``,
optionally ``tasks``, ``valset``, ``kind``, ``lang``, ``objective``); ``kernels``
runs one method on the kernel batch; both show the live progress bar and write
the HTML report.  ``compare`` runs the four methods over seeds and writes
``kernels.json`` and ``kernels.md`` (the table the README quotes).
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ...errors import ConfigError
from ._evaluate import C_FLAGS
from ._specs import KERNELS
from ._study import METHODS, Method, MethodRun, StudyConfig, markdown_table, run_method, summarize

__all__ = ["cli"]

DEFAULT_LM = "local/qwen2.5-coder-1.5b"

cli = typer.Typer(
    name="optimize-artifact",
    help="Optimize artifacts with their evaluator: the C kernel case study.",
    no_args_is_help=True,
    add_completion=False,
)

KernelsOpt = Annotated[
    str,
    typer.Option("--kernels", "-k", help="Comma-separated kernel names (default: all)."),
]
LmOpt = Annotated[
    str,
    typer.Option("--reflection-lm", "-m", help="The model writing kernels (any model string)."),
]
ProposalsOpt = Annotated[
    int,
    typer.Option("--proposals", "-n", min=1, help="LM-written kernels each method gets."),
]
TokensOpt = Annotated[
    int, typer.Option("--max-tokens", min=32, help="Longest reply, in tokens.")
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU threads of a local model (default: all)."),
]


def _kernels(value: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    return names or tuple(k.name for k in KERNELS)


async def _nothing() -> None:
    return None


def _method(name: str) -> Method:
    if name not in METHODS:
        raise _fail(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return name


def _fail(message: str) -> typer.Exit:
    typer.echo(f"paretext: error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _displays(quiet: bool) -> Iterator[Any]:
    """A factory of one progress display per run; each closed when the next starts."""
    from ..._progress import make_observer

    with ExitStack() as stack:

        def make(label: str) -> Any:
            stack.close()
            if not quiet:
                Console(stderr=True).print(f"[bold]{label}[/bold]")
            return stack.enter_context(make_observer("quiet" if quiet else "rich"))

        yield make


def _lm(model: str, threads: int | None = None) -> tuple[Any, Callable[[], Awaitable[None]]]:
    """The writer, and how to close its connections.

    ``threads`` sets a local model's CPU threads before it loads: on a machine shared with
    other work, one thread per model avoids llama.cpp's threads waiting on each other.
    """
    from ...lm import LocalLM, resolve_lm

    lm = resolve_lm(model)
    client = getattr(lm, "client", None)
    if threads is not None and isinstance(client, LocalLM):
        client.n_threads = threads
    close = getattr(lm, "aclose", None)

    async def aclose() -> None:
        if close is not None:
            await close()

    return lm, aclose


@cli.command("run")
def run_command(
    source: Annotated[Path, typer.Argument(help="A Python file defining seed and evaluate.")],
    reflection_lm: LmOpt = DEFAULT_LM,
    budget: Annotated[int, typer.Option("--budget", "-b", min=1, help="Rollouts.")] = 100,
    proposals: Annotated[
        int | None, typer.Option("--proposals", "-n", min=1, help="Stop after this many.")
    ] = None,
    run: Annotated[
        Path | None, typer.Option("--run", "-r", help="Run directory (rerun = resume).")
    ] = None,
    threads: ThreadsOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Optimize the artifact defined in SOURCE with its evaluator; print the best one."""
    import runpy

    from ..._config import StopConfig
    from ..._progress import make_observer
    from ...artifact import ArtifactResult, aoptimize_artifact
    from ...report import write_report

    if not source.is_file():
        raise _fail(f"{source} does not exist")
    names = runpy.run_path(str(source), run_name="__paretext_artifact__")
    missing = [n for n in ("seed", "evaluate") if n not in names]
    if missing:
        raise _fail(f"{source} must define {', '.join(missing)} (and may define tasks, valset)")
    optional = {k: names[k] for k in ("tasks", "valset", "kind", "lang", "objective") if k in names}
    target = run or Path("runs") / f"{source.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    lm, aclose = _lm(reflection_lm, threads)

    async def main(observer: Any) -> ArtifactResult:
        try:
            return await aoptimize_artifact(
                names["seed"], names["evaluate"], reflection_lm=lm, budget=budget, run=target,
                stop=StopConfig(max_proposals=proposals), observer=observer, **optional,
            )
        finally:
            await aclose()

    try:
        with make_observer("quiet" if quiet else "rich") as observer:
            out = asyncio.run(main(observer))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    for task, best in out.per_task.items():
        typer.echo(f"== {task}: score {best.score:.3f} ({best.candidate})")
        typer.echo(best.artifact if isinstance(best.artifact, str) else json.dumps(
            dict(best.artifact), indent=2))
    typer.echo(f"report: {write_report(target)}", err=True)


@cli.command("kernels")
def kernels_command(
    kernels: KernelsOpt = "",
    method: Annotated[
        str, typer.Option("--method", help=f"One of {', '.join(METHODS)}.")
    ] = "paretext",
    reflection_lm: LmOpt = DEFAULT_LM,
    proposals: ProposalsOpt = 8,
    max_tokens: TokensOpt = 400,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search.")] = 0,
    run: Annotated[
        Path | None, typer.Option("--run", "-r", help="Directory for the run stores and reports.")
    ] = None,
    threads: ThreadsOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Optimize the C kernel batch with one method; print each kernel's result."""
    _method(method)
    try:
        cfg = StudyConfig(kernels=_kernels(kernels), proposals=proposals, max_tokens=max_tokens)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    base = run or Path("runs") / f"kernels-{time.strftime('%Y%m%d-%H%M%S')}"
    lm, aclose = (None, _nothing) if method == "seed" else _lm(reflection_lm, threads)

    async def main(display: Any) -> MethodRun:
        try:
            return await run_method(_method(method), seed, lm, cfg, run_dir=str(base),
                                    observer=display)
        finally:
            await aclose()

    with _displays(quiet) as display:
        out = asyncio.run(main(display))
    _print_run(out, Console())
    if method != "seed":
        from ...report import write_report

        for store in sorted(base.glob("*/run.sqlite")):
            typer.echo(f"report: {write_report(store.parent)}", err=True)


def _print_run(out: MethodRun, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"{out.method} (seed {out.seed})", title_justify="left")
    for col in ("kernel", "status", "cases", "speed-up", "noise"):
        table.add_column(col, justify="left" if col in ("kernel", "status") else "right")
    for name, k in out.kernels.items():
        table.add_row(
            name, k.status, f"{k.cases_passed}/{k.cases_total}",
            "–" if k.speedup is None else f"{k.speedup:.2f}x",
            "–" if k.noise is None else f"{100 * k.noise:.0f}%",
        )
    console.print(table)
    console.print(
        f"{out.proposals} proposals, {out.accepted} accepted, {out.lm_calls} LM calls, "
        f"{out.evaluations} evaluations, {len(out.transfers)} transfers, {out.wall_s:.0f} s"
    )


@cli.command("compare")
def compare_command(
    kernels: KernelsOpt = "",
    reflection_lm: LmOpt = DEFAULT_LM,
    proposals: ProposalsOpt = 8,
    max_tokens: TokensOpt = 400,
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds.")] = "0,1,2",
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated methods.")] = ",".join(
        METHODS
    ),
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where kernels.json and kernels.md go.")
    ] = Path("benchmarks/results/kernels"),
    runs: Annotated[
        Path | None, typer.Option("--runs", help="Keep the run stores here (default: none).")
    ] = None,
    threads: ThreadsOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Seed, best-of-N, self-refinement per kernel and paretext batch mode, same proposals."""
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise _fail(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        cfg = StudyConfig(kernels=_kernels(kernels), proposals=proposals, max_tokens=max_tokens)
    except (ValueError, ConfigError) as exc:
        raise _fail(str(exc)) from None
    lm, aclose = (
        _lm(reflection_lm, threads) if any(m != "seed" for m in chosen) else (None, _nothing)
    )
    done: list[MethodRun] = []
    started = time.monotonic()
    console = Console(stderr=True)

    async def all_runs(display: Any) -> None:  # one event loop: the LM's limiter lives in it
        try:
            await each_run(display)
        finally:
            await aclose()

    async def each_run(display: Any) -> None:
        for s in seed_list:
            for m in chosen:
                run_dir = None if runs is None else str(runs / f"{m}-s{s}")
                result = await run_method(_method(m), s, lm, cfg, run_dir=run_dir,
                                          observer=display)
                done.append(result)
                _write(out, cfg, reflection_lm, done, time.monotonic() - started)
                if not quiet:
                    console.print(f"{m} seed {s}: {result.wall_s:.0f} s")

    with _displays(quiet) as display:
        asyncio.run(all_runs(display))
    typer.echo((out / "kernels.md").read_text(encoding="utf-8"))


def _write(out: Path, cfg: StudyConfig, model: str, runs: list[MethodRun], wall: float) -> None:
    """Rewritten after every run, so an interrupted comparison keeps what it finished."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(runs, cfg.kernels)
    payload = {
        "config": {
            "kernels": list(cfg.kernels),
            "proposals": cfg.proposals,
            "max_tokens": cfg.max_tokens,
            "writer": model,
            "compiler": "gcc " + " ".join(C_FLAGS),
            "machine": platform.processor() or platform.machine(),
        },
        "wall_s": round(wall, 1),
        "summary": rows,
        "runs": [r.to_dict() for r in runs],
    }
    (out / "kernels.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    seeds = sorted({r.seed for r in runs})
    table = markdown_table(rows, cfg.kernels)
    (out / "kernels.md").write_text(
        f"Writer `{model}`, {cfg.proposals} LM-written kernels per method and seed, seeds "
        f"{', '.join(map(str, seeds))}, compiled with `gcc {' '.join(C_FLAGS)}`. Per kernel: "
        "seeds whose final kernel is correct / its speed-up over the naive reference (geometric "
        "mean over those seeds; every final kernel measured again, 31 paired runs). `all "
        "kernels`: geometric mean over every kernel and seed. `LM calls`: per run. The last "
        "column counts every kernel the LM wrote, by how its evaluation ended. Total wall time "
        f"{wall / 60:.1f} min.\n\n{table}\n",
        encoding="utf-8",
    )
