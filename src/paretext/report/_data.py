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

from .._ids import content_hash
from .._types import Candidate, Failure, HoldoutSelection, Proposal, Rollout, UsageTotals
from ..artifact import Transfer, find_transfers
from ..engine import Commit, RunSnapshot, replay, run_failures
from ..store import RunStore

__all__ = [
    "CandidateView",
    "ChildChange",
    "CurvePoint",
    "DiffSegment",
    "Failure",
    "FailureGroup",
    "FeedbackItem",
    "InstanceBest",
    "ModelUsage",
    "ProposalView",
    "ReportData",
    "collect",
    "group_failures",
    "text_diff",
]

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
class ReportData:
    """Everything a report shows.  ``summary`` fields are ``None`` while a run is in progress."""

    location: str | None
    status: str
    finished: bool
    stop_reason: str | None
    seconds: float | None
    seconds_total: float | None
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
    #: How a held-out validation slice chose ``best`` (``optimize(holdout=...)``), if it did.
    selection: HoldoutSelection | None = None

    @property
    def selection_line(self) -> str | None:
        """The held-out choice in one sentence, for every view of the run."""
        s = self.selection
        if s is None:
            return None
        chosen = f"{s.chosen} ({s.scores[s.chosen]:.3f})"
        if s.chosen == s.search_best:
            return f"chosen on {len(s.examples)} held-out examples: {chosen}, the search's best"
        return (f"chosen on {len(s.examples)} held-out examples: {chosen} over the search's "
                f"best {s.search_best} ({s.scores[s.search_best]:.3f})")

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


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Identical failures (same kind and message) shown once, with every place they happened."""

    kind: str
    message: str
    wheres: tuple[str, ...]

    @property
    def where(self) -> str:
        """The first place, and how many more (kept short: the message needs the room)."""
        more = len(self.wheres) - 1
        return self.wheres[0] + (f" and {more} more" if more else "")


def group_failures(failures: Sequence[Failure]) -> list[FailureGroup]:
    """Failures grouped by (kind, message), in order of first occurrence."""
    groups: dict[tuple[str, str], list[str]] = {}
    for f in failures:
        groups.setdefault((f.kind, f.message), []).append(f.where)
    return [FailureGroup(k, m, tuple(w)) for (k, m), w in groups.items()]


def collect(store: RunStore) -> ReportData:
    """Read ``store`` once and derive the report.  Raises ``StoreError`` when it holds no run."""
    info = store.info()
    config = _mapping(_mapping(info.fingerprint.get("config")).get("EngineConfig"))
    perfect = float(config.get("perfect_score", 1.0))
    summary = info.summary
    base: dict[str, Any] = {
        "location": store.location,
        "status": info.status,
        "finished": summary is not None and info.status == "finished",
        "stop_reason": None if summary is None else summary.get("stop_reason"),
        "seconds": None if summary is None else summary.get("seconds"),
        "seconds_total": None if summary is None else summary.get("seconds_total"),
        "fingerprint": dict(info.fingerprint),
        "meta": dict(info.meta),
        "perfect_score": perfect,
    }
    if not store.candidates():
        return ReportData(
            **base, instances=(), candidates=(), frontier=(), best=None, curve=(), changes=(),
            proposals=(), best_outputs=(), usage=(), failures=tuple(run_failures(info)),
            rollouts_used=0,
            rollouts_limit=None,
        )
    snap = replay(store)
    rollouts = {(r.candidate_hash, str(r.example_id)): r for r in store.rollouts()}
    candidates = list(snap.candidates)
    return ReportData(
        **base,
        instances=tuple(str(ex) for ex in snap.val_ids),
        candidates=_views(snap),
        frontier=tuple(snap.frontier),
        best=snap.best.id,
        curve=tuple(_point(c, snap) for c in snap.commits),
        changes=tuple(
            _change(c, candidates, snap.proposals, rollouts) for c in candidates if c.parents
        ),
        proposals=tuple(_proposal_view(p) for p in snap.proposals),
        best_outputs=_best_outputs(snap),
        usage=tuple(_model_usage(u) for u in snap.usage),
        failures=snap.failures,
        rollouts_used=snap.rollouts_spent,
        rollouts_limit=snap.rollouts_limit,
        transfers=_transfers(info.meta, candidates),
        selection=snap.selection,
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


def _views(snap: RunSnapshot) -> tuple[CandidateView, ...]:
    # A win: the top score on an instance, ties included (the heat map's reading); an
    # instance where every candidate scores the same is nobody's win.
    top = {ex: score for ex, (_, score) in snap.best_per_instance.items()}
    contested = {
        ex for ex in snap.val_ids if any(c.val_scores[ex] < top[ex] for c in snap.candidates)
    }
    rollouts_at = {c.candidate: c.rollouts for c in snap.commits if c.candidate is not None}
    depth: dict[str, int] = {}
    for c in snap.candidates:  # parents are always committed before their children
        depth[c.id] = 1 + max((depth.get(p, 0) for p in c.parents), default=-1)
    return tuple(
        CandidateView(
            id=c.id,
            parents=tuple(c.parents),
            origin=c.origin,
            iteration=c.iteration,
            score=c.score,
            scores=tuple(c.val_scores.get(ex) for ex in snap.val_ids),
            components=dict(c.components),
            changed=tuple(c.changed),
            depth=depth[c.id],
            wins=sum(c.val_scores[ex] == top[ex] for ex in contested),
            on_frontier=c.id in snap.frontier,
            is_best=c.id == snap.best.id,
            rollouts_at=rollouts_at.get(c.id),
        )
        for c in snap.candidates
    )


def _point(commit: Commit, snap: RunSnapshot) -> CurvePoint:
    new = None if commit.candidate is None else snap.candidate(commit.candidate)
    return CurvePoint(
        rollouts=commit.rollouts,
        best_score=commit.best_score,
        best=commit.best,
        frontier_size=commit.frontier_size,
        iteration=commit.iteration,
        accepted=new is not None,
        candidate=None if new is None else new.id,
        candidate_score=None if new is None else new.score,
    )


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


def _best_outputs(snap: RunSnapshot) -> tuple[InstanceBest, ...]:
    out: list[InstanceBest] = []
    for ex in snap.val_ids:
        holder, score = snap.best_per_instance[ex]
        r = snap.best_rollouts.get(ex)
        out.append(
            InstanceBest(
                example_id=str(ex),
                candidate=holder,
                score=score,
                output="" if r is None else render_output(r.output),
                feedback="" if r is None else (r.error or r.feedback),
            )
        )
    return tuple(out)


def _model_usage(u: UsageTotals) -> ModelUsage:
    return ModelUsage(
        role=u.role,
        model=u.model.removeprefix(f"{u.role}:"),
        calls=u.calls,
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        cost_usd=u.cost_usd,
    )
