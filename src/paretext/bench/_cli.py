"""``paretext bench``: the command, its table and its files."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .._format import tokens, usd
from ._core import QUICK, SEED_ROW, BenchConfig, BenchResult, RunRecord, SummaryRow

__all__ = ["cli", "summary_table", "write_outputs"]


def summary_table(rows: Sequence[SummaryRow], title: str = "paretext bench") -> Table:
    """Test score mean ± std over seeds, rollouts, wall time, tokens and cost per optimizer."""
    table = Table(title=title, title_justify="left")
    for name, justify in (("task", "left"), ("optimizer", "left"), ("seeds", "right"),
                          ("test score", "right"), ("best val", "right"), ("rollouts", "right"),
                          ("wall", "right"), ("tokens", "right"), ("cost", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        seed_row = r.optimizer == SEED_ROW
        table.add_row(
            r.task,
            "seed prompt" if seed_row else r.optimizer,
            "–" if seed_row else str(r.seeds),
            f"{r.test_mean:.3f} ± {r.test_std:.3f}",
            "–" if r.val_best is None else f"{r.val_best:.3f}",
            "–" if seed_row else f"{r.rollouts:.0f}",
            "–" if seed_row else f"{r.wall_s:.0f}s",
            "–" if seed_row else tokens(r.tokens),
            "–" if seed_row else usd(r.cost_usd),
            style="dim" if seed_row else None,
        )
    return table


def write_outputs(result: BenchResult, out: Path, name: str = "bench") -> tuple[Path, Path]:
    """``OUT/NAME.json`` and the plot ``OUT/NAME.png`` (or .svg without matplotlib)."""
    from ._plot import write_plot

    json_path = result.write_json(out / f"{name}.json")
    cfg = result.config
    title = (f"{cfg.budget} rollouts · seeds {','.join(map(str, cfg.seeds))} · "
             f"task LM {result.machine.get('task_lm', cfg.task_lm)} · "
             f"reflection LM {result.machine.get('reflection_lm', cfg.reflection_lm)}")
    plot = write_plot(result.runs, out / f"{name}.png", title=title)
    return json_path, plot


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _reporter(console: Console) -> Any:
    def report(event: str, info: Mapping[str, Any]) -> None:
        if event == "seed_eval":
            console.print(f"[dim]{info['task']}: scoring the seed prompt on "
                          f"{info['examples']} test examples…[/]")
        elif event == "seed_done":
            console.print(f"{info['task']}: seed prompt test score {info['test_score']:.3f}")
        elif event == "run_start":
            console.print(f"[bold]({info['index']}/{info['total']})[/] {info['task']} · "
                          f"{info['optimizer']} · seed {info['seed']}")
        elif event == "run_end":
            r: RunRecord = info["record"]
            console.print(
                f"   test {r.test_score:.3f} · val {r.val_seed or 0:.3f} → {r.val_best or 0:.3f} · "
                f"{r.rollouts_used}/{r.rollouts_limit} rollouts · {r.accepted}/{r.proposals} "
                f"accepted · {r.wall_s:.0f}s + {r.eval_s:.0f}s test · {r.stop_reason}"
            )

    return report


def cli(
    optimizers: Annotated[str | None, typer.Option(
        "--optimizers", "-o", help="Comma-separated: gepa, gepa_no_merge, gepa_best, "
        "greedy_reflective, opro, best_of_n, bootstrap_fewshot.")] = None,
    tasks: Annotated[str | None, typer.Option(
        "--tasks", "-t", help="Comma-separated task names (see paretext.tasks).")] = None,
    seeds: Annotated[str | None, typer.Option(
        "--seeds", "-s", help="Comma-separated seeds (of the search and the train/val split).",
    )] = None,
    budget: Annotated[int | None, typer.Option(
        "--budget", "-b", min=1, help="Rollouts per run (the same for every optimizer).")] = None,
    train: Annotated[int | None, typer.Option("--train", min=1, help="Training examples.")] = None,
    val: Annotated[int | None, typer.Option("--val", min=1, help="Validation examples.")] = None,
    test: Annotated[int | None, typer.Option("--test", min=1, help="Test examples.")] = None,
    task_lm: Annotated[str | None, typer.Option(
        "--task-lm", help="Model of the task program. Default: local (bundled model).")] = None,
    reflection_lm: Annotated[str | None, typer.Option(
        "--reflection-lm", help="Model that writes new prompts. Default: local "
        "(with --quick: local/qwen2.5-coder-1.5b).")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", min=1, help="Cap on the task LM's reply.")] = None,
    minutes: Annotated[float | None, typer.Option(
        "--minutes-per-run", min=0.1, help="Also stop each run's proposals after this long.",
    )] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-j", min=1)] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="The small configuration (about 45 minutes on 2 cores with the local "
        "model); other flags override its fields.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for runs, JSON and plot. Default: benchmarks/results/"
        "bench-TIME (quick-TIME with --quick). Re-using one resumes its runs.")] = None,
) -> None:
    """Compare optimizers × tasks × seeds at one rollout budget: a table, JSON and a plot."""
    from ..cli import exit_on_errors

    console = Console()
    with exit_on_errors():
        from ._core import run_bench, with_overrides

        base = QUICK if quick else BenchConfig()
        config = with_overrides(
            base, optimizers=_split(optimizers), tasks=_split(tasks),
            seeds=None if seeds is None else tuple(int(s) for s in _split(seeds) or ()),
            budget=budget, train=train, val=val, test=test, task_lm=task_lm,
            reflection_lm=reflection_lm, task_max_tokens=max_tokens,
            minutes_per_run=minutes, concurrency=concurrency,
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = out or Path("benchmarks/results") / f"{'quick' if quick else 'bench'}-{stamp}"
        console.print(
            f"paretext bench: {len(config.optimizers)} optimizers × {len(config.tasks)} tasks × "
            f"{len(config.seeds)} seeds at {config.budget} rollouts → {out_dir}"
        )
        result = run_bench(config, out_dir, report=_reporter(console),
                           on_record=lambda partial: write_outputs(partial, out_dir))
        console.print(summary_table(result.summary))
        json_path, plot = write_outputs(result, out_dir)
        console.print(f"results: {json_path}\nplot: {plot}\nruns: {out_dir / 'runs'} "
                      "(`paretext show`/`paretext report` on any of them)")
