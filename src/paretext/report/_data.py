"""What a report shows, computed from a run store: frozen records and nothing drawn.

:func:`collect` reads a store once and derives everything every view needs
(HTML, terminal, JSON export, MLflow), so those views only format and tests
assert on data instead of markup.  It works on a run that is still going or
was killed: nothing here assumes the run summary exists.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._ids import ExampleId, content_hash
from .._types import Candidate, Proposal, Rollout
from ..artifact._transfer import Transfer, find_transfers
from ..engine import pareto_frontier
from ..store import EventRecord, LMCallRecord, RunStore

__all__ = [
    "CandidateView",
    "ChildChange",
    "CurvePoint",
    "DiffSegment",
    "Failure",
    "FeedbackItem",
    "InstanceBest",
    "ModelUsage",
    "ProposalView",
    "ReportData",
    "collect",
    "text_diff",
]

#: Rejections that are the algorithm working as intended, not something that went wrong.


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One committed candidate, with the scores aligned to :attr:`ReportData.instances`."""

    id: str
    parents: tuple[str, ...]
    origin: str
    iteration: int | None
    score: float
    scores: tuple[float | None, ...]
    components: Mapping[str, str]
    changed: tuple[str, ...]
    depth: int
    wins: int
    on_frontier: bool
    is_best: bool
    rollouts_at: int | None


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The state right after one commit (the seed, or one proposal accepted or not)."""

    rollouts: int
    best_score: float
    best: str
    frontier_size: int
    iteration: int | None
    accepted: bool
    candidate: str | None
    candidate_score: float | None


@dataclass(frozen=True, slots=True)
class DiffSegment:
    op: Literal["equal", "insert", "delete"]
    text: str


@dataclass(frozen=True, slots=True)
class ComponentDiff:
    component: str
    before: str
    after: str
    segments: tuple[DiffSegment, ...]


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """What reflection was shown for one minibatch example: the parent's output and feedback."""

    example_id: str
    score: float
    output: str
    feedback: str
    error: str | None


@dataclass(frozen=True, slots=True)
class ChildChange:
    """How a candidate differs from its (first) parent and what led to the change."""

    candidate: str
    base: str
    parents: tuple[str, ...]
    kind: str
    iteration: int | None
    parent_gate: float | None
    child_gate: float | None
    score_before: float
    score_after: float
    diffs: tuple[ComponentDiff, ...]
    feedback: tuple[FeedbackItem, ...]


@dataclass(frozen=True, slots=True)
class ProposalView:
    iteration: int
    kind: str
    parents: tuple[str, ...]
    components: tuple[str, ...]
    accepted: bool
    reason: str
    parent_gate: float | None
    child_gate: float | None
    candidate: str | None


@dataclass(frozen=True, slots=True)
class InstanceBest:
    """The best output seen on one validation instance, and who produced it."""

    example_id: str
    candidate: str
    score: float
    output: str
    feedback: str


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """Calls recorded in the store (paid once each; replays on resume are not counted)."""

    role: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Failure:
    kind: Literal["run", "proposal", "rollout"]
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report shows.  ``summary`` fields are ``None`` while a run is in progress."""

    location: str | None
    status: str
    finished: bool
    stop_reason: str | None
    seconds: float | None
    fingerprint: Mapping[str, Any]
    meta: Mapping[str, Any]
    perfect_score: float
    instances: tuple[str, ...]
    candidates: tuple[CandidateView, ...]
    frontier: tuple[str, ...]
    best: str | None
    curve: tuple[CurvePoint, ...]
    changes: tuple[ChildChange, ...]
    proposals: tuple[ProposalView, ...]
    best_outputs: tuple[InstanceBest, ...]
    usage: tuple[ModelUsage, ...]
    failures: tuple[Failure, ...]
    rollouts_used: int
    rollouts_limit: int | None
    #: Ideas that spread between tasks (batch-mode artifact runs; see paretext.artifact).
    transfers: tuple[Transfer, ...] = ()

    @property
    def batch_mode(self) -> bool:
        return _mapping(self.meta.get("artifact")).get("mode") == "batch"

    def candidate(self, candidate_id: str) -> CandidateView:
        for c in self.candidates:
            if c.id == candidate_id:
                return c
        raise KeyError(candidate_id)

    @property
    def best_candidate(self) -> CandidateView | None:
        return None if self.best is None else self.candidate(self.best)

    @property
    def seed_score(self) -> float | None:
        return self.candidates[0].score if self.candidates else None

    @property
    def accepted(self) -> int:
        return sum(p.accepted for p in self.proposals)

    @property
    def rejected(self) -> int:
        return sum(not p.accepted for p in self.proposals)

    @property
    def total_cost_usd(self) -> float | None:
        """``None`` when any model's price is unknown: an unknown cost is never shown as free."""
        costs = [u.cost_usd for u in self.usage]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


