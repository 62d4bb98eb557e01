"""Load on the service: p50/p99 of prompt reads and event posts, with rounds running.

For each backend (SQLite, then a throwaway PostgreSQL 15 cluster) this starts a
real ``paretext serve`` on 127.0.0.1 (worker inside), a fake OpenAI-compatible
server for the round's LM calls, and ``--clients`` concurrent httpx clients for
``--seconds``.  Each client loops: read the prompt (``GET …/prompt``) and, one
time in ``--post-every``, post a feedback event, then waits a random think time
(mean ``--think`` seconds, as an app's user would between calls; ``--think 0``
measures saturation instead, where latency is queueing: clients / throughput).
The slot starts a round every ``--round-every`` new events, so rounds keep
running in the background (``--worker process``: in a separate ``paretext worker``).

    python benchmarks/service_load.py                # 200 clients, 60 s, both backends
    python benchmarks/service_load.py --seconds 10 --backends sqlite

Loopback only; bounded by ``--seconds``; latencies are measured by the client
(the client's own event loop shares the machine's cores with the service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lm"))
sys.path.insert(0, str(ROOT / "tests" / "service"))

import httpx2  # noqa: E402
from fake_server import FakeOpenAIServer  # noqa: E402
from servers import Service, new_pg_database, pg_cluster  # noqa: E402
from world import SLOT, event, respond  # noqa: E402


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _load(url: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    reads: list[float] = []
    posts: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + args.seconds
    limits = httpx2.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def one(k: int) -> None:
            rng = random.Random(k)
            await asyncio.sleep(rng.uniform(0, args.think))  # clients do not start in lockstep
            i = 0
            while time.monotonic() < deadline:
                i += 1
                post = i % args.post_every == 0
                t0 = time.perf_counter()
                try:
                    if post:
                        body = {**event(10_000 + k * 100_000 + i), "id": f"load-{k}-{i}"}
                        r = await client.post("/v1/slots/support/events", json=body)
                    else:
                        r = await client.get("/v1/slots/support/prompt")
                except httpx2.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                took = (time.perf_counter() - t0) * 1000
                if r.status_code >= 400:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                (posts if post else reads).append(took)
                if args.think:
                    await asyncio.sleep(rng.uniform(0, 2 * args.think))

        await asyncio.gather(*(one(k) for k in range(args.clients)))
    return {"reads": reads, "posts": posts, "errors": errors}


def _run_backend(
    name: str, database: str, llm: FakeOpenAIServer, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    separate = args.worker == "process"
    service = Service(database, tmp, llm, inline_worker=not separate, workers=int(separate))
    service.start()
    try:
        token = service.tenant("bench")
        policy = {
            **SLOT["policy"],
            "min_new_events": args.round_every,
            "max_rollouts_per_day": None,
            "max_events": 100,
        }
        with service.client(token) as c:
            c.post("/v1/slots", json={**SLOT, "policy": policy}).raise_for_status()
            batch = [event(i) for i in range(args.round_every)]
            c.post("/v1/slots/support/events/batch", json={"events": batch}).raise_for_status()
            time.sleep(1.0)  # the first round is under way
            started = time.monotonic()
            result = asyncio.run(_load(service.url, token, args))
            elapsed = time.monotonic() - started
            rounds = c.get("/v1/slots/support/rounds").json()["rounds"]
    finally:
        service.stop()
    reads, posts = result["reads"], result["posts"]
    return {
        "backend": name,
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "think_s": args.think,
        "worker": args.worker,
        "prompt_reads": len(reads),
        "prompt_p50_ms": round(_quantile(reads, 0.5), 2),
        "prompt_p99_ms": round(_quantile(reads, 0.99), 2),
        "event_posts": len(posts),
        "event_p50_ms": round(_quantile(posts, 0.5), 2),
        "event_p99_ms": round(_quantile(posts, 0.99), 2),
        "requests_per_s": round((len(reads) + len(posts)) / elapsed),
        "rounds_during_run": len(rounds),
        "rounds_finished": sum(r["status"] != "running" for r in rounds),
        "errors": result["errors"],
        "median_prompt_ms": round(statistics.median(reads), 2) if reads else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--post-every", type=int, default=10, help="one post per N requests")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between requests, s")
    parser.add_argument("--round-every", type=int, default=200, help="new events per round")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--worker",
        choices=("inline", "process"),
        default="inline",
        help="rounds inside the API process (the default) or in a `paretext worker`",
    )
    parser.add_argument("--llm-latency", type=float, default=0.005, help="fake LM latency, s")
    args = parser.parse_args()
    rows = []
    with ExitStack() as stack:
        llm = FakeOpenAIServer(responder=respond, latency=args.llm_latency).start()
        stack.callback(llm.stop)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paretext-load-")))
        for backend in args.backends.split(","):
            if backend == "sqlite":
                database = f"sqlite:///{tmp / 'service.db'}"
            elif backend == "postgresql":
                database = new_pg_database(stack.enter_context(pg_cluster()))
            else:
                raise SystemExit(f"unknown backend {backend!r}")
            run_dir = tmp / backend
            run_dir.mkdir()
            row = _run_backend(backend, database, llm, args, run_dir)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print()
    print(
        f"{'backend':<11} {'reads':>7} {'p50 ms':>7} {'p99 ms':>7} {'posts':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'req/s':>6} {'rounds':>6}"
    )
    for r in rows:
        print(
            f"{r['backend']:<11} {r['prompt_reads']:>7} {r['prompt_p50_ms']:>7} "
            f"{r['prompt_p99_ms']:>7} {r['event_posts']:>6} {r['event_p50_ms']:>7} "
            f"{r['event_p99_ms']:>7} {r['requests_per_s']:>6} {r['rounds_during_run']:>6}"
        )


if __name__ == "__main__":
    main()
