"""The same DSPy task through ``dspy.GEPA`` and through ``paretext.dspy.GEPA``.

The task is the two-module rule world of ``tests/dspy/dspy_world.py`` (a
``ChainOfThought`` draft, then a ``Predict`` answer; 8 facts to learn, one per
reflection), served by two real OpenAI-compatible HTTP servers on 127.0.0.1
with server-side latency: ``--task-latency`` (0.2 s) per task-model call and
``--reflection-latency`` (0.8 s) per reflection call.  Both optimizers get the
same ``dspy.LM``s (DSPy's cache off), the same ``max_metric_calls`` and
``num_threads``.  Printed per optimizer: best validation score, held-out test
score of the returned program, the best validation score among candidates found
within the fewest rollouts any run used (from ``discovery_eval_counts``: equal
spending), metric calls (rollouts) used against the budget, task and reflection
calls, wall time, and the speed-up over dspy.GEPA: medians over ``--seeds``.
paretext runs once per ``proposals_in_flight`` value and seed.

    python benchmarks/vs_dspy.py [--budget 200] [--threads 16] [--in-flight 1,2,4]
                                 [--seeds 0,1,2] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lm"))
sys.path.insert(0, str(ROOT / "tests" / "dspy"))

import dspy  # noqa: E402
from dspy_world import TwoStep, examples, metric, reflection_responder, task_responder  # noqa: E402
from fake_server import FakeOpenAIServer  # noqa: E402

import paretext.dspy  # noqa: E402
from paretext.lm import register_price  # noqa: E402


def test_score(program: Any, lm: Any, threads: int) -> float:
    evaluate = dspy.Evaluate(
        devset=examples(40, 80),
        metric=lambda g, p, t=None: metric(g, p).score,
        num_threads=threads,
        display_progress=False,
    )
    with dspy.context(lm=lm):
        return float(evaluate(program).score) / 100


def best_within(details: Any, rollouts: int) -> float:
    """The best validation score among candidates found within ``rollouts`` metric calls."""
    found = zip(details.val_aggregate_scores, details.discovery_eval_counts, strict=True)
    return max(score for score, spent in found if spent <= rollouts)


def run_one(name: str, args: argparse.Namespace, in_flight: int | None) -> dict[str, Any]:
    with (
        FakeOpenAIServer(responder=task_responder(), latency=args.task_latency) as task,
        FakeOpenAIServer(responder=reflection_responder(), latency=args.reflection_latency) as refl,
    ):
        task_lm = dspy.LM("openai/task-model", api_base=task.base_url, api_key="k", cache=False)
        reflection_lm = dspy.LM(
            "openai/reflector", api_base=refl.base_url, api_key="k", cache=False
        )
        options: dict[str, Any] = {
            "metric": metric,
            "max_metric_calls": args.budget,
            "reflection_lm": reflection_lm,
            "num_threads": args.threads,
            "track_stats": True,
            "seed": args.seed,
        }
        if name == "dspy.GEPA":
            optimizer = dspy.GEPA(**options)
        else:
            optimizer = paretext.dspy.GEPA(**options, proposals_in_flight=in_flight)
        start = time.perf_counter()
        with dspy.context(lm=task_lm):
            optimized = optimizer.compile(
                TwoStep(), trainset=examples(0, 20), valset=examples(20, 40)
            )
        wall = time.perf_counter() - start
        calls = task.total_requests, refl.total_requests
        details = optimized.detailed_results
        return {
            "optimizer": name if in_flight is None else f"{name} ({in_flight} in flight)",
            "details": details,
            "best_val": max(details.val_aggregate_scores),
            "test": test_score(optimized, task_lm, args.threads),
            "rollouts": details.total_metric_calls,
            "budget": args.budget,
            "task_calls": calls[0],
            "reflection_calls": calls[1],
            "candidates": len(details.candidates),
            "wall_s": wall,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--task-latency", type=float, default=0.2)
    parser.add_argument("--reflection-latency", type=float, default=0.8)
    parser.add_argument("--seeds", default="0,1,2", help="one run per seed; medians printed")
    parser.add_argument(
        "--in-flight",
        default="1,2,4",
        help="paretext's proposals_in_flight values to run, comma-separated",
    )
    parser.add_argument("--only", choices=["dspy.GEPA", "paretext.dspy"], default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # dspy.GEPA logs every iteration
    warnings.simplefilter("ignore")
    register_price("reflector", 0.0, 0.0)
    runs: list[dict[str, Any]] = []
    for seed in (int(x) for x in args.seeds.split(",")):
        args.seed = seed
        rows = [] if args.only == "paretext.dspy" else [run_one("dspy.GEPA", args, None)]
        if args.only != "dspy.GEPA":
            rows += [run_one("paretext.dspy", args, int(n)) for n in args.in_flight.split(",")]
        fewest = min(r["rollouts"] for r in rows)  # equal spending within this seed
        for row in rows:
            row["best_val_at_fewest"] = best_within(row.pop("details"), fewest)
            row["fewest"], row["seed"] = fewest, seed
        runs += rows
    if args.json:
        print(json.dumps(runs, indent=2))
        return
    names = list(dict.fromkeys(r["optimizer"] for r in runs))
    keys = ("best_val", "best_val_at_fewest", "test", "rollouts", "reflection_calls", "wall_s")
    medians = {
        n: {k: statistics.median(r[k] for r in runs if r["optimizer"] == n) for k in keys}
        for n in names
    }
    print(
        f"task latency {args.task_latency} s, reflection {args.reflection_latency} s, "
        f"num_threads={args.threads}, max_metric_calls={args.budget}; train 20, val 20, "
        f"test 40; medians over seeds {args.seeds}"
    )
    print(
        "| optimizer | best val | best val at equal rollouts | test | rollouts / budget "
        "| reflection calls | wall s | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    base = medians[names[0]]["wall_s"]
    for n in names:
        m = medians[n]
        print(
            f"| {n} | {m['best_val']:.3f} | {m['best_val_at_fewest']:.3f} | {m['test']:.3f} | "
            f"{m['rollouts']:.0f} / {args.budget} | {m['reflection_calls']:.0f} | "
            f"{m['wall_s']:.1f} | {base / m['wall_s']:.2f}x |"
        )
    print(
        "equal rollouts: the fewest any optimizer used on that seed:",
        sorted({(r["seed"], r["fewest"]) for r in runs}),
    )


if __name__ == "__main__":
    main()
