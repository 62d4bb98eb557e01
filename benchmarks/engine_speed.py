"""Engine speed: wall time against the concurrency limit, and engine overhead per rollout.

A task LM with fixed latency answers a rule world (an example is right exactly
when the system prompt holds its category's rule; feedback names the missing
rule) and a reflection LM with fixed latency adds the rules it reads.  Prints,
for each setting, wall time, rollouts, best validation score and the ratio of
wall time to the limit ``rollouts x task latency / concurrency``.

    python benchmarks/engine_speed.py            # full figures (about a minute)
    python benchmarks/engine_speed.py --quick    # smaller, for a smoke run
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from typing import Any

import paretext as pt
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector

RULE = re.compile(r"RULE-(\d+)")


def task_lm(latency: float) -> pt.ScriptedLM:
    def respond(request: ChatRequest) -> str:
        rules = {int(m) for m in RULE.findall(request.messages[0].content)}
        category = int(request.messages[1].content.split("category=")[1])
        return "right" if category in rules else "wrong"

    return pt.ScriptedLM(respond, model="task-sim", latency=latency)


def run_once(
    *,
    rules_per_reply: int | None = 1,
    budget: int,
    concurrency: int,
    in_flight: int,
    task_latency: float,
    reflect_latency: float,
    seed: int,
) -> dict[str, Any]:
    world = RuleWorld(n=40, categories=10)
    program = pt.ChatProgram(
        task_lm(task_latency), template="Question {question}; category={category}"
    )
    started = time.perf_counter()
    result = world.optimize(
        train=20,
        program=program,
        reflection_lm=rule_reflector(rules_per_reply, latency=reflect_latency),
        budget=budget,
        engine=pt.EngineConfig(seed=seed, concurrency=concurrency, proposals_in_flight=in_flight),
        stop=pt.StopConfig(handle_signals=False),
        cache_task_lm=False,
    )
    wall = time.perf_counter() - started
    limit = result.rollouts_used * task_latency / concurrency
    return {
        "wall": wall,
        "rollouts": result.rollouts_used,
        "best": result.best.score,
        "ratio": wall / limit if limit else float("nan"),
        "proposals": len(result.proposals),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    budget, repeats = (150, 1) if args.quick else (300, args.repeats)

    print(
        "rule world: 20 train, 20 val, task LM 200 ms, reflection LM 800 ms, "
        f"budget {budget} rollouts"
    )
    print(f"{'setting':32} {'wall s':>8} {'limit s':>8} {'ratio':>6} {'rollouts':>8} {'best':>6}")
    for rules, world_label in ((None, "all rules a reply names"), (1, "one rule per reply")):
        print(f"-- reflection adds {world_label}")
        for flight in (1, 2, 4, 16):
            runs = [
                run_once(
                    rules_per_reply=rules,
                    budget=budget,
                    concurrency=32,
                    in_flight=flight,
                    task_latency=0.2,
                    reflect_latency=0.8,
                    seed=s,
                )
                for s in range(repeats)
            ]
            wall = statistics.median(r["wall"] for r in runs)
            rollouts = statistics.median(r["rollouts"] for r in runs)
            best = statistics.median(r["best"] for r in runs)
            limit = rollouts * 0.2 / 32
            label = f"{flight} proposal(s) in flight, c=32"
            ratio = wall / limit
            print(f"{label:32} {wall:8.2f} {limit:8.2f} {ratio:6.2f} {rollouts:8.0f} {best:6.3f}")

    overhead = []
    for s in range(repeats):
        r = run_once(
            budget=budget * 4,
            concurrency=32,
            in_flight=8,
            task_latency=0.0,
            reflect_latency=0.0,
            seed=s,
        )
        overhead.append(r["wall"] / r["rollouts"] * 1000)
    print(
        f"engine overhead with zero-latency LMs: {statistics.median(overhead):.3f} ms per rollout "
        f"(median of {repeats}, budget {budget * 4})"
    )


if __name__ == "__main__":
    main()
