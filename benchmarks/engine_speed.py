"""Engine speed and quality: wall time against the concurrency limit, best validation score.

A task LM with fixed latency answers a rule world (an example is right exactly
when the system prompt holds its category's rule; feedback names the missing
rule) and a reflection LM with fixed latency adds the rules it reads.  Three
worlds: the reflection adds every rule its examples' feedback names, or only
one per reply, or every rule but it forgets (keeps only 4 of the old rules when
it rewrites, as real LLMs drop earlier lessons).  For each world, the default
settings against one proposal at a time with one minibatch (GEPA's classic
loop) and the previous default: wall time, the limit ``rollouts x task latency
/ concurrency``, their ratio (and the ratio to the limit of the whole budget),
rollouts and best validation score, medians over seeds.

``--faults`` runs the default under 20% injected faults (429 with Retry-After,
500, a non-JSON 200 body, a 30 s stall) next to the fault-free run.

    python benchmarks/engine_speed.py            # the tables (a few minutes)
    python benchmarks/engine_speed.py --faults   # the fault run
    python benchmarks/engine_speed.py --quick    # smaller, for a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

import paretext as pt
from paretext.errors import LMRateLimitError, LMTransportError
from paretext.lm import ChatRequest, LMResponse, resolve_lm
from paretext.testing import RuleWorld, rule_reflector

RULE = re.compile(r"RULE-(\d+)")
TASK_S, REFLECT_S, CONCURRENCY = 0.2, 0.8, 32

WORLDS: dict[str, dict[str, Any]] = {
    "adds every rule named": {"max_rules_per_reply": None},
    "adds one rule per reply": {"max_rules_per_reply": 1},
    "adds every rule, keeps 4 old": {"max_rules_per_reply": None, "keep_old": 4},
}
SETTINGS: dict[str, dict[str, Any]] = {
    "default (8 minibatches a proposal)": {},
    "one at a time (proposals_in_flight=1, 1 minibatch)": {
        "engine": {"proposals_in_flight": 1},
        "reflection": {"minibatches_per_proposal": 1},
    },
    "previous default (4 in flight, 1 minibatch)": {
        "engine": {"proposals_in_flight": 4},
        "reflection": {"minibatches_per_proposal": 1},
    },
}


def task_lm(latency: float) -> pt.ScriptedLM:
    def respond(request: ChatRequest) -> str:
        rules = {int(m) for m in RULE.findall(request.messages[0].content)}
        category = int(request.messages[1].content.split("category=")[1])
        return "right" if category in rules else "wrong"

    return pt.ScriptedLM(respond, model="task-sim", latency=latency)


class FaultyLM:
    """``rate`` of calls fail as a flaky provider's do; which ones is a function of the request
    and how often it was sent, so every run meets the same faults."""

    def __init__(self, inner: pt.LM, rate: float, stall: float = 30.0) -> None:
        self.inner = inner
        self.rate = rate
        self.stall = stall
        self._sent: dict[str, int] = {}
        self.faults: dict[str, int] = {}

    @property
    def model(self) -> str:
        return self.inner.model

    async def chat(self, request: ChatRequest) -> LMResponse:
        key = request.cache_key(self.model)
        n = self._sent[key] = self._sent.get(key, 0) + 1
        rng = random.Random(f"{key}:{n}")
        if rng.random() < self.rate:
            kind = rng.choice(["429", "500", "not json", "stall"])
            self.faults[kind] = self.faults.get(kind, 0) + 1
            if kind == "429":
                raise LMRateLimitError("429 Too Many Requests", retry_after=1.0, status=429)
            if kind == "500":
                raise LMTransportError("500 Internal Server Error", status=500)
            if kind == "not json":
                raise LMTransportError("200 with a body that is not JSON", status=200)
            await asyncio.sleep(self.stall)
        return await self.inner.chat(request)


@dataclass
class Run:
    wall: float
    rollouts: int
    best: float
    best_text: str

    @property
    def limit(self) -> float:
        return self.rollouts * TASK_S / CONCURRENCY

    @property
    def ratio(self) -> float:
        return self.wall / self.limit


def run_once(world: dict[str, Any], setting: dict[str, Any], *, budget: int, seed: int,
             faults: float = 0.0) -> Run:
    rule_world = RuleWorld(n=40, categories=10)
    task: pt.LM = task_lm(TASK_S)
    reflector: pt.LM = rule_reflector(**world, latency=REFLECT_S)
    if faults:
        task = resolve_lm(FaultyLM(task, faults), timeout=60)
        reflector = resolve_lm(FaultyLM(reflector, faults), timeout=60)
    program = pt.ChatProgram(task, template="Question {question}; category={category}",
                             temperature=0.0)
    started = time.perf_counter()
    result = rule_world.optimize(
        train=20,
        program=program,
        reflection_lm=reflector,
        budget=budget,
        engine=pt.EngineConfig(seed=seed, concurrency=CONCURRENCY, **setting.get("engine", {})),
        reflection=pt.ReflectionConfig(temperature=0.0, **setting.get("reflection", {})),
        stop=pt.StopConfig(handle_signals=False),
        cache_task_lm=False,
    )
    wall = time.perf_counter() - started
    return Run(wall, result.rollouts_used, result.best.score, result.best.components["system"])


def median_row(label: str, runs: list[Run], budget: int) -> str:
    wall = statistics.median(r.wall for r in runs)
    rollouts = statistics.median(r.rollouts for r in runs)
    limit = rollouts * TASK_S / CONCURRENCY
    best = statistics.median(r.best for r in runs)
    budget_limit = budget * TASK_S / CONCURRENCY
    return (f"| {label} | {wall:.2f} | {limit:.2f} | {wall / limit:.1f} | "
            f"{wall / budget_limit:.1f} | {rollouts:.0f} | {best:.2f} |")


def tables(budget: int, seeds: int) -> None:
    print(f"rule world: 20 train, 20 val, 10 rules; task LM {TASK_S * 1000:.0f} ms, reflection "
          f"LM {REFLECT_S * 1000:.0f} ms; budget {budget}, concurrency {CONCURRENCY}; "
          f"medians of {seeds} seeds\n")
    for world_label, world in WORLDS.items():
        print(f"reflection {world_label}\n")
        print("| settings | wall s | limit s | ratio | ratio to the budget's limit | rollouts "
              "| best val |")
        print("|---|---|---|---|---|---|---|")
        for label, setting in SETTINGS.items():
            runs = [run_once(world, setting, budget=budget, seed=s) for s in range(seeds)]
            print(median_row(label, runs, budget), flush=True)
        print()


def fault_run(budget: int, seeds: int) -> None:
    print(f"default settings, 20% faults (429 + Retry-After 1 s, 500, non-JSON 200, 30 s stall) "
          f"on task and reflection calls; budget {budget}; medians of {seeds} seeds\n")
    print("| world | fault-free wall s | with faults wall s | ratio | same result | rollouts |")
    print("|---|---|---|---|---|---|")
    for world_label, world in WORLDS.items():
        clean = [run_once(world, {}, budget=budget, seed=s) for s in range(seeds)]
        faulty = [run_once(world, {}, budget=budget, seed=s, faults=0.2) for s in range(seeds)]
        same = all(
            (a.best_text, a.rollouts) == (b.best_text, b.rollouts)
            for a, b in zip(clean, faulty, strict=True)
        )
        wall_clean = statistics.median(r.wall for r in clean)
        wall_faulty = statistics.median(r.wall for r in faulty)
        rollouts = "/".join(str(r.rollouts) for r in faulty)
        print(f"| {world_label} | {wall_clean:.2f} | {wall_faulty:.2f} | "
              f"{wall_faulty / wall_clean:.2f} | {'yes' if same else 'NO'} | {rollouts} |",
              flush=True)


def overhead(budget: int, seeds: int) -> None:
    per_rollout = []
    for s in range(seeds):
        world = RuleWorld(n=40, categories=10)
        program = pt.ChatProgram(task_lm(0.0), template="Question {question}; category={category}")
        started = time.perf_counter()
        result = world.optimize(
            train=20, program=program, reflection_lm=rule_reflector(1), budget=budget,
            engine=pt.EngineConfig(seed=s, concurrency=CONCURRENCY),
            stop=pt.StopConfig(handle_signals=False), cache_task_lm=False,
        )
        per_rollout.append((time.perf_counter() - started) / result.rollouts_used * 1000)
    print(f"engine overhead with zero-latency LMs: {statistics.median(per_rollout):.3f} ms per "
          f"rollout (median of {seeds}, budget {budget})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    budget, seeds = (150, 1) if args.quick else (300, args.seeds)
    if args.faults:
        fault_run(budget, seeds)
        return
    tables(budget, seeds)
    overhead(budget * 4, seeds)


if __name__ == "__main__":
    main()
