"""paretext.dspy.GEPA in a subprocess, for the kill -9 and resume test.

Usage: python resume_worker.py TASK_URL REFLECTION_URL RUN_DIR LOG_FILE OUT_JSON
Each program run and each reflection call appends a line to LOG_FILE before it is paid.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
sys.path.insert(0, str(Path(__file__).parent))

import dspy
from dspy_world import TwoStep, examples, metric

from paretext._ids import content_hash
from paretext.dspy import GEPA, DspyLM
from paretext.lm import ChatRequest, LMResponse, register_price

task_url, reflection_url, run_dir, log_path, out_path = sys.argv[1:6]
log = open(log_path, "a", buffering=1)  # noqa: SIM115 - line-buffered for the whole run
register_price("reflector", 0.0, 0.0)


class LoggedTwoStep(TwoStep):
    def forward(self, question: str) -> dspy.Prediction:
        texts = {n: p.signature.instructions for n, p in self.named_predictors()}
        log.write(f"rollout {content_hash(texts)} {question}\n")
        return super().forward(question)


class LoggedLM:
    def __init__(self, inner: DspyLM) -> None:
        self.inner = inner

    @property
    def model(self) -> str:
        return self.inner.model

    async def chat(self, request: ChatRequest) -> LMResponse:
        log.write(f"lm {request.cache_key(self.model)}\n")
        return await self.inner.chat(request)


task_lm = dspy.LM("openai/task-model", api_base=task_url, api_key="k", cache=False)
reflection_lm = dspy.LM("openai/reflector", api_base=reflection_url, api_key="k", cache=False)
optimizer = GEPA(
    metric=metric,
    max_metric_calls=160,
    reflection_lm=LoggedLM(DspyLM(reflection_lm)),
    num_threads=4,
    track_stats=True,
    log_dir=run_dir,
    stop=None,
)
with dspy.context(lm=task_lm):
    optimized = optimizer.compile(
        LoggedTwoStep(), trainset=examples(0, 12), valset=examples(12, 24)
    )
results: Any = optimized.detailed_results
summary = {
    "best": {n: p.signature.instructions for n, p in optimized.named_predictors()},
    "scores": results.val_aggregate_scores,
    "subscores": [{str(k): v for k, v in s.items()} for s in results.val_subscores],
    "parents": results.parents,
    "metric_calls": results.total_metric_calls,
}
Path(out_path).write_text(json.dumps(summary, sort_keys=True))
