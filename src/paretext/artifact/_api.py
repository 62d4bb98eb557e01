"""``optimize_artifact``: optimize any text artifact from an evaluator that explains its score.

A thin layer over :func:`paretext.aoptimize`: the evaluator becomes the program
(its feedback is the output, so resume replays it exactly), the metric renders
the feedback's side information into budgeted sections, and an
:class:`ArtifactProposer` writes new versions.  Budget, gate, frontier, merge,
store and resume are the engine's own.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .._callables import is_async, positional_arity
from .._config import EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from .._flight import SingleFlight
from .._ids import CandidateId, ExampleId, canonical_json
from .._sections import render_sections
from .._types import Feedback, Result
from ..api import BudgetLike, aoptimize, sync_twin
from ..engine import EngineObserver
from ..errors import ConfigError, ProgramSignatureError
from ..lm import LM
from ..propose import MutationProposer, MutationRequest
from ..store import RunStore
from ._layout import Layout, Mode
from ._proposer import ArtifactProposer
from ._transfer import Transfer, find_transfers

__all__ = ["ArtifactResult", "TaskBest", "aoptimize_artifact", "optimize_artifact"]


@dataclass(frozen=True, slots=True)
class TaskBest:
    """The best artifact found for one task, with how it was evaluated."""

    task: str
    artifact: str | Mapping[str, str]
    candidate: CandidateId
    score: float
    objectives: Mapping[str, float]
    feedback: str


@dataclass(frozen=True, slots=True)
class ArtifactResult:
    """What :func:`optimize_artifact` returns.

    ``best`` is the best artifact: in batch mode a mapping from task id to that
    task's best artifact.  ``per_task`` has the best per task (validation task in
    generalize mode), ``transfers`` the ideas that spread between tasks (batch
    mode), ``evaluations`` the evaluator calls this process made (a repeated
    artifact and task pair is evaluated once), ``result`` the engine's full result.
    """

    mode: Mode
    best: str | Mapping[str, str]
    per_task: Mapping[str, TaskBest]
    transfers: tuple[Transfer, ...]
    evaluations: int
    result: Result


def _as_feedback(value: Any) -> Feedback:
    if isinstance(value, Feedback):
        return value
    if isinstance(value, bool | int | float):
        return Feedback(float(value))
    if isinstance(value, tuple) and len(value) == 2:
        return Feedback(float(value[0]), str(value[1]))
    if isinstance(value, Mapping) and "score" in value:
        return Feedback(
            float(value["score"]),
            str(value.get("text", value.get("feedback", ""))),
            dict(value.get("objectives", {})),
            {str(k): str(v) for k, v in dict(value.get("sections", {})).items()},
        )
    raise ConfigError(
        f"the evaluator returned {type(value).__name__}; expected a Feedback, a number, "
        "(score, text) or a dict with 'score'"
    )


class _Evaluations:
    """The user's evaluator as a program: one call per distinct (task, artifact) pair."""

    def __init__(self, evaluate: Callable[..., Any], layout: Layout, parallel: int | None) -> None:
        if not callable(evaluate):
            raise ProgramSignatureError(f"evaluate must be callable, got {type(evaluate).__name__}")
        arity = positional_arity(evaluate)
        if arity is not None and arity not in (1, 2):
            raise ProgramSignatureError(
                f"evaluate takes {arity} positional arguments; expected (candidate, task)"
                + (" or (candidate)" if layout.mode == "single" else "")
            )
        if arity == 1 and layout.mode != "single":
            raise ProgramSignatureError(
                f"evaluate takes only the candidate, but {layout.mode} mode passes a task too"
            )
        self._fn = evaluate
        self._with_task = arity != 1
        self._async = is_async(evaluate)
        self._layout = layout
        self._limit = asyncio.Semaphore(parallel) if parallel else None
        self._flight: SingleFlight[tuple[str, str], dict[str, Any]] = SingleFlight()
        self._done: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls = 0

    async def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> Any:
        artifact = self._layout.artifact_for(candidate, example)
        key = (str(example["id"]), canonical_json(artifact))
        if key in self._done:
            return self._done[key]
        value, _ = await self._flight.run(key, lambda: self._evaluate(artifact, example["task"]))
        self._done[key] = value
        return value

    async def _evaluate(self, artifact: Any, task: Any) -> dict[str, Any]:
        args = (artifact, task) if self._with_task else (artifact,)
        self.calls += 1
        if self._limit is not None:
            async with self._limit:
                raw = await self._call(args)
        else:
            raw = await self._call(args)
        fb = _as_feedback(raw)
        return {
            "score": fb.score,
            "text": fb.text,
            "objectives": dict(fb.objectives),
            "sections": dict(fb.sections),
        }

    async def _call(self, args: tuple[Any, ...]) -> Any:
        if self._async:
            return await self._fn(*args)
        return await asyncio.to_thread(self._fn, *args)


def _metric(objectives: Sequence[str], budget: int) -> Callable[[Any, Any], Feedback]:
    def metric(example: Any, output: Any) -> Feedback:
        missing = [name for name in objectives if name not in output["objectives"]]
        if missing:
            raise ValueError(f"the evaluator reported no value for objectives {missing}")
        sections = render_sections(output["sections"], budget)
        text = f"{output['text']}\n{sections}".strip() if sections else output["text"]
        return Feedback(float(output["score"]), text, output["objectives"])

    return metric


