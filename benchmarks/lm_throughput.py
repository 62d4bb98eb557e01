"""LM layer throughput: the async client against its ideal, and the local model's prefix cache.

1. Remote: ``--calls`` chat calls through ``resolve_lm`` (limiter, retries, timeout,
   the real ``openai`` SDK) against the fake OpenAI server on 127.0.0.1 answering
   after ``--latency`` seconds, ``--concurrency`` at a time.  The floor is
   ``calls * latency / concurrency``; the median of ``--runs`` runs is reported.
2. Local: ``--local-calls`` questions sharing one system prompt on the bundled
   0.5B model in-process, with and without the prefix cache: prompt tokens per
   second (tokens actually evaluated), effective prompt tokens per second (all
   prompt tokens over prompt time), generation tokens per second, seconds per call.
3. Batched: ``--batched-calls`` code-writing requests (96 tokens each at most,
   temperature 0) on the same model, served today's way -- in process, one at a
   time -- and through llama.cpp's server (``LocalLM(backend="server")``) at
   ``--parallel`` concurrent requests: generated tokens per second of wall time
   for each, their ratio, and how many replies are identical to the serial ones.

    python benchmarks/lm_throughput.py [--skip-local] [--skip-batched] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lm"))

from fake_server import FakeOpenAIServer

from paretext.lm import (
    ChatRequest,
    LimiterPool,
    LocalLM,
    LocalStats,
    install_model,
    resolve_lm,
)


async def remote_run(base_url: str, calls: int, concurrency: int) -> tuple[float, int]:
    lm = resolve_lm(
        "openai/fake",
        base_url=base_url,
        concurrency=concurrency,
        limiters=LimiterPool(),
        timeout=30,
    )
    requests = [
        ChatRequest.of([{"role": "user", "content": f"question {i}"}]) for i in range(calls)
    ]
    started = time.perf_counter()
    await asyncio.gather(*(lm.chat(r) for r in requests))
    wall = time.perf_counter() - started
    peak = lm.limiter.peak_in_flight  # type: ignore[attr-defined]
    await lm.aclose()  # type: ignore[attr-defined]
    return wall, peak


def remote(calls: int, concurrency: int, latency: float, runs: int) -> dict[str, Any]:
    walls = []
    with FakeOpenAIServer(latency=latency) as server:
        asyncio.run(remote_run(server.base_url, 50, concurrency))  # warm-up
        for _ in range(runs):
            wall, peak = asyncio.run(remote_run(server.base_url, calls, concurrency))
            walls.append(wall)
    floor = calls * latency / concurrency
    median = statistics.median(walls)
    return {
        "calls": calls,
        "concurrency": concurrency,
        "latency_s": latency,
        "floor_s": round(floor, 3),
        "wall_s_runs": [round(w, 3) for w in walls],
        "wall_s_median": round(median, 3),
        "ratio_to_floor": round(median / floor, 3),
        "peak_in_flight": peak,
    }


SYSTEM = (
    "You are a meticulous assistant for grade-school arithmetic. Read the question, work "
    "out the result step by step in your head, and answer with the final number only. "
    "Never add words, units or punctuation. If the question is ambiguous, pick the most "
    "natural reading. Whole numbers only; round halves up. "
) * 4


async def local_run(lm: LocalLM, questions: list[str]) -> float:
    started = time.perf_counter()
    for question in questions:
        request = ChatRequest.of(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            temperature=0.0,
            max_tokens=24,
        )
        await lm.chat(request)
    return time.perf_counter() - started


def local(calls: int, threads: int | None) -> dict[str, Any]:
    path = install_model()
    questions = [f"What is {7 * i + 3} plus {5 * i + 11}, times 2?" for i in range(calls)]
    results: dict[str, Any] = {"model": "qwen2.5-coder-0.5b Q4_K_M", "calls": calls}
    for cached in (True, False):
        lm = LocalLM(path, name="bench", n_ctx=2048, prefix_cache=cached, n_threads=threads)
        lm.load()
        asyncio.run(local_run(lm, ["What is 1 plus 1?"]))  # warm-up: first call reads the prompt
        lm.stats = LocalStats()  # count the measured calls only
        wall = asyncio.run(local_run(lm, questions))
        s = lm.stats
        results["with_prefix_cache" if cached else "without_prefix_cache"] = {
            "prompt_tokens": s.prompt_tokens,
            "prompt_tokens_evaluated": s.prompt_tokens_evaluated,
            "prompt_tok_per_s": round(s.prompt_tokens_per_second, 1),
            "effective_prompt_tok_per_s": round(s.prompt_tokens / s.prompt_seconds, 1),
            "generated_tokens": s.completion_tokens,
            "generation_tok_per_s": round(s.generation_tokens_per_second, 1),
            "seconds_per_call": round(wall / calls, 2),
        }
        lm.close()
    return results


TASKS = ("sum", "product", "maximum", "minimum", "mean", "median", "mode", "range",
         "variance", "second largest", "number of even values", "sorted copy")


async def batched_run(lm: LocalLM, requests: list[ChatRequest], concurrency: int
                      ) -> tuple[float, int, list[str]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(request: ChatRequest) -> tuple[int, str]:
        async with gate:
            reply = await lm.chat(request)
            return reply.usage.completion_tokens, reply.text

    started = time.perf_counter()
    replies = await asyncio.gather(*(one(r) for r in requests))
    wall = time.perf_counter() - started
    await lm.aclose()
    return wall, sum(n for n, _ in replies), [text for _, text in replies]


def batched(calls: int, parallel: int, threads: int | None) -> dict[str, Any]:
    path = install_model()
    requests = [
        ChatRequest.of(
            [{"role": "system", "content": "You are a helpful coding assistant."},
             {"role": "user", "content": f"Write a Python function that returns the "
                                         f"{TASKS[i % len(TASKS)]} of a list of numbers. "
                                         f"Code only.{' Use a loop.' if i >= len(TASKS) else ''}"}],
            temperature=0.0, max_tokens=96,
        )
        for i in range(calls)
    ]
    results: dict[str, Any] = {"model": "qwen2.5-coder-0.5b Q4_K_M", "calls": calls,
                               "parallel": parallel}
    texts: dict[str, list[str]] = {}
    for mode, backend, concurrency in (("serial_in_process", "in-process", 1),
                                       ("server_batched", "server", parallel)):
        lm = LocalLM(path, name="bench", n_ctx=2048, backend=backend,  # type: ignore[arg-type]
                     parallel=parallel, n_threads=threads)
        lm.load()
        asyncio.run(batched_run(lm, requests[:1], 1))  # warm-up: first call reads the prompt
        wall, generated, texts[mode] = asyncio.run(batched_run(lm, requests, concurrency))
        results[mode] = {"wall_s": round(wall, 2), "generated_tokens": generated,
                         "generated_tok_per_s": round(generated / wall, 1),
                         "concurrency": concurrency}
        lm.close()
    results["speedup"] = round(results["server_batched"]["generated_tok_per_s"]
                               / results["serial_in_process"]["generated_tok_per_s"], 2)
    results["identical_replies"] = sum(
        a == b for a, b in zip(texts["serial_in_process"], texts["server_batched"], strict=True)
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--local-calls", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--batched-calls", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=4, help="server slots and concurrency")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-remote", action="store_true")
    parser.add_argument("--skip-batched", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if not args.skip_remote:
        report["remote"] = remote(args.calls, args.concurrency, args.latency, args.runs)
    if not args.skip_local:
        report["local"] = local(args.local_calls, args.threads)
    if not args.skip_batched:
        report["batched"] = batched(args.batched_calls, args.parallel, args.threads)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if "remote" in report:
        r = report["remote"]
        print(
            f"remote: {r['calls']} calls x {r['latency_s']} s / {r['concurrency']} concurrent: "
            f"floor {r['floor_s']} s, median wall {r['wall_s_median']} s "
            f"({r['ratio_to_floor']}x floor; runs {r['wall_s_runs']})"
        )
    if "local" in report:
        print(f"local: {report['local']['model']}, {report['local']['calls']} calls")
        for mode in ("with_prefix_cache", "without_prefix_cache"):
            m = report["local"][mode]
            print(
                f"  {mode:<22} prompt {m['prompt_tok_per_s']:>7} tok/s evaluated "
                f"({m['prompt_tokens_evaluated']}/{m['prompt_tokens']} tokens read), "
                f"effective {m['effective_prompt_tok_per_s']:>7} tok/s, "
                f"generation {m['generation_tok_per_s']:>5} tok/s, {m['seconds_per_call']} s/call"
            )

    if "batched" in report:
        b = report["batched"]
        print(f"batched: {b['model']}, {b['calls']} code requests of up to 96 tokens")
        for mode in ("serial_in_process", "server_batched"):
            m = b[mode]
            print(f"  {mode:<18} {m['concurrency']} at a time: {m['generated_tokens']} tokens "
                  f"in {m['wall_s']} s = {m['generated_tok_per_s']} generated tok/s")
        print(f"  speedup {b['speedup']}x; replies identical to the serial ones: "
              f"{b['identical_replies']}/{b['calls']}")


if __name__ == "__main__":
    main()
