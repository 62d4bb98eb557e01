"""CommittedState.apply, the one transition, on hand-made outcomes; replay against a live run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

import paretext as pt
from paretext import CandidateId, ExampleId, Verdict
from paretext._ids import content_hash
from paretext.engine import CommittedState, Outcome, replay
from paretext.testing import RuleWorld

VAL = tuple(ExampleId(f"v{i}") for i in range(4))
TRAIN = tuple(ExampleId(f"t{i}") for i in range(3))
SEED = {"system": "seed"}

Rollouts = dict[tuple[str, ExampleId], pt.Rollout]


def rollouts(components: Mapping[str, str], scores: Mapping[ExampleId, float],
             error: str | None = None) -> Rollouts:
    h = content_hash(components)
    return {
        (h, ex): pt.Rollout(h, ex, "out", (), s, "fb", error=error) for ex, s in scores.items()
    }


def seeded(max_merges: int = 2) -> CommittedState:
    state = CommittedState("instance", VAL, max_merges)
    state.apply_seed(SEED, rollouts(SEED, dict.fromkeys(VAL, 0.0)))
    return state


def mutation(verdict: Verdict, text: str, *, parent: str = "c0", child_gate: float | None = 2.0,
             iteration: int = 0) -> pt.Proposal:
    return pt.Proposal(
        iteration, "mutation", (CandidateId(parent),), ("system",), {"system": text}, TRAIN,
        0.0, child_gate, verdict, verdict.value,
    )


def test_the_seed_is_the_first_commit() -> None:
    state = seeded()
    assert state.order == ["c0"] and state.frontier == ["c0"] and state.spent == len(VAL)
    assert state.commits[0].candidate == "c0" and state.commits[0].rollouts == len(VAL)
    with pytest.raises(ValueError, match="already committed"):
        state.apply_seed(SEED, {})


def test_an_accepted_mutation_pays_its_pairs_and_joins_the_frontier() -> None:
    state = seeded()
    child = {"system": "better"}
    read = {**rollouts(SEED, dict.fromkeys(TRAIN, 0.0)),
            **rollouts(child, dict.fromkeys(TRAIN, 1.0)),
            **rollouts(child, {VAL[0]: 1.0, VAL[1]: 0.0, VAL[2]: 0.0, VAL[3]: 0.0})}
    proposal = state.apply(Outcome(mutation(Verdict.ACCEPTED, "better"), read))
    assert proposal.candidate_id == "c1" and proposal.accepted
    c1 = state.pool[CandidateId("c1")]
    assert c1.parents == ("c0",) and c1.changed == ("system",) and c1.score == 0.25
    assert state.best().id == "c1" and state.frontier == ["c1"]
    assert state.best_per_instance[VAL[0]] == ("c1", 1.0)
    assert state.best_per_instance[VAL[1]] == ("c0", 0.0)  # ties stay with the earliest
    assert state.spent == len(VAL) + 3 + 3 + len(VAL)  # parent gate, child gate, validation
    assert state.since_improvement == 0 and state.merges_earned == 1
    assert state.commits[-1].rollouts == state.spent


def test_a_rejected_child_is_remembered_and_an_idle_proposal_counts() -> None:
    state = seeded()
    read = {**rollouts(SEED, dict.fromkeys(TRAIN, 0.0)),
            **rollouts({"system": "worse"}, dict.fromkeys(TRAIN, 0.0))}
    state.apply(Outcome(mutation(Verdict.GATE_REJECTED, "worse"), read))
    assert content_hash({"system": "worse"}) in state.tried
    assert state.rejected[(CandidateId("c0"), "system")] == ["worse"]
    assert (state.since_improvement, state.idle_streak, state.spent) == (1, 0, len(VAL) + 6)
    # The same parent minibatch again, a reflection that gives nothing: no new pair is paid.
    state.apply(Outcome(mutation(Verdict.REFLECTION_UNUSABLE, "", child_gate=None,
                                 iteration=1), read))
    assert (state.idle_streak, state.spent) == (1, len(VAL) + 6)
    assert [f.kind for f in state.failures] == ["proposal"]


def test_failed_rollouts_are_reported_once_each() -> None:
    state = CommittedState("instance", VAL)
    state.apply_seed(SEED, rollouts(SEED, dict.fromkeys(VAL, 0.0), error="boom"))
    assert [f.where for f in state.failures] == [f"c0 on {ex}" for ex in VAL]
    read = rollouts(SEED, dict.fromkeys(VAL[:3], 0.0), error="boom")
    proposal = dataclasses.replace(mutation(Verdict.SKIPPED_PERFECT, ""), gate_examples=VAL[:3],
                                   texts=None, child_gate_score=None)
    state.apply(Outcome(proposal, read))
    assert len(state.failures) == len(VAL) and state.idle_streak == 1


def test_lm_failures_in_a_row_and_what_resets_them() -> None:
    state = seeded()
    failed = mutation(Verdict.REFLECTION_LM_FAILED, "", child_gate=None)
    for i in range(3):
        state.apply(Outcome(dataclasses.replace(failed, iteration=i, texts=None), {}))
    assert state.lm_failure_streak == 3
    skipped = dataclasses.replace(failed, iteration=3, verdict=Verdict.SKIPPED_PERFECT)
    state.apply(Outcome(skipped, {}))
    assert state.lm_failure_streak == 3  # a skipped proposal asked no LM
    gated = mutation(Verdict.GATE_REJECTED, "x", iteration=4)
    state.apply(Outcome(gated, rollouts({"system": "x"}, dict.fromkeys(TRAIN, 0.0))))
    assert state.lm_failure_streak == 0


def test_merges_are_earned_by_accepted_mutations_up_to_the_limit() -> None:
    state = seeded(max_merges=1)
    for i, text in enumerate(("a", "b")):
        child = {"system": text}
        read = {**rollouts(child, dict.fromkeys(TRAIN, 1.0)),
                **rollouts(child, {ex: float(j == i) for j, ex in enumerate(VAL)})}
        state.apply(Outcome(mutation(Verdict.ACCEPTED, text, iteration=i), read))
    assert state.merges_earned == 1 and len(state.order) == 3


def test_replay_of_a_stored_run_is_the_live_result() -> None:
    store = pt.InMemoryRunStore()
    world = RuleWorld(n=20, categories=4)
    result = world.optimize(train=8, budget=150, run=store)
    snap = replay(store)
    assert snap.candidates == result.candidates
    assert [c.id for c in result.frontier] == list(snap.frontier)
    assert snap.best == result.best and snap.proposals == result.proposals
    assert snap.failures == result.failures
    assert snap.rollouts_spent == snap.rollouts_committed == result.rollouts_used
    assert dict(snap.best_per_instance) == {
        ex: (cid, result.candidate(cid).val_scores[ex])
        for ex, cid in result.best_candidate_per_instance.items()
    }
    assert snap.stopped is result.stopped and snap.stop_reason == result.stop_reason
