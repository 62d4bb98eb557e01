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
from ._core import (
    QUICK,
    SEED_ROW,
    BenchConfig,
    BenchResult,
    ComparisonRow,
    RunRecord,
    SummaryRow,
)

__all__ = ["cli", "comparison_table", "markdown", "summary_table", "write_outputs"]


def summary_table(rows: Sequence[SummaryRow], title: str = "paretext bench") -> Table:
    """Test mean [95% CI] beside validation (seed → returned), rollouts, time, tokens, cost."""
    table = Table(title=title, title_justify="left")
    for name, justify in (("task", "left"), ("optimizer", "left"), ("seeds", "right"),
                          ("test [95% CI]", "right"), ("val seed → best", "right"),
                          ("rollouts", "right"), ("wall", "right"), ("tokens", "right"),
                          ("cost", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        seed_row = r.optimizer == SEED_ROW
        table.add_row(
            r.task,
            "seed prompt" if seed_row else r.optimizer,
            "–" if seed_row else str(r.seeds),
            _interval(r),
            _validation(r),
            "–" if seed_row else f"{r.rollouts:.0f}",
            "–" if seed_row else f"{r.wall_s:.0f}s",
            "–" if seed_row else tokens(r.tokens),
            "–" if seed_row else usd(r.cost_usd),
            style="dim" if seed_row else None,
        )
    return table


def _interval(r: SummaryRow) -> str:
    return f"{r.test_mean:.3f} [{r.test_low:.3f}, {r.test_high:.3f}]"


def _validation(r: SummaryRow) -> str:
    if r.val_best is None:
        return "–"
    return f"{r.val_seed:.3f} → {r.val_best:.3f}" if r.val_seed is not None else f"{r.val_best:.3f}"


def comparison_table(rows: Sequence[ComparisonRow]) -> Table:
    """Paired differences A − B on test with their 95% interval, sign test and verdict."""
    table = Table(title="paired comparisons on test (A − B)", title_justify="left")
    for name in ("task", "A", "B", "A − B [95% CI]", "wins/losses/ties", "sign p", "verdict"):
        table.add_column(name)
    for c in rows:
        table.add_row(c.task, c.a, "seed prompt" if c.b == SEED_ROW else c.b,
                      f"{c.difference:+.3f} [{c.low:+.3f}, {c.high:+.3f}]",
                      f"{c.wins}/{c.losses}/{c.ties}", f"{c.sign_p:.3g}", _VERDICT[c.verdict])
    return table


_VERDICT = {"better": "A beats B", "worse": "B beats A", "tied": "cannot tell apart"}


def markdown(result: BenchResult) -> str:
    """The summary and the comparisons as Markdown tables, with the command that reruns them."""
    cfg = result.config
    lines = [
        f"# paretext bench ({result.started}, {result.seconds / 60:.0f} min)", "",
        f"`{result.command}`", "",
        f"Task LM {result.machine.get('task_lm', cfg.task_lm)}, reflection LM "
        f"{result.machine.get('reflection_lm', cfg.reflection_lm)}, {cfg.budget} rollouts per "
        f"run, seeds {', '.join(map(str, cfg.seeds))}. Test: mean over seeds [95% bootstrap "
        "interval, seeds and examples resampled]. Test-time search tasks score each problem's "
        "best program found, and their validation set is the test set.", "",
        "| task | optimizer | seeds | test [95% CI] | val seed → best | rollouts | accepted / "
        "proposals | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    accepted = _accepted(result.runs)
    for r in result.summary:
        seed_row = r.optimizer == SEED_ROW
        lines.append(
            f"| {r.task} | {'seed prompt' if seed_row else r.optimizer} | "
            f"{'–' if seed_row else r.seeds} | {_interval(r)} | {_validation(r)} | "
            f"{'–' if seed_row else f'{r.rollouts:.0f}'} | "
            f"{accepted.get((r.task, r.optimizer), '–')} | "
            f"{'–' if seed_row else f'{r.wall_s:.0f}'} |"
        )
    lines += ["", "Paired comparisons on test (A − B, paired by seed and example; a verdict "
              "only when the 95% interval excludes zero):", "",
              "| task | A | B | A − B [95% CI] | wins / losses / ties | sign p | verdict |",
              "|---|---|---|---|---|---|---|"]
    for c in result.comparisons:
        lines.append(
            f"| {c.task} | {c.a} | {'seed prompt' if c.b == SEED_ROW else c.b} | "
            f"{c.difference:+.3f} [{c.low:+.3f}, {c.high:+.3f}] | {c.wins} / {c.losses} / "
            f"{c.ties} | {c.sign_p:.3g} | {_VERDICT[c.verdict]} |"
        )
    return "\n".join(lines) + "\n"


def _accepted(runs: Sequence[RunRecord]) -> dict[tuple[str, str], str]:
    totals: dict[tuple[str, str], list[int]] = {}
    for r in runs:
        if r.optimizer != SEED_ROW:
            t = totals.setdefault((r.task, r.optimizer), [0, 0])
            t[0] += r.accepted
            t[1] += r.proposals
    return {k: f"{a} / {p}" for k, (a, p) in totals.items()}


def write_outputs(result: BenchResult, out: Path, name: str = "bench") -> tuple[Path, Path]:
    """``OUT/NAME.json``, the tables ``OUT/NAME.md`` and the plot ``OUT/NAME.png`` (or .svg)."""
    from ._plot import write_plot

    json_path = result.write_json(out / f"{name}.json")
    (out / f"{name}.md").write_text(markdown(result))
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
    problems: Annotated[int | None, typer.Option(
        "--problems", min=1, help="Problems searched by test-time search tasks (mbpp_search)."
    )] = None,
    holdout: Annotated[float | None, typer.Option(
        "--holdout", min=0, help="Keep this many validation examples (or this fraction, "
        "below 1) out of the search and choose the returned candidate on them.")] = None,
    task_lm: Annotated[str | None, typer.Option(
        "--task-lm", help="Model of the task program. Default: local (bundled model).")] = None,
    reflection_lm: Annotated[str | None, typer.Option(
        "--reflection-lm", help="Model that writes new prompts. Default: local.")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", min=1, help="Cap on the task LM's reply.")] = None,
    minutes: Annotated[float | None, typer.Option(
        "--minutes-per-run", min=0.1, help="Also stop each run's proposals after this long.",
    )] = None,
    minibatches: Annotated[int | None, typer.Option(
        "--minibatches", min=1, help="Minibatches each reflective proposal reads (default: "
        "ReflectionConfig's; 1 is GEPA's one minibatch, for budgets of a few dozen rollouts).",
    )] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-j", min=1)] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="The small configuration (3 seeds, BoolQ and MBPP test-time search, "
        "sized for under 20 minutes on 2 cores); other flags override its fields.")] = False,
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
            budget=budget, train=train, val=val, test=test, problems=problems, task_lm=task_lm,
            holdout=None if holdout is None else (int(holdout) if holdout >= 1 else holdout),
            reflection_lm=reflection_lm, task_max_tokens=max_tokens,
            minutes_per_run=minutes, concurrency=concurrency,
            minibatches_per_proposal=minibatches,
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
        console.print(comparison_table(result.comparisons))
        json_path, plot = write_outputs(result, out_dir)
        console.print(f"results: {json_path} (tables: {json_path.with_suffix('.md')})\n"
                      f"plot: {plot}\nruns: {out_dir / 'runs'} "
                      "(`paretext show`/`paretext report` on any of them)\n"
                      f"rerun: {result.command} --out {out_dir}")
