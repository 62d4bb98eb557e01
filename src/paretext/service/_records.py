"""Frozen records the service store hands out; a later write never changes one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EventRecord", "RoundRecord", "Slot", "Spend", "Version"]


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    tenant_id: int
    name: str
    program: Mapping[str, Any]
    policy: Mapping[str, Any]
    created_at: float
    round_requested: bool


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    slot_id: int
    number: int
    user_key: str
    components: Mapping[str, str]
    source: str
    round_id: int | None
    parent_number: int | None
    scores: Mapping[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    slot_id: int
    user_key: str
    client_id: str | None
    version: int | None
    input: Any
    output: str
    feedback: str | None
    score: float | None
    thumbs: bool | None
    corrected: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One optimization round; ``status`` is ``running`` until it finishes one way or another."""

    id: int
    slot_id: int
    user_key: str
    number: int
    status: str
    day: str
    event_max_id: int
    n_events: int
    base_version_id: int
    result_version_id: int | None
    run_path: str
    reserved_rollouts: int
    reserved_usd: float | None
    used_rollouts: int | None
    used_usd: float | None
    scores: Mapping[str, Any] | None
    attempts: int
    error: str | None
    lease_owner: str | None
    lease_until: float
    created_at: float
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class Spend:
    """What a slot's rounds have spent (or reserved, while running) on one UTC day."""

    rollouts: int
    usd: float
