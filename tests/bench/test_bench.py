"""The bench machinery end to end, with scripted task and reflection LMs (fast)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import paretext as pt
from paretext.bench import (
    BenchConfig,
    RunRecord,
    command,
    comparisons,
    curve_data,
    read_runs,
    run_bench,
    summarize,
    summary_table,
    write_outputs,
)
from paretext.cli import app
from paretext.errors import ConfigError
from paretext.lm import ChatRequest
from paretext.store import SQLiteRunStore
from paretext.tasks import Pools, SplitSizes, Task
from paretext.testing import RuleWorld, rule_reflector

_RULE = re.compile(r"RULE-(\d+)")
_CATEGORY = re.compile(r"category (\d+)")


def rule_task(world: RuleWorld) -> Task:
    """The rule world as a chat task: the scripted task LM follows the system prompt's rules."""
    return Task(
        name="rules",
        description="scripted rule world",
        seed={"system": "Solve it."},
        template="{question} (category {category})",
        source=lambda: Pools(dev=world.examples()),
        metric=world.metric,
        sizes=SplitSizes(train=10, val=8, test=10),
    )


def task_lm() -> pt.ScriptedLM:
    def respond(request: ChatRequest) -> str:
        system, user = request.messages[0].content, request.messages[-1].content
        match = _CATEGORY.search(user)
        assert match is not None
        rules = {int(m) for m in _RULE.findall(system)}
        return "right" if int(match.group(1)) in rules else "wrong"

    return pt.ScriptedLM(respond, model="scripted-task", cost_per_token=1e-6)


def reflection_lm() -> pt.ScriptedLM:
    reflector = rule_reflector(1)

    async def respond(request: ChatRequest) -> Any:
        prompt = request.messages[-1].content
        if "Feedback:" in prompt or "Version A" in prompt:
            return await reflector.chat(request)
        rules = {int(m) for m in _RULE.findall(prompt)} | {request.sample // 1000 % 6}
        return "```\nSolve it. " + " ".join(f"RULE-{r}" for r in sorted(rules)) + "\n```"

    return pt.ScriptedLM(respond, model="scripted-reflection", cost_per_token=1e-6)


CONFIG = BenchConfig(
    optimizers=("gepa", "greedy_reflective", "opro", "bootstrap_fewshot"),
    tasks=("rules",), seeds=(0, 1), budget=80, train=10, val=8, test=10, concurrency=4,
)


def bench(out: Path | None, config: BenchConfig = CONFIG, **kw: Any) -> Any:
    world = RuleWorld(n=40, categories=6)
    return run_bench(config, out, task_lm=kw.pop("task_lm", task_lm()),
                     reflection_lm=reflection_lm(), tasks={"rules": rule_task(world)}, **kw)


def test_bench_runs_every_optimizer_task_and_seed_within_budget(tmp_path: Path) -> None:
    events: list[str] = []
    result = bench(tmp_path, report=lambda event, info: events.append(event))
    seeds_rows = [r for r in result.runs if r.optimizer == "seed"]
    runs = [r for r in result.runs if r.optimizer != "seed"]
    assert len(seeds_rows) == 1 and seeds_rows[0].test_score == 0.0  # "Solve it." knows no rule
    assert {(r.optimizer, r.seed) for r in runs} == {
        (o, s) for o in CONFIG.optimizers for s in CONFIG.seeds
    }
    for r in runs:
        assert r.rollouts_used <= r.rollouts_limit == 80
        assert r.test_n == 10 and r.test_failures == 0
        assert r.curve and r.curve[0][1] == r.val_seed and r.curve[-1][1] == r.val_best
        pairs = zip(r.curve, r.curve[1:], strict=False)
        assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in pairs)
        assert r.prompt_tokens > 0 and r.cost_usd is not None and r.run_path
        assert Path(r.run_path).exists()
    gepa = [r for r in runs if r.optimizer == "gepa"]
    assert all(r.test_score > 0 for r in gepa)
    assert events.count("run_start") == events.count("run_end") == 8
    for r in runs:  # a run that found nothing better reuses the seed's test scores
        if dict(r.best) == {"system": "Solve it."}:
            assert r.test_scores == seeds_rows[0].test_scores
            store = SQLiteRunStore(r.run_path)  # no task LM call beyond the search's rollouts
            task_calls = [c for c in store.lm_calls() if c.role == "task"]
            store.close()
            assert len(task_calls) <= r.rollouts_used
    rows = {row.optimizer: row for row in result.summary}
    assert set(rows) == {"seed", *CONFIG.optimizers} and rows["gepa"].seeds == 2


