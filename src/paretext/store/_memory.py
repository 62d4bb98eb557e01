"""A run store in memory: the default when no run path is given."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .._ids import ExampleId
from .._types import Candidate, Proposal, Rollout
from ..lm import ChatRequest, LMResponse
from ._base import EventRecord, LMCallRecord, RunInfo, RunStore

__all__ = ["InMemoryRunStore"]


class InMemoryRunStore(RunStore):
    def __init__(self) -> None:
        self._info: RunInfo | None = None
        self._rollouts: dict[tuple[str, str], Rollout] = {}
        self._lm: dict[str, LMCallRecord] = {}
        self._candidates: dict[str, Candidate] = {}
        self._proposals: dict[int, Proposal] = {}
        self._events: dict[int, EventRecord] = {}

    def _read_info(self) -> RunInfo | None:
        return self._info

    def _write_info(self, info: RunInfo) -> None:
        self._info = info

    def get_rollout(self, candidate_hash: str, example_id: ExampleId) -> Rollout | None:
        return self._rollouts.get((candidate_hash, example_id))

    def put_rollout(self, rollout: Rollout) -> None:
        self._rollouts.setdefault((rollout.candidate_hash, rollout.example_id), rollout)

    def rollouts(self) -> list[Rollout]:
        return list(self._rollouts.values())

    def get_lm_response(self, key: str) -> LMResponse | None:
        record = self._lm.get(key)
        return None if record is None else record.response

    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None:
        self._lm.setdefault(key, LMCallRecord(key, role, request.to_json(), response))

    def lm_calls(self) -> list[LMCallRecord]:
        return list(self._lm.values())

    def put_candidate(self, candidate: Candidate) -> None:
        self._candidates.setdefault(candidate.id, candidate)

    def candidates(self) -> list[Candidate]:
        return list(self._candidates.values())

    def put_proposal(self, proposal: Proposal) -> None:
        self._proposals.setdefault(proposal.iteration, proposal)

    def proposals(self) -> list[Proposal]:
        return [self._proposals[k] for k in sorted(self._proposals)]

    def append_event(self, seq: int, kind: str, payload: Mapping[str, Any]) -> None:
        self._events.setdefault(seq, EventRecord(seq, kind, dict(payload), time.time()))

    def events(self) -> list[EventRecord]:
        return [self._events[k] for k in sorted(self._events)]