def collect(store: RunStore) -> ReportData:
    """Read ``store`` once and derive the report.  Raises ``StoreError`` when it holds no run."""
    info = store.info()
    candidates = store.candidates()
    proposals = store.proposals()
    rollouts = {(r.candidate_hash, str(r.example_id)): r for r in store.rollouts()}
    events = store.events()
    config = _mapping(_mapping(info.fingerprint.get("config")).get("EngineConfig"))
    frontier_type = str(config.get("frontier", "instance"))
    perfect = float(config.get("perfect_score", 1.0))
    summary = info.summary

    instances = tuple(str(k) for k in candidates[0].val_scores) if candidates else ()
    keys: dict[str, dict[str, float]] = {c.id: _frontier_keys(c, frontier_type) for c in candidates}
    order = [c.id for c in candidates]
    frontier = tuple(pareto_frontier(keys, order))
    best = max(candidates, key=lambda c: (c.score, -order.index(c.id))).id if candidates else None
    top = {ex: max(_score(c, ex) for c in candidates) for ex in instances}
    # An instance where every candidate scores the same is nobody's win.
    contested = {ex for ex in instances if min(_score(c, ex) for c in candidates) < top[ex]}
    rollouts_at = _rollouts_at(events, len(instances))
    depths = _depths(candidates)

    views = tuple(
        CandidateView(
            id=c.id,
            parents=tuple(c.parents),
            origin=c.origin,
            iteration=c.iteration,
            score=c.score,
            scores=tuple(c.val_scores.get(ExampleId(ex)) for ex in instances),
            components=dict(c.components),
            changed=tuple(c.changed),
            depth=depths[c.id],
            wins=sum(_score(c, ex) == top[ex] for ex in contested),
            on_frontier=c.id in frontier,
            is_best=c.id == best,
            rollouts_at=rollouts_at.get(c.id),
        )
        for c in candidates
    )
    used = summary.get("rollouts_used") if summary else None
    limit = summary.get("rollouts_limit") if summary else None
    if limit is None:
        limit = _mapping(info.meta.get("cli")).get("rollouts_limit")
    return ReportData(
        location=store.location,
        status=info.status,
        finished=summary is not None and info.status == "finished",
        stop_reason=None if summary is None else summary.get("stop_reason"),
        seconds=None if summary is None else summary.get("seconds"),
        fingerprint=dict(info.fingerprint),
        meta=dict(info.meta),
        perfect_score=perfect,
        instances=instances,
        candidates=views,
        frontier=frontier,
        best=best,
        curve=_curve(events, candidates, keys, len(instances)),
        changes=tuple(_change(c, candidates, proposals, rollouts) for c in candidates if c.parents),
        proposals=tuple(_proposal_view(p) for p in proposals),
        best_outputs=_best_outputs(candidates, instances, rollouts),
        usage=_usage(store.lm_calls()),
        failures=_failures(info.status, summary, candidates, proposals, rollouts),
        rollouts_used=int(used) if isinstance(used, int) else len(rollouts),
        rollouts_limit=int(limit) if isinstance(limit, int) else None,
        transfers=_transfers(info.meta, candidates),
    )