class _PerTask(MutationProposer):
    """Batch mode: hands the proposer only the components its minibatch's tasks read."""

    def __init__(self, inner: MutationProposer, layout: Layout) -> None:
        self.inner = inner
        self.layout = layout

    def bind(self, lm: LM, limiter: asyncio.Semaphore) -> None:
        super().bind(lm, limiter)
        self.inner.bind(lm, limiter)

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        wanted = [c for ex in request.examples for c in self.layout.reads(ex)]
        targets = tuple(dict.fromkeys(c for c in wanted if c in request.components))
        return await self.inner.propose(
            dataclasses.replace(request, components=targets or request.components)
        )


def _per_task(layout: Layout, result: Result) -> dict[str, TaskBest]:
    by_id = {c.id: c for c in result.candidates}
    out: dict[str, TaskBest] = {}
    for ex, cid in result.best_candidate_per_instance.items():
        cand = by_id[cid]
        output = result.best_outputs.get(ex) or {}
        artifact: str | Mapping[str, str]
        if layout.mode == "batch":
            artifact = cand.components[str(ex)]
        elif layout.text_seed:
            artifact = cand.components["artifact"]
        else:
            artifact = MappingProxyType(dict(cand.components))
        out[str(ex)] = TaskBest(
            task=str(ex),
            artifact=artifact,
            candidate=cid,
            score=cand.val_scores[ExampleId(str(ex))],
            objectives=MappingProxyType(dict(output.get("objectives", {}))),
            feedback=str(output.get("text", "")),
        )
    return out


async def aoptimize_artifact(
    seed: str | Mapping[str, str],
    evaluate: Callable[..., Any],
    *,
    tasks: Iterable[Any] | None = None,
    valset: Iterable[Any] | None = None,
    mode: Mode | None = None,
    reflection_lm: LM | str,
    objectives: Sequence[str] = (),
    objective: str = "Write an improved version that fixes the problems shown and scores higher.",
    kind: str = "an artifact",
    lang: str = "",
    budget: BudgetLike = "light",
    run: str | Path | RunStore | None = None,
    engine: EngineConfig | None = None,
    reflection: ReflectionConfig | None = None,
    merge: MergeConfig | None = None,
    stop: StopConfig | None = None,
    observer: EngineObserver | None = None,
    transfer: int = 2,
    feedback_chars: int = 2400,
    max_parallel_evaluations: int | None = None,
    proposer: MutationProposer | Callable[[Layout], MutationProposer] | None = None,
    run_meta: Mapping[str, Any] | None = None,
) -> ArtifactResult:
    """Optimize ``seed`` with ``evaluate(candidate, task) -> Feedback``.

    Modes (``mode=None`` picks from the arguments): ``single`` (no ``tasks``; the
    evaluator may take the candidate alone), ``batch`` (``tasks`` without
    ``valset``: one artifact per task, the seed a text shared by all or a mapping
    from task id to text; ideas that raised one task's score are shown when
    rewriting the others, ``transfer`` of them at a time), ``generalize`` (one
    shared artifact trained on ``tasks``, validated on ``valset``).

    The evaluator returns a :class:`~paretext.Feedback`: a score in [0, 1], a
    verdict, ``objectives`` (each name in ``objectives`` must be reported) and
    ``sections`` of side information, which reflection sees within
    ``feedback_chars``.  Sync evaluators run in worker threads, at most
    ``max_parallel_evaluations`` at once (set 1 for timings).  ``objective``,
    ``kind`` and ``lang`` shape the reflection prompt; ``proposer`` (or a function
    of the resolved :class:`Layout` returning one) replaces it: the comparisons use
    this seam.  The other arguments are
    :func:`paretext.aoptimize`'s.
    """
    layout = Layout.resolve(seed, tasks, valset, mode)
    reflection = reflection or ReflectionConfig()
    if layout.mode in ("batch", "single"):
        # One task's artifact per proposal: no parallel reflections on other tasks to combine.
        reflection = dataclasses.replace(
            reflection, minibatch_size=1, minibatches_per_proposal=1, components="all"
        )
    if proposer is not None and not isinstance(proposer, MutationProposer):
        proposer = proposer(layout)
    chosen = proposer or ArtifactProposer(
        layout,
        objective=objective,
        kind=kind,
        lang=lang,
        transfer=transfer,
        temperature=reflection.temperature,
        max_tokens=reflection.max_tokens,
        attempts=reflection.attempts,
        retry_temperature=reflection.retry_temperature,
        feedback_chars=feedback_chars,
    )
    if layout.mode == "batch":
        chosen = _PerTask(chosen, layout)
    evaluations = _Evaluations(evaluate, layout, max_parallel_evaluations)
    result = await aoptimize(
        layout.seed,
        evaluations,
        _metric(tuple(objectives), feedback_chars),
        layout.train,
        layout.val,
        reflection_lm=reflection_lm,
        budget=budget,
        run=run,
        engine=engine,
        reflection=reflection,
        merge=merge,
        stop=stop,
        observer=observer,
        run_meta={**(run_meta or {}), "artifact": layout.meta()},
        proposer=chosen,
    )
    per_task = _per_task(layout, result)
    best: str | Mapping[str, str]
    if layout.mode == "batch":
        best = MappingProxyType({t: str(b.artifact) for t, b in per_task.items()})
    elif layout.text_seed:
        best = result.best.components["artifact"]
    else:
        best = MappingProxyType(dict(result.best.components))
    transfers = (
        find_transfers(result.candidates, list(layout.seed)) if layout.mode == "batch" else ()
    )
    return ArtifactResult(
        mode=layout.mode,
        best=best,
        per_task=MappingProxyType(per_task),
        transfers=transfers,
        evaluations=evaluations.calls,
        result=result,
    )


optimize_artifact = sync_twin(aoptimize_artifact, "optimize_artifact")
