"""Planning: which proposal comes next, decided synchronously from committed state.

The planner never awaits, so nothing can commit while it decides; it reads the
committed state and the ledger (and never writes the state) and keeps its own
bookkeeping (attempts per parent, minibatches handed out, parent rollouts
already promised, merges planned, merge pairs tried) in iteration order.  That
is what makes a run independent of timing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .._ids import CandidateId, ExampleId
from .._types import Candidate
from ..propose import ancestors, common_ancestor
from ._budget import Ledger, Reservation
from ._sampling import EpochSampler
from ._selection import CandidateSelector, ComponentSelector
from ._state import CommittedState

__all__ = ["Plan", "Planner"]


@dataclass(frozen=True)
class Plan:
    """One proposal, decided: everything its execution may read, frozen at plan time."""

    iteration: int
    kind: Literal["mutation", "merge"]
    parents: tuple[Candidate, ...]
    parent_hashes: tuple[str, ...]
    components: tuple[str, ...]
    gate: tuple[ExampleId, ...]
    paid_parent_pairs: frozenset[ExampleId]
    rejected: Mapping[str, tuple[str, ...]]
    known_hashes: frozenset[str]
    earlier_in_flight: tuple[int, ...]
    ancestor: Candidate | None
    merge_wins: tuple[tuple[str, ...], tuple[str, ...]]
    history: tuple[Candidate, ...]
    reservation: Reservation
    #: The parent is run on the gate minibatch (its rollouts are shown to the proposer).
    #: Otherwise the gate is drawn from validation, where the parent's scores are known.
    reads_parent: bool = True
    #: Minibatches in ``gate`` (one reflection each, then one synthesis when more than one).
    minibatches: int = 1


class Planner:
    def __init__(
        self,
        state: CommittedState,
        ledger: Ledger,
        *,
        sampler: EpochSampler,
        selector: CandidateSelector,
        components: ComponentSelector,
        merge_gate_size: int,
        seed: int,
        reads_parent: bool = True,
        minibatches: int = 1,
    ) -> None:
        self._state = state
        self._ledger = ledger
        self._sampler = sampler
        self._reads_parent = reads_parent
        self._width = minibatches
        self._val_sampler = EpochSampler(state.val_ids, sampler.size, seed)
        self._selector = selector
        self._components = components
        self._merge_gate_size = merge_gate_size
        self._seed = seed
        self._attempts_from: dict[CandidateId, int] = {}
        self._minibatches_drawn = 0
        self._planned_pairs: set[tuple[str, ExampleId]] = set()
        self._merges_planned = 0
        self._merge_pairs_tried: set[frozenset[CandidateId]] = set()

    def plan(self, iteration: int, in_flight: Sequence[int]) -> Plan | None:
        """Proposal ``iteration``, or ``None`` when the ledger cannot pay for one now."""
        rng = random.Random(f"{self._seed}:{iteration}")
        if self._merges_planned < self._state.merges_earned:
            plan = self._plan_merge(iteration, rng, in_flight)
            if plan is not None:
                self._merges_planned += 1
                return plan
        return self._plan_mutation(iteration, rng, in_flight)

    def _plan_mutation(
        self, iteration: int, rng: random.Random, in_flight: Sequence[int]
    ) -> Plan | None:
        state = self._state
        parent_id = self._selector.select(state.view(), rng)
        parent = state.pool[parent_id]
        parent_hash = state.hashes[parent_id]
        # The width never depends on the budget: a resumed run with a bigger budget must
        # plan the proposals the stored run planned.
        width = self._width if self._reads_parent else 1
        batch = self._batch(width)
        paid = frozenset(
            ex
            for ex in batch
            if self._reads_parent
            and (parent_hash, ex) not in state.evaluated
            and (parent_hash, ex) not in self._planned_pairs
        )
        cost = len(paid) + len(batch) + sum(ex not in batch for ex in state.val_ids)
        if not self._ledger.can_reserve(cost):
            return None
        attempt = self._attempts_from.get(parent_id, 0)
        components = self._components.choose(list(parent.components), parent.changed, attempt)
        self._attempts_from[parent_id] = attempt + 1
        self._minibatches_drawn += width
        if self._reads_parent:
            self._planned_pairs.update((parent_hash, ex) for ex in batch)
        return Plan(
            iteration=iteration,
            kind="mutation",
            parents=(parent,),
            parent_hashes=(parent_hash,),
            components=components,
            gate=batch,
            paid_parent_pairs=paid,
            rejected={c: tuple(state.rejected.get((parent_id, c), ())) for c in components},
            known_hashes=frozenset(state.by_hash) | state.tried,
            earlier_in_flight=tuple(in_flight),
            ancestor=None,
            merge_wins=((), ()),
            history=tuple(state.pool[c] for c in state.order),
            reservation=self._ledger.reserve(cost),
            reads_parent=self._reads_parent,
            minibatches=width,
        )

    def _batch(self, width: int) -> tuple[ExampleId, ...]:
        """The next ``width`` minibatches, as one gate batch (an example once)."""
        sampler = self._sampler if self._reads_parent else self._val_sampler
        drawn = (sampler.batch(self._minibatches_drawn + i) for i in range(width))
        return tuple(dict.fromkeys(ex for batch in drawn for ex in batch))

    def _plan_merge(
        self, iteration: int, rng: random.Random, in_flight: Sequence[int]
    ) -> Plan | None:
        state = self._state
        cost = len(state.val_ids)
        if not self._ledger.can_reserve(cost):
            return None
        pairs = self.merge_candidates()
        if not pairs:
            return None
        a_id, b_id, anc_id = pairs[rng.randrange(len(pairs))]
        self._merge_pairs_tried.add(frozenset((a_id, b_id)))
        a, b = state.pool[a_id], state.pool[b_id]
        differ = [ex for ex in state.val_ids if a.val_scores[ex] != b.val_scores[ex]]
        same = [ex for ex in state.val_ids if ex not in differ]
        size = min(self._merge_gate_size, len(state.val_ids))
        picked = rng.sample(differ, min(size, len(differ)))
        picked += rng.sample(same, size - len(picked))
        gate = tuple(ex for ex in state.val_ids if ex in picked)
        return Plan(
            iteration=iteration,
            kind="merge",
            parents=(a, b),
            parent_hashes=(state.hashes[a_id], state.hashes[b_id]),
            components=(),
            gate=gate,
            paid_parent_pairs=frozenset(),
            rejected={},
            known_hashes=frozenset(state.by_hash) | state.tried,
            earlier_in_flight=tuple(in_flight),
            ancestor=state.pool[anc_id],
            merge_wins=(tuple(state.wins(a_id)), tuple(state.wins(b_id))),
            history=(),
            reservation=self._ledger.reserve(cost),
        )

    def merge_candidates(self) -> list[tuple[CandidateId, CandidateId, CandidateId]]:
        """Frontier pairs from divergent lineages worth merging, with their common ancestor.

        A pair qualifies when neither descends from the other, it was never tried,
        their texts differ, and both score at least as well as the common ancestor.
        """
        state = self._state
        front = [c for c in state.order if c in state.frontier]
        out: list[tuple[CandidateId, CandidateId, CandidateId]] = []
        for i, a in enumerate(front):
            for b in front[i + 1 :]:
                if frozenset((a, b)) in self._merge_pairs_tried:
                    continue
                if a in ancestors(b, state.pool) or b in ancestors(a, state.pool):
                    continue
                if state.pool[a].components == state.pool[b].components:
                    continue
                anc = common_ancestor(a, b, state.pool, state.order)
                if anc is None:
                    continue
                floor = state.pool[anc].score
                if state.pool[a].score < floor or state.pool[b].score < floor:
                    continue
                out.append((a, b, anc))
        return out
