"""Ray scale-out: a CPU-bound evaluator on 1 and 2 Ray workers, Ray's per-rollout overhead
against in-process, and a model of wall time against N workers built from what was measured.

The evaluator burns a fixed amount of CPU per rollout (a fixed number of sha256 rounds,
calibrated once to about ``--burn-ms`` on this machine) and then answers like the rule world.
A fixed candidate set (``--candidates`` texts x 24 examples) goes through the executor the
way the engine drives it: under a concurrency limit, each rollout awaited on its own.

    python benchmarks/ray_scale.py            # about two minutes here
    python benchmarks/ray_scale.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paretext._ids import ExampleId, content_hash
from paretext._types import Example
from paretext.engine import InProcessExecutor, RolloutExecutor
from paretext.metric import as_metric
from paretext.program import as_program
from paretext.ray import RayExecutor
from paretext.testing import RuleWorld

WORLD = RuleWorld(n=24, categories=6)


@dataclass(frozen=True)
class BurnProgram:
    """The rule world's program after ``rounds`` sha256 rounds: fixed CPU work per rollout."""

    rounds: int

    def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        digest = b"paretext"
        for _ in range(self.rounds):
            digest = hashlib.sha256(digest).digest()
        return WORLD.program(candidate, example)


def calibrate(ms: float) -> int:
    """sha256 rounds that take about ``ms`` of CPU here (median of 5 timings)."""
    probe = 20_000
    timings = []
    for _ in range(5):
        start = time.process_time()
        BurnProgram(probe)({"system": ""}, {"category": 0})
        timings.append(time.process_time() - start)
    return max(1, round(probe * ms / 1000 / statistics.median(timings)))


def candidates(n: int) -> list[dict[str, str]]:
    return [{"system": "Solve it. " + " ".join(f"RULE-{r}" for r in range(i % 7))}
            for i in range(n)]


async def evaluate(
    executor: RolloutExecutor, program: BurnProgram, texts: list[dict[str, str]], concurrency: int
) -> tuple[float, float, float]:
    """(start s, wall s of the rollouts, driver CPU s of the rollouts) for every pair once."""
    examples = {ExampleId(e["id"]): Example(ExampleId(e["id"]), e) for e in WORLD.examples()}
    began = time.perf_counter()
    await executor.start(as_program(program), as_metric(WORLD.metric), examples)
    started = time.perf_counter()
    limit = asyncio.Semaphore(concurrency)

    async def one(text: dict[str, str], example_id: ExampleId) -> None:
        async with limit:
            rollout = await executor.run(text, content_hash(text), example_id)
        assert rollout.error is None, rollout.error

    cpu = time.process_time()
    await asyncio.gather(*(one(t, ex) for t in texts for ex in examples))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await executor.aclose()
    return started - began, wall, cpu


def measure(
    executor: Any, program: BurnProgram, texts: list[dict[str, str]], concurrency: int, repeats: int
) -> dict[str, float]:
    """Medians over ``repeats`` runs, after one warm-up run (Ray starts its worker processes)."""
    asyncio.run(evaluate(executor, program, texts, concurrency))
    runs = [asyncio.run(evaluate(executor, program, texts, concurrency)) for _ in range(repeats)]
    n = len(texts) * WORLD.n
    return {
        "start_s": statistics.median(r[0] for r in runs),
        "wall_s": statistics.median(r[1] for r in runs),
        "ms_per_rollout": 1000 * statistics.median(r[1] for r in runs) / n,
        "driver_cpu_ms": 1000 * statistics.median(r[2] for r in runs) / n,
    }


