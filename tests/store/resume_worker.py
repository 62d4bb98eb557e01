"""A run in a subprocess, for kill -9 and resume tests.

Usage: python resume_worker.py RUN_DIR LOG_FILE OUT_JSON
Every physical rollout and reflection call appends a line to LOG_FILE first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Mapping
from typing import Any

import paretext as pt
from paretext._ids import content_hash
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector

run_dir, log_path, out_path = sys.argv[1:4]
world = RuleWorld(n=40, categories=8)
log = open(log_path, "a", buffering=1)  # noqa: SIM115 - line-buffered for the whole run


async def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
    log.write(f"rollout {content_hash(candidate)} {example['id']}\n")
    await asyncio.sleep(0.03)
    return world.program(candidate, example)


reflector = rule_reflector(1, latency=0.01)


async def reflect(request: ChatRequest) -> pt.LMResponse:
    log.write(f"lm {request.cache_key(reflector.model)}\n")
    return await reflector.chat(request)


result = world.optimize(
    train=20,
    program=program,
    reflection_lm=pt.ScriptedLM(reflect, model=reflector.model),
    budget=600,
    run=run_dir,
    engine=pt.EngineConfig(seed=11, concurrency=4),
    stop=pt.StopConfig(handle_signals=False),
)
summary = {
    "candidates": [
        [c.id, dict(c.components), list(c.parents), dict(c.val_scores)] for c in result.candidates
    ],
    "frontier": [c.id for c in result.frontier],
    "proposals": [list(map(str, dataclasses.astuple(p))) for p in result.proposals],
    "best": result.best.id,
    "best_outputs": dict(result.best_outputs),
    "rollouts_used": result.rollouts_used,
    "stop_reason": result.stop_reason,
}
with open(out_path, "w") as f:
    json.dump(summary, f, sort_keys=True)
