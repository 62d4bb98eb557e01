"""``optimize_with_adapter``: any ``gepa.GEPAAdapter`` on paretext's engine."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ..._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from ..._types import Result, Rollout
from ...api import aoptimize, sync_twin
from ...engine import EngineObserver
from ...errors import ConfigError
from ...lm import LM
from ...propose import MutationRequest
from ...store import RunStore
from .. import Record, RecordReflection, recorded_feedback
from ._program import RECORD_STEP, AdapterProgram

__all__ = ["AdapterReflection", "aoptimize_with_adapter", "optimize_with_adapter"]


class AdapterReflection(RecordReflection):
    """Reflects on the adapter's reflective records; or lets the adapter propose.

    With ``use_adapter_proposer`` the adapter's own ``propose_new_texts`` writes
    the new texts from the same records; its LM calls are its own, so the run
    store does not record them (``reflection_lm`` still writes merges).
    """

    def __init__(self, config: ReflectionConfig, adapter: Any, use_adapter_proposer: bool) -> None:
        super().__init__(config)
        self._adapter = adapter
        self._adapter_proposes = use_adapter_proposer

    async def records(
        self, request: MutationRequest, component: str
    ) -> list[tuple[Record, Rollout]]:
        return [
            (step.inputs, rollout)
            for rollout in request.rollouts
            for step in rollout.trace
            if step.component == component and step.name == RECORD_STEP
        ]

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        if not self._adapter_proposes:
            return await super().propose(request)
        dataset = {
            c: [rec for rec, _ in await self.records(request, c)] for c in request.components
        }
        texts = await asyncio.to_thread(
            self._adapter.propose_new_texts,
            dict(request.parent.components),
            dataset,
            list(request.components),
        )
        return {c: str(texts[c]) for c in request.components if c in texts}


async def aoptimize_with_adapter(
    adapter: Any,
    seed_candidate: Mapping[str, str],
    trainset: Sequence[Any],
    valset: Sequence[Any] | None = None,
    *,
    reflection_lm: LM | str,
    budget: Budget | int | str = "light",
    run: str | Path | RunStore | None = None,
    threads: int = 16,
    engine: EngineConfig | None = None,
    reflection: ReflectionConfig | None = None,
    merge: MergeConfig | None = None,
    stop: StopConfig | None = None,
    observer: EngineObserver | None = None,
    proposer: Literal["paretext", "adapter"] = "paretext",
) -> Result:
    """Optimize ``seed_candidate`` with ``adapter`` (gepa's ``GEPAAdapter`` protocol).

    The adapter's ``evaluate`` makes the rollouts (one example each, up to
    ``threads`` at once) and its ``make_reflective_dataset`` the examples
    paretext's reflection reads; the budget (``budget=500`` rollouts = gepa's
    ``max_metric_calls``), the search, resume (``run=``) and the result are
    paretext's.  ``reflection_lm`` writes new texts (and merges); with
    ``proposer="adapter"`` the adapter's ``propose_new_texts`` writes mutations.
    ``valset=None`` is test-time search on ``trainset``.
    """
    if proposer not in ("paretext", "adapter"):
        raise ConfigError(f"proposer must be 'paretext' or 'adapter', got {proposer!r}")
    if proposer == "adapter" and getattr(adapter, "propose_new_texts", None) is None:
        raise ConfigError("proposer='adapter' needs an adapter with propose_new_texts")
    for method in ("evaluate", "make_reflective_dataset"):
        if not callable(getattr(adapter, method, None)):
            raise ConfigError(f"the adapter has no {method}(): it is not a gepa.GEPAAdapter")
    if not trainset:
        raise ConfigError("trainset is empty: paretext needs at least one example")
    train = {f"train-{i}": ex for i, ex in enumerate(trainset)}
    val = None if valset is None else {f"val-{i}": ex for i, ex in enumerate(valset)}
    program = AdapterProgram(adapter, {**train, **(val or {})}, list(seed_candidate), threads)
    reflection = reflection or ReflectionConfig()
    engine = engine or EngineConfig(concurrency=threads)
    try:
        return await aoptimize(
            dict(seed_candidate),
            program,
            recorded_feedback,
            _payloads(train),
            None if val is None else _payloads(val),
            reflection_lm=reflection_lm,
            budget=budget,
            run=run,
            engine=engine,
            reflection=reflection,
            merge=merge,
            stop=stop,
            observer=observer,
            proposer=AdapterReflection(reflection, adapter, proposer == "adapter"),
        )
    finally:
        program.close()


optimize_with_adapter = sync_twin(aoptimize_with_adapter, "optimize_with_adapter")


def _payloads(examples: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the engine stores per example: its id and the instance as JSON (for the fingerprint)."""
    return [{"id": example_id, "instance": data} for example_id, data in examples.items()]