def on_ray(workers: int, fn: Any) -> Any:
    import ray

    ray.init(
        address="local",  # a new Ray of its own, whatever else runs on this machine
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=80 * 1024 * 1024,
    )
    try:
        return fn()
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rollouts, one repeat")
    parser.add_argument("--burn-ms", type=float, default=25.0, help="CPU per rollout")
    parser.add_argument("--candidates", type=int, default=8)
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    texts = candidates(2 if args.quick else args.candidates)
    n = len(texts) * WORLD.n
    burn = BurnProgram(calibrate(args.burn_ms))
    idle = BurnProgram(0)
    print(f"{n} rollouts per measurement, {burn.rounds} sha256 rounds each, median of {repeats}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    rows: dict[str, dict[str, float]] = {}
    rows["in-process, 1 at a time"] = measure(InProcessExecutor(), burn, texts, 1, repeats)
    rows["in-process, 2 at a time"] = measure(InProcessExecutor(), burn, texts, 2, repeats)
    for workers in (1, 2):
        rows[f"Ray, {workers} worker(s)"] = on_ray(
            workers, lambda w=workers: measure(RayExecutor(), burn, texts, 2 * w, repeats)
        )
    # Overhead: the same rollouts with no work in them.
    overhead: dict[str, dict[str, float]] = {}
    overhead["in-process, 1 at a time"] = measure(InProcessExecutor(), idle, texts, 1, repeats)
    overhead["Ray, 1 at a time"], overhead["Ray, 16 at a time"] = on_ray(
        2,
        lambda: (
            measure(RayExecutor(), idle, texts, 1, repeats),
            measure(RayExecutor(), idle, texts, 16, repeats),
        ),
    )

    print("\nCPU-bound evaluator")
    print("| executor | wall s | ms per rollout | speed-up | start s |")
    print("|---|---|---|---|---|")
    base = rows["in-process, 1 at a time"]["wall_s"]
    for name, row in rows.items():
        print(
            f"| {name} | {row['wall_s']:.2f} | {row['ms_per_rollout']:.1f} | "
            f"{base / row['wall_s']:.2f}x | {row['start_s']:.2f} |"
        )
    print("\nPer-rollout overhead (no work in the rollout)")
    print("| executor | ms per rollout | driver CPU ms per rollout |")
    print("|---|---|---|")
    for name, row in overhead.items():
        print(f"| {name} | {row['ms_per_rollout']:.2f} | {row['driver_cpu_ms']:.2f} |")
    in_process = overhead["in-process, 1 at a time"]["ms_per_rollout"]
    latency = overhead["Ray, 1 at a time"]["ms_per_rollout"] - in_process
    pipelined = overhead["Ray, 16 at a time"]["ms_per_rollout"]
    driver = overhead["Ray, 16 at a time"]["driver_cpu_ms"]
    print(
        f"\nRay adds {latency:.2f} ms per rollout one at a time (round trip), "
        f"{pipelined:.2f} ms per rollout when 16 are in flight (goal: < 5 ms)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    model(rows, latency=latency, driver=driver, n=n)


def model(
    rows: Mapping[str, Mapping[str, float]], *, latency: float, driver: float, n: int
) -> None:
    """T(N) = n * max(w / N, d): ``w`` is what one rollout costs a worker (its CPU plus Ray's
    round trip ``o``, measured on one worker), ``d`` the driver's own CPU per rollout, which
    does not shrink with N."""
    one = rows["Ray, 1 worker(s)"]["ms_per_rollout"]
    print(
        f"\nModel: T(N) = rollouts x max(w / N, d), w = {one:.1f} ms per rollout on one worker "
        f"(of which o = {latency:.2f} ms is Ray's round trip), d = {driver:.2f} ms of driver CPU"
    )
    print("| workers | model s | measured s |")
    print("|---|---|---|")
    measured = {1: rows["Ray, 1 worker(s)"]["wall_s"], 2: rows["Ray, 2 worker(s)"]["wall_s"]}
    for workers in (1, 2, 4, 8, 16, 32, 64, 128):
        predicted = n * max(one / workers, driver) / 1000
        seen = f"{measured[workers]:.2f}" if workers in measured else "-"
        print(f"| {workers} | {predicted:.2f} | {seen} |")
    print(
        f"Speed-up stops growing near N = w / d = {one / driver:.0f} workers, where one driver "
        "is busy dispatching; Ray's share of a rollout is o / w = "
        f"{100 * latency / one:.0f}% here."
    )


if __name__ == "__main__":
    main()
