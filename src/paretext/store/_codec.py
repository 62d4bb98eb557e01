"""JSON encodings of records, shared by every backend that serialises."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from .._ids import CandidateId, ExampleId
from .._types import Candidate, Origin, Proposal, Rollout, TraceStep
from .._verdict import Verdict
from ..lm import LMResponse, Usage

__all__ = [
    "as_stored",
    "candidate_from_row",
    "candidate_to_row",
    "dumps",
    "proposal_from_row",
    "proposal_to_row",
    "response_from_row",
    "rollout_from_row",
    "rollout_to_row",
    "safe_text",
]


def dumps(value: Any) -> str:
    """JSON for a column; a lone surrogate is written escaped (``\\udcff``), so it loads back."""
    out = json.dumps(value, ensure_ascii=False, default=repr)
    return out if _encodable(out) else json.dumps(value, ensure_ascii=True, default=repr)


def safe_text(value: str | None) -> str | None:
    """A plain text column: lone surrogates (not UTF-8) written as ``\\udcff`` escapes."""
    if value is None or _encodable(value):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_stored(rollout: Rollout) -> Rollout:
    """The rollout exactly as a store reads it back, so fresh and resumed runs agree."""
    return rollout_from_row(rollout_to_row(rollout))


def _trace_to_json(trace: tuple[TraceStep, ...]) -> list[dict[str, Any]]:
    return [
        {"component": s.component, "inputs": s.inputs, "output": s.output, "name": s.name}
        for s in trace
    ]


def _trace_from_json(data: list[dict[str, Any]]) -> tuple[TraceStep, ...]:
    return tuple(
        TraceStep(d["component"], d["inputs"], d["output"], d.get("name", "")) for d in data
    )


def rollout_to_row(r: Rollout) -> tuple[Any, ...]:
    return (
        r.candidate_hash,
        r.example_id,
        dumps(r.output),
        dumps(_trace_to_json(r.trace)),
        r.score,
        safe_text(r.feedback),
        dumps(dict(r.objectives)),
        safe_text(r.error),
        dumps(dict(r.component_feedback)),
    )


def rollout_from_row(row: tuple[Any, ...]) -> Rollout:
    h, ex, output, trace, score, feedback, objectives, error, component_feedback = row
    return Rollout(
        candidate_hash=h,
        example_id=ExampleId(ex),
        output=json.loads(output),
        trace=_trace_from_json(json.loads(trace)),
        score=float(score),
        feedback=feedback,
        objectives=json.loads(objectives),
        error=error,
        component_feedback=json.loads(component_feedback),
    )


def candidate_to_row(c: Candidate) -> tuple[Any, ...]:
    return (
        c.id,
        dumps(dict(c.components)),
        dumps(list(c.parents)),
        c.origin,
        c.iteration,
        dumps(list(c.changed)),
        dumps(dict(c.val_scores)),
        dumps(dict(c.val_objectives)),
    )


def candidate_from_row(row: tuple[Any, ...]) -> Candidate:
    cid, comps, parents, origin, iteration, changed, scores, objectives = row
    return Candidate(
        id=CandidateId(cid),
        components=json.loads(comps),
        parents=tuple(CandidateId(p) for p in json.loads(parents)),
        origin=cast(Origin, origin),
        iteration=iteration,
        changed=tuple(json.loads(changed)),
        val_scores={ExampleId(k): v for k, v in json.loads(scores).items()},
        val_objectives=json.loads(objectives),
    )


def proposal_to_row(p: Proposal) -> tuple[Any, ...]:
    return (
        p.iteration,
        p.kind,
        dumps(list(p.parents)),
        dumps(list(p.components)),
        None if p.texts is None else dumps(dict(p.texts)),
        dumps(list(p.gate_examples)),
        p.parent_gate_score,
        p.child_gate_score,
        int(p.accepted),
        p.verdict.value,
        safe_text(p.reason),
        p.candidate_id,
    )


def proposal_from_row(row: tuple[Any, ...]) -> Proposal:
    it, kind, parents, comps, texts, gate, pscore, cscore, _accepted, verdict, reason, cid = row
    return Proposal(
        iteration=it,
        kind=kind,
        parents=tuple(CandidateId(p) for p in json.loads(parents)),
        components=tuple(json.loads(comps)),
        texts=None if texts is None else json.loads(texts),
        gate_examples=tuple(ExampleId(e) for e in json.loads(gate)),
        parent_gate_score=pscore,
        child_gate_score=cscore,
        verdict=Verdict(verdict),
        reason=reason,
        candidate_id=None if cid is None else CandidateId(cid),
    )


def response_to_row(r: LMResponse) -> tuple[Any, ...]:
    return (
        r.model,
        safe_text(r.text),
        r.usage.prompt_tokens,
        r.usage.completion_tokens,
        r.finish_reason,
        r.cost_usd,
    )


def response_from_row(row: Sequence[Any]) -> LMResponse:
    model, text, pt, ct, finish, cost = row
    return LMResponse(
        text=text, model=model, usage=Usage(pt, ct), finish_reason=finish, cost_usd=cost
    )
