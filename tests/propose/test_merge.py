"""The article's merge example: an algebra lineage and a number-theory lineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import paretext as pt
from paretext._ids import CandidateId, ExampleId
from paretext._types import Candidate
from paretext.lm import ChatRequest
from paretext.propose import common_ancestor, plan_components


def cand(cid: str, parents: tuple[str, ...], **components: str) -> Candidate:
    return Candidate(
        CandidateId(cid),
        components,
        tuple(CandidateId(p) for p in parents),
        "mutation",
        0,
        tuple(components),
        {ExampleId("e"): 0.0},
    )


P0 = cand("P0", (), system="Solve.", format="Box the answer.")
P2 = cand("P2", ("P0",), system="Subtract equations pairwise.", format="Box the answer.")
P3 = cand("P3", ("P0",), system="Solve.", format="Box the integer answer mod 1000.")
P4 = cand(
    "P4",
    ("P2",),
    system="Subtract equations pairwise; enumerate all cases.",
    format="Box the answer.",
)
P5 = cand(
    "P5",
    ("P3",),
    system="Apply CRT for modular constraints.",
    format="Box the integer answer mod 1000.",
)
POOL = {c.id: c for c in (P0, P2, P3, P4, P5)}
ORDER = [CandidateId(c) for c in ("P0", "P2", "P3", "P4", "P5")]


def test_common_ancestor_of_divergent_lineages_is_the_seed() -> None:
    assert common_ancestor(CandidateId("P4"), CandidateId("P5"), POOL, ORDER) == "P0"
    assert common_ancestor(CandidateId("P4"), CandidateId("P2"), POOL, ORDER) == "P0"


def test_component_wise_where_they_differ_synthesis_where_both_changed() -> None:
    merged, conflicts = plan_components(P4, P5, P0)
    assert merged == {"format": "Box the integer answer mod 1000."}  # only P5's lineage changed it
    assert conflicts == ["system"]  # both lineages changed it: the LLM synthesises


def test_engine_merges_specialists_into_one_candidate_that_solves_both() -> None:
    """Algebra problems need rule A, number theory rule B; instance #7 needs both."""
    val = [
        {"id": f"v{i}", "needs": n}
        for i, n in enumerate(["A", "A", "A", "B", "B", "B", "AB", "AB"])
    ]
    train = [{"id": f"t{i}", "needs": n} for i, n in enumerate(["A", "B", "A", "B", "A", "B"])]

    def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        return "ok" if all(f"[{r}]" in candidate["system"] for r in example["needs"]) else "no"

    def metric(example: Mapping[str, Any], output: str) -> pt.Feedback:
        missing = "".join(r for r in example["needs"])
        return pt.Feedback(1.0 if output == "ok" else 0.0, f"needs rules {missing}")

    def reflect(request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        if "Version A" in prompt:
            return "```\nUse [A] then [B].\n```"
        # Each lineage learns one rule only: the first one named in its feedback.
        return "```\nUse [A].\n```" if request.sample // 100_000 % 2 == 0 else "```\nUse [B].\n```"

    result = pt.optimize(
        {"system": "Solve."},
        program,
        metric,
        train,
        val,
        reflection_lm=pt.ScriptedLM(reflect),
        budget=200,
        engine=pt.EngineConfig(proposals_in_flight=2),
        reflection=pt.ReflectionConfig(minibatches_per_proposal=1),
    )
    merges = [p for p in result.proposals if p.kind == "merge" and p.accepted]
    assert merges
    merged = result.candidate(merges[0].candidate_id or "")
    assert merged.origin == "merge" and len(merged.parents) == 2
    assert merged.val_scores[ExampleId("v6")] == 1.0  # the instance needing both insights
    assert result.best.id == merged.id