def test_outputs_json_plot_and_table(tmp_path: Path) -> None:
    result = bench(tmp_path, BenchConfig(optimizers=("gepa", "opro"), tasks=("rules",), seeds=(0,),
                                         budget=60, train=10, val=8, test=6))
    json_path, plot = write_outputs(result, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["config"]["budget"] == 60 and len(data["runs"]) == 3
    assert {row["optimizer"] for row in data["summary"]} == {"seed", "gepa", "opro"}
    assert plot.suffix in (".png", ".svg") and plot.stat().st_size > 500
    if plot.suffix == ".png":
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from rich.console import Console

    console = Console(width=140, record=True)
    console.print(summary_table(result.summary))
    text = console.export_text()
    assert "gepa" in text and "seed prompt" in text
    seed_row = next(r for r in result.summary if r.optimizer == "seed")
    assert f"{seed_row.test_mean:.3f} [{seed_row.test_low:.3f}, {seed_row.test_high:.3f}]" in text
    tables = json_path.with_suffix(".md").read_text()
    assert "| rules | gepa | seed prompt |" in tables and result.command in tables
    assert {(c["a"], c["b"]) for c in data["comparisons"]} == {
        ("gepa", "seed"), ("opro", "seed"), ("gepa", "opro")}
    assert read_runs(json_path) == result.runs  # tables can be recomputed from the JSON


def test_comparisons_and_command_from_records() -> None:
    def record(optimizer: str, seed: int, scores: tuple[float, ...]) -> RunRecord:
        return RunRecord(
            task="t", optimizer=optimizer, seed=seed, test_score=sum(scores) / len(scores),
            test_n=len(scores), test_failures=0, test_scores=scores, val_seed=0.0, val_best=0.5,
            rollouts_used=10, rollouts_limit=10, wall_s=1.0, eval_s=0.0, prompt_tokens=0,
            completion_tokens=0, cost_usd=0.0, proposals=1, accepted=1, stop_reason="budget",
            best={}, curve=(), run_path=None,
        )

    runs = [record("seed", 0, (0.0,) * 20)]
    runs += [record("good", s, (1.0,) * 20) for s in (0, 1, 2)]
    runs += [record("same", s, (0.0,) * 20) for s in (0, 1, 2)]
    found = {(c.a, c.b): c for c in comparisons(runs)}
    assert found[("good", "seed")].verdict == "better"
    assert found[("good", "seed")].difference == pytest.approx(1.0)
    assert found[("same", "seed")].verdict == "tied"
    assert found[("good", "same")].verdict == "better" and found[("good", "same")].wins == 20
    row = {r.optimizer: r for r in summarize(runs)}["good"]
    assert (row.test_low, row.test_high) == (1.0, 1.0)
    assert command(BenchConfig(tasks=("boolq",), seeds=(0, 1), budget=40)) == (
        "paretext bench --tasks boolq --seeds 0,1 --budget 40")


def test_one_minibatch_per_proposal_affords_more_proposals_at_a_small_budget() -> None:
    small = BenchConfig(optimizers=("gepa",), tasks=("rules",), seeds=(0,), budget=60,
                        train=10, val=8, test=6)
    classic = replace(small, minibatches_per_proposal=1)
    default_run, = (r for r in bench(None, small).runs if r.optimizer == "gepa")
    classic_run, = (r for r in bench(None, classic).runs if r.optimizer == "gepa")
    assert classic_run.proposals > default_run.proposals >= 1
    assert classic_run.rollouts_used <= 60 and default_run.rollouts_used <= 60
    assert command(classic).endswith("--budget 60 --train 10 --val 8 --test 6 --minibatches 1")


def test_test_time_search_scores_each_problem_by_its_best_program(tmp_path: Path) -> None:
    world = RuleWorld(n=30, categories=6)
    base = rule_task(world)
    search = Task(name="rules_search", description="test-time search on the rule world",
                  seed=base.seed, template=base.template, source=base.source,
                  metric=base.metric, sizes=SplitSizes(train=0, val=0, test=12), test_time=True)
    config = BenchConfig(optimizers=("gepa",), tasks=("rules_search",), seeds=(0,), budget=80,
                         problems=12, concurrency=4)
    result = run_bench(config, tmp_path, task_lm=task_lm(), reflection_lm=reflection_lm(),
                       tasks={"rules_search": search})
    seed_row, run = result.runs
    assert seed_row.test_scores == (0.0,) * 12 and run.test_n == 12
    # Each problem scores the best over the candidates validated on it, never below the
    # returned prompt's own score on that problem.
    assert run.test_score >= run.val_best > 0
    assert result.config.splits(search, 0).test == search.load(0, train=0, val=0, test=12).test


def test_svg_fallback_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from paretext.bench import write_plot

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    record = _record("gepa", 0, [(8, 0.25), (20, 0.5)])
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    out = write_plot([record], tmp_path / "plot.png", title="t")
    assert out.suffix == ".svg" and "<polyline" in out.read_text()


def test_rerunning_resumes_every_run_for_free(tmp_path: Path) -> None:
    config = BenchConfig(optimizers=("gepa", "best_of_n"), tasks=("rules",), seeds=(0,),
                         budget=60, train=10, val=8, test=6)
    first = bench(tmp_path, config)
    lm = task_lm()
    again = bench(tmp_path, config, task_lm=lm)
    assert lm.calls == 0
    # Rollouts at each commit include proposals in flight, so only the scores are timing-free.
    def strip(runs: Any) -> list[Any]:
        return [(r.optimizer, r.test_score, r.val_best, r.rollouts_used, dict(r.best),
                 [y for _, y in r.curve]) for r in runs]

    assert strip(first.runs) == strip(again.runs)


def _record(opt: str, seed: int, curve: list[tuple[int, float]], test: float = 0.5) -> RunRecord:
    return RunRecord(
        task="t", optimizer=opt, seed=seed, test_score=test, test_n=4, test_failures=0,
        test_scores=(test,) * 4,
        val_seed=curve[0][1], val_best=curve[-1][1], rollouts_used=curve[-1][0],
        rollouts_limit=30, wall_s=1.0, eval_s=0.1, prompt_tokens=10, completion_tokens=5,
        cost_usd=None if seed else 0.5, proposals=2, accepted=1, stop_reason="budget exhausted",
        best={"system": "x"}, curve=tuple(curve), run_path=None,
    )


def test_summary_and_curve_aggregate_over_seeds() -> None:
    runs = [_record("gepa", 0, [(8, 0.25), (20, 0.5)], test=0.5),
            _record("gepa", 1, [(8, 0.0), (14, 1.0), (26, 1.0)], test=1.0)]
    (row,) = summarize(runs)
    assert row.test_mean == pytest.approx(0.75) and row.test_std == pytest.approx(0.3535, abs=1e-3)
    assert row.cost_usd is None  # one run's cost is unknown: never reported as free
    assert row.rollouts == pytest.approx(23)
    (curve,) = curve_data(runs)["t"]
    name, xs, ys = curve
    assert name == "gepa" and xs == (8, 14, 20, 26)
    assert ys == pytest.approx((0.125, 0.625, 0.75, 0.75))


def test_config_validation_and_cli_mount() -> None:
    with pytest.raises(ConfigError, match="unknown optimizer"):
        BenchConfig(optimizers=("nope",))
    with pytest.raises(ConfigError):
        BenchConfig(seeds=())
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0 and "--quick" in result.output and "--task-lm" in result.output
    bad = CliRunner().invoke(app, ["bench", "--optimizers", "nope"])
    assert bad.exit_code == 2 and "unknown optimizer" in bad.output
