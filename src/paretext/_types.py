"""Committed records.  Frozen and slotted: nothing handed out is ever mutated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ._ids import CandidateId, ExampleId
from ._verdict import StopReason, Verdict

__all__ = [
    "Candidate",
    "Example",
    "Failure",
    "Feedback",
    "HoldoutSelection",
    "Origin",
    "Proposal",
    "Result",
    "Rollout",
    "TraceStep",
    "UsageTotals",
]

Origin = Literal["seed", "mutation", "merge"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a metric says about one output: a score and *why*.

    ``objectives`` holds named sub-scores for multi-objective metrics; the engine
    can build its frontier over them (``EngineConfig.frontier``).  ``sections`` is
    side information by name (compiler output, failing tests, timings); reflection
    sees it after ``text`` as ``## name`` blocks, repeats collapsed and the whole
    held to a size budget (head and tail kept).  ``components`` says something to
    one component only: ``components={"plan": "..."}`` is shown to the reflection
    on ``plan`` (besides ``text``) and to no other.
    """

    score: float
    text: str = ""
    objectives: Mapping[str, float] = field(default_factory=dict)
    sections: Mapping[str, str] = field(default_factory=dict)
    components: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a program run, tagged with the component whose text it used.

    Reflection on component ``c`` is shown the steps tagged ``c`` (or every step
    when none is tagged), so it sees what that component actually did.
    """

    component: str | None
    inputs: Any
    output: Any
    name: str = ""


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled example: a stable id plus the user's payload, passed as is."""

    id: ExampleId
    data: Any


@dataclass(frozen=True, slots=True)
class Rollout:
    """One evaluation of one candidate on one example: output, trace, score, feedback.

    ``error`` is set when the program or metric failed; the score is then 0
    (or the metric's floor) and the message is shown to reflection.
    """

    candidate_hash: str
    example_id: ExampleId
    output: Any
    trace: tuple[TraceStep, ...]
    score: float
    feedback: str
    objectives: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    #: Feedback for one component's reflection only (``Feedback.components``).
    component_feedback: Mapping[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A committed candidate: its texts, lineage, and validation scores."""

    id: CandidateId
    components: Mapping[str, str]
    parents: tuple[CandidateId, ...]
    origin: Origin
    iteration: int | None
    changed: tuple[str, ...]
    val_scores: Mapping[ExampleId, float]
    val_objectives: Mapping[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Mean validation score (0.0 for an empty validation set)."""
        values = list(self.val_scores.values())
        return math.fsum(values) / len(values) if values else 0.0


@dataclass(frozen=True, slots=True)
class Proposal:
    """One proposal attempt, accepted or not: its :class:`Verdict` and a message saying why."""

    iteration: int
    kind: Literal["mutation", "merge"]
    parents: tuple[CandidateId, ...]
    components: tuple[str, ...]
    texts: Mapping[str, str] | None
    gate_examples: tuple[ExampleId, ...]
    parent_gate_score: float | None
    child_gate_score: float | None
    verdict: Verdict
    reason: str
    candidate_id: CandidateId | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    @property
    def failed(self) -> bool:
        """The proposal failed with an error, not at the gate (see :attr:`Verdict.failed`)."""
        return self.verdict.failed


@dataclass(frozen=True, slots=True)
class Failure:
    """Something that went wrong in a run: a failed rollout, a failed proposal, the run itself."""

    kind: Literal["run", "proposal", "rollout"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """LM usage of one model in one role over a run (``model`` reads ``role:model``).

    ``hedged`` counts calls sent a second time because the first ran far too long;
    the loser is cancelled, so its tokens (which a provider may bill) are not known.
    """

    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    cache_hits: int = 0
    role: str = ""
    hedged: int = 0


@dataclass(frozen=True, slots=True)
class HoldoutSelection:
    """How the returned candidate was chosen on validation examples the search never saw.

    ``scores`` are the contenders' mean scores on ``examples``; ``chosen`` is the
    returned ``Result.best``, ``search_best`` what the search alone would have returned.
    """

    examples: tuple[ExampleId, ...]
    scores: Mapping[CandidateId, float]
    chosen: CandidateId
    search_best: CandidateId


@dataclass(frozen=True, slots=True)
class Result:
    """What an optimization returns.  ``selection`` is set when a held-out slice chose ``best``."""

    best: Candidate
    candidates: tuple[Candidate, ...]
    frontier: tuple[Candidate, ...]
    best_outputs: Mapping[ExampleId, Any]
    best_candidate_per_instance: Mapping[ExampleId, CandidateId]
    proposals: tuple[Proposal, ...]
    failures: tuple[Failure, ...]
    rollouts_used: int
    rollouts_limit: int | None
    usage: tuple[UsageTotals, ...]
    stopped: StopReason
    stop_reason: str
    run_path: str | None
    seconds: float = 0.0
    selection: HoldoutSelection | None = None

    @property
    def lineage(self) -> Mapping[CandidateId, tuple[CandidateId, ...]]:
        """Each candidate id mapped to its parents' ids."""
        return MappingProxyType({c.id: c.parents for c in self.candidates})

    def candidate(self, candidate_id: str) -> Candidate:
        for c in self.candidates:
            if c.id == candidate_id:
                return c
        raise KeyError(candidate_id)

    def apply(self, program: Any, inputs: Any) -> list[Any]:
        """Run ``program`` with the best candidate on new ``inputs`` (sync; see ``pt.apply``)."""
        from .api import apply

        return apply(program, self, inputs)