def _transfers(meta: Mapping[str, Any], candidates: Sequence[Candidate]) -> tuple[Transfer, ...]:
    artifact = _mapping(meta.get("artifact"))
    if artifact.get("mode") != "batch":
        return ()
    return find_transfers(candidates, [str(t) for t in artifact.get("components", ())])


# -- helpers -------------------------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _by_id(candidates: Sequence[Candidate], cid: str) -> Candidate:
    return next(c for c in candidates if c.id == cid)


def _score(c: Candidate, ex: str) -> float:
    return float(c.val_scores.get(ExampleId(ex), float("-inf")))


def _frontier_keys(c: Candidate, frontier_type: str) -> dict[str, float]:
    """The same keys the engine builds its frontier over, so the report agrees with the run."""
    instance = {str(k): v for k, v in c.val_scores.items()}
    objective = {f"obj:{k}": v for k, v in c.val_objectives.items()}
    if frontier_type == "objective":
        return objective or instance
    if frontier_type == "hybrid":
        return {**instance, **objective}
    return instance


def _depths(candidates: Sequence[Candidate]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for c in candidates:  # parents are always committed before their children
        depth[c.id] = 1 + max((depth.get(p, 0) for p in c.parents), default=-1)
    return depth


def _rollouts_at(events: Sequence[EventRecord], n_val: int) -> dict[str, int]:
    """Rollouts spent when each candidate was committed (the seed costs one validation pass)."""
    out: dict[str, int] = {}
    for e in events:
        cid = e.payload.get("candidate")
        if not isinstance(cid, str):
            continue
        if e.kind == "seed":
            out[cid] = n_val
        elif e.kind == "proposal" and isinstance(e.payload.get("spent"), int):
            out[cid] = int(e.payload["spent"])
    return out


def _curve(
    events: Sequence[EventRecord],
    candidates: Sequence[Candidate],
    keys: Mapping[str, Mapping[str, float]],
    n_val: int,
) -> tuple[CurvePoint, ...]:
    by_id: dict[str, Candidate] = {str(c.id): c for c in candidates}
    committed: list[str] = []
    best: str | None = None
    points: list[CurvePoint] = []
    for e in events:
        cid = e.payload.get("candidate")
        new = by_id.get(cid) if isinstance(cid, str) else None
        if e.kind == "seed":
            spent, accepted, iteration = n_val, new is not None, None
        elif e.kind == "proposal":
            spent = int(e.payload.get("spent", points[-1].rollouts if points else 0))
            accepted = bool(e.payload.get("accepted"))
            iteration = e.payload.get("iteration")
        else:
            continue
        if new is not None:
            committed.append(new.id)
            if best is None or new.score > by_id[best].score:
                best = new.id
        if best is None:
            continue
        points.append(
            CurvePoint(
                rollouts=spent,
                best_score=by_id[best].score,
                best=best,
                frontier_size=len(pareto_frontier({c: keys[c] for c in committed}, committed)),
                iteration=iteration if isinstance(iteration, int) else None,
                accepted=accepted and new is not None,
                candidate=None if new is None else new.id,
                candidate_score=None if new is None else new.score,
            )
        )
    return tuple(points)


# Whitespace, words (hyphens kept inside: "RULE-2", "step-by-step"), or one punctuation mark.
_TOKENS = re.compile(r"\s+|\w[\w-]*|[^\w\s]")


def text_diff(before: str, after: str) -> tuple[DiffSegment, ...]:
    """A word-level diff: prompts are often one long line, where a line diff says nothing."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    out: list[DiffSegment] = []

    def add(op: Literal["equal", "insert", "delete"], text: str) -> None:
        if not text:
            return
        if out and out[-1].op == op:
            out[-1] = DiffSegment(op, out[-1].text + text)
        else:
            out.append(DiffSegment(op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add("delete", "".join(a[i1:i2]))
            add("insert", "".join(b[j1:j2]))
    return tuple(out)


def render_output(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)


def _change(
    child: Candidate,
    candidates: Sequence[Candidate],
    proposals: Sequence[Proposal],
    rollouts: Mapping[tuple[str, str], Rollout],
) -> ChildChange:
    base = _by_id(candidates, child.parents[0])
    proposal = next((p for p in proposals if p.candidate_id == child.id), None)
    names = child.changed or tuple(
        k for k in child.components if child.components[k] != base.components.get(k)
    )
    diffs = tuple(
        ComponentDiff(
            name,
            base.components.get(name, ""),
            child.components[name],
            text_diff(base.components.get(name, ""), child.components[name]),
        )
        for name in names
    )
    feedback: list[FeedbackItem] = []
    if proposal is not None and child.origin == "mutation":
        base_hash = content_hash(base.components)
        for ex in proposal.gate_examples:
            r = rollouts.get((base_hash, str(ex)))
            if r is not None:
                feedback.append(
                    FeedbackItem(str(ex), r.score, render_output(r.output), r.feedback, r.error)
                )
    return ChildChange(
        candidate=child.id,
        base=base.id,
        parents=tuple(child.parents),
        kind=child.origin,
        iteration=child.iteration,
        parent_gate=None if proposal is None else proposal.parent_gate_score,
        child_gate=None if proposal is None else proposal.child_gate_score,
        score_before=base.score,
        score_after=child.score,
        diffs=diffs,
        feedback=tuple(feedback),
    )


def _proposal_view(p: Proposal) -> ProposalView:
    return ProposalView(
        iteration=p.iteration,
        kind=p.kind,
        parents=tuple(p.parents),
        components=tuple(p.components),
        accepted=p.accepted,
        reason=p.reason,
        parent_gate=p.parent_gate_score,
        child_gate=p.child_gate_score,
        candidate=p.candidate_id,
    )


def _best_outputs(
    candidates: Sequence[Candidate],
    instances: Sequence[str],
    rollouts: Mapping[tuple[str, str], Rollout],
) -> tuple[InstanceBest, ...]:
    hashes = {c.id: content_hash(c.components) for c in candidates}
    out: list[InstanceBest] = []
    for ex in instances:
        # The earliest candidate with the top score holds the instance, as in the engine.
        holder = max(enumerate(candidates), key=lambda ic: (_score(ic[1], ex), -ic[0]))[1]
        r = rollouts.get((hashes[holder.id], ex))
        out.append(
            InstanceBest(
                example_id=ex,
                candidate=holder.id,
                score=_score(holder, ex),
                output="" if r is None else render_output(r.output),
                feedback="" if r is None else (r.error or r.feedback),
            )
        )
    return tuple(out)


def _usage(calls: Sequence[LMCallRecord]) -> tuple[ModelUsage, ...]:
    groups: dict[tuple[str, str], list[LMCallRecord]] = {}
    for call in calls:
        groups.setdefault((call.role, call.response.model), []).append(call)
    out = []
    for (role, model), group in sorted(groups.items()):
        costs = [c.response.cost_usd for c in group]
        out.append(
            ModelUsage(
                role=role,
                model=model,
                calls=len(group),
                prompt_tokens=sum(c.response.usage.prompt_tokens for c in group),
                completion_tokens=sum(c.response.usage.completion_tokens for c in group),
                cost_usd=None
                if any(x is None for x in costs)
                else sum(x for x in costs if x is not None),
            )
        )
    return tuple(out)


def _failures(
    status: str,
    summary: Mapping[str, Any] | None,
    candidates: Sequence[Candidate],
    proposals: Sequence[Proposal],
    rollouts: Mapping[tuple[str, str], Rollout],
) -> tuple[Failure, ...]:
    out: list[Failure] = []
    if status == "failed":
        error = summary.get("error") if summary else None
        out.append(Failure("run", "run", str(error or "the run failed")))
    for p in proposals:
        if p.failed:
            out.append(Failure("proposal", f"proposal {p.iteration} ({p.kind})", p.reason))
    names: dict[str, str] = {}
    for c in candidates:  # equal texts share rollouts: name them after the first candidate
        names.setdefault(content_hash(c.components), c.id)
    for (h, ex), r in rollouts.items():
        if r.error is not None:
            who = names.get(h, f"candidate {h[:8]}")
            out.append(Failure("rollout", f"{who} on {ex}", r.error))
    return tuple(out)
