"""The planner: a pure decision from committed state; what it reserves and never pays twice."""

from __future__ import annotations

import copy

from paretext import Verdict
from paretext._ids import content_hash
from paretext.engine import (
    CommittedState,
    EpochSampler,
    Ledger,
    Outcome,
    ParetoSelector,
    Planner,
    RoundRobinComponents,
)

from .test_state import SEED, TRAIN, VAL, mutation, rollouts, seeded


def planner(state: CommittedState, ledger: Ledger, **kwargs: object) -> Planner:
    return Planner(
        state, ledger, sampler=EpochSampler(TRAIN, 2, seed=5), selector=ParetoSelector(),
        components=RoundRobinComponents(), merge_gate_size=2, seed=5, **kwargs,  # type: ignore[arg-type]
    )


def test_planning_reads_the_state_and_never_writes_it() -> None:
    state = seeded()
    before = copy.deepcopy(state)
    plan = planner(state, Ledger(100)).plan(0, [])
    assert plan is not None and state == before


def test_a_mutation_reserves_its_worst_case_and_shares_promised_parent_pairs() -> None:
    state, ledger = seeded(), Ledger(100)
    p = planner(state, ledger)
    first = p.plan(0, [])
    assert first is not None and first.kind == "mutation" and len(first.gate) == 2
    assert first.paid_parent_pairs == frozenset(first.gate)
    assert first.reservation.amount == 2 + 2 + (len(VAL)) and ledger.reserved == 8
    # Minibatch 1 overlaps minibatch 0 in one example (3 examples, 2 a batch): that parent
    # pair is already promised to proposal 0, so proposal 1 does not pay it again.
    second = p.plan(1, [0])
    assert second is not None and len(second.paid_parent_pairs) < len(second.gate)
    assert second.earlier_in_flight == (0,)


def test_no_plan_when_the_ledger_cannot_pay() -> None:
    ledger = Ledger(len(VAL) + 3)
    assert planner(seeded(), ledger).plan(0, []) is None and ledger.reserved == 0


def test_the_same_iteration_plans_the_same_proposal() -> None:
    plans = [planner(seeded(), Ledger(100)).plan(3, []) for _ in range(2)]
    assert plans[0] is not None and plans[1] is not None
    assert (plans[0].gate, plans[0].components, plans[0].parents) == (
        plans[1].gate, plans[1].components, plans[1].parents
    )


def test_a_proposer_that_reads_no_rollouts_gates_on_validation_for_free() -> None:
    plan = planner(seeded(), Ledger(100), reads_parent=False).plan(0, [])
    assert plan is not None and not plan.reads_parent
    assert set(plan.gate) <= set(VAL) and plan.paid_parent_pairs == frozenset()
    assert plan.reservation.amount == len(VAL)  # the child's gate is part of its validation


def test_a_merge_is_planned_once_earned_for_a_pair_from_two_lineages() -> None:
    state, ledger = seeded(max_merges=3), Ledger(1000)
    p = planner(state, ledger)
    for i, text in enumerate(("RULE-a", "RULE-b")):
        child = {"system": text}
        read = {**rollouts(SEED, dict.fromkeys(TRAIN, 0.0)),
                **rollouts(child, dict.fromkeys(TRAIN, 1.0)),
                **rollouts(child, {ex: float(j == i) for j, ex in enumerate(VAL)})}
        state.apply(Outcome(mutation(Verdict.ACCEPTED, text, iteration=i), read))
    assert state.merges_earned == 2 and p.merge_candidates() == [("c1", "c2", "c0")]
    merge = p.plan(2, [])
    assert merge is not None and merge.kind == "merge"
    assert {c.id for c in merge.parents} == {"c1", "c2"} and merge.ancestor is not None
    assert merge.reservation.amount == len(VAL) and set(merge.gate) <= set(VAL)
    assert merge.known_hashes >= {content_hash(SEED)}
    # The pair was tried: the second merge earned finds no pair and plans a mutation.
    again = p.plan(3, [2])
    assert again is not None and again.kind == "mutation"
