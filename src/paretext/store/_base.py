"""The run store contract.

* Records handed out are frozen; a later write never changes one already returned.
* Each write is one transaction: after a crash a record is either whole or absent.
* Replaying a write is harmless: every write is keyed (rollout by candidate hash
  and example, candidate by id, proposal by iteration, event by sequence number,
  LM call by request key) and the first write wins.
* The store holds all of a run's state on disk; the engine writes it only through
  its recorder observer, and readers rebuild the run with ``paretext.engine.replay``.

Resume works by re-running the deterministic engine against the store:
every rollout and LM call already recorded is served from it, never paid again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._ids import ExampleId
from .._types import Candidate, Proposal, Rollout
from ..errors import StoreError
from ..lm import ChatRequest, LMResponse

__all__ = ["SCHEMA_VERSION", "EventRecord", "LMCallRecord", "RunInfo", "RunStore"]

SCHEMA_VERSION = 3


@dataclass(frozen=True, slots=True)
class RunInfo:
    fingerprint: Mapping[str, Any]
    meta: Mapping[str, Any]
    status: str
    summary: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class LMCallRecord:
    key: str
    role: str
    request: Mapping[str, Any]
    response: LMResponse


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    kind: str
    payload: Mapping[str, Any]
    created_at: float


class RunStore(ABC):
    """Where one run's history lives.  Backends implement only the abstract methods."""

    location: str | None = None

    # -- run ---------------------------------------------------------------
    @abstractmethod
    def _read_info(self) -> RunInfo | None: ...

    @abstractmethod
    def _write_info(self, info: RunInfo) -> None: ...

    def _claim_writer(self, wait: bool) -> None:  # noqa: B027 - an optional hook
        """Become the only writer of this run (a backend shared between processes locks)."""

    def claim(self, *, wait: bool = False) -> None:
        """Become this run's only writer before deciding anything about it (``open_run``
        claims too); raises ``RunLocked`` naming the process that writes it."""
        self._claim_writer(wait)

    def open_run(
        self, fingerprint: Mapping[str, Any], meta: Mapping[str, Any], *, wait: bool = False
    ) -> bool:
        """Claim the run, then start it or check that the stored one has the same fingerprint.

        Returns ``True`` when resuming (``meta`` is then merged into the stored meta).
        Raises :class:`StoreError` naming the first difference when the store holds a
        different run, and ``RunLocked`` naming the other process when one is writing
        it (``wait``: queue instead).
        """
        self._claim_writer(wait)
        info = self._read_info()
        if info is None:
            self._write_info(RunInfo(dict(fingerprint), dict(meta), "running", None))
            return False
        if dict(info.fingerprint) != dict(fingerprint):
            diff = _first_difference(dict(info.fingerprint), dict(fingerprint))
            raise StoreError(
                f"the run at {self.location or '<memory>'} was started with different settings "
                f"({diff}); use another run path or the same settings"
            )
        # What this invocation says about itself (a new budget, say) replaces what the last said.
        merged = {**dict(info.meta), **dict(meta)}
        self._write_info(RunInfo(info.fingerprint, merged, "running", info.summary))
        return True

    def finish(self, summary: Mapping[str, Any], status: str = "finished") -> None:
        info = self._read_info()
        if info is None:
            raise StoreError("finish() on a store with no run")
        self._write_info(RunInfo(info.fingerprint, info.meta, status, dict(summary)))

    def info(self) -> RunInfo:
        info = self._read_info()
        if info is None:
            raise StoreError(f"no run stored at {self.location or '<memory>'}")
        return info

    # -- rollouts ------------------------------------------------------------
    @abstractmethod
    def get_rollout(self, candidate_hash: str, example_id: ExampleId) -> Rollout | None: ...

    @abstractmethod
    def put_rollout(self, rollout: Rollout) -> None: ...

    @abstractmethod
    def rollouts(self) -> list[Rollout]: ...

    # -- LM calls --------------------------------------------------------------
    @abstractmethod
    def get_lm_response(self, key: str) -> LMResponse | None: ...

    @abstractmethod
    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None: ...

    @abstractmethod
    def lm_calls(self) -> list[LMCallRecord]: ...

    # -- commits -----------------------------------------------------------------
    @abstractmethod
    def put_candidate(self, candidate: Candidate) -> None: ...

    @abstractmethod
    def candidates(self) -> list[Candidate]: ...

    @abstractmethod
    def put_proposal(self, proposal: Proposal) -> None: ...

    @abstractmethod
    def proposals(self) -> list[Proposal]: ...

    @abstractmethod
    def append_event(self, seq: int, kind: str, payload: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def events(self) -> list[EventRecord]: ...

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Release resources; the default has none."""


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                return _first_difference(
                    old.get(key), new.get(key), f"{path}.{key}" if path else key
                )
    return f"{path or 'value'}: stored {old!r}, given {new!r}"
