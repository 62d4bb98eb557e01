"""Why a proposal ended as it did, and why a run stopped: enums, each with a message.

The enum is what code compares (and what the store keeps in its own column);
the message is for people.  Nothing reads meaning out of a message's wording.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["StopReason", "Verdict"]


class Verdict(str, Enum):
    """How one proposal ended."""

    ACCEPTED = "accepted"
    GATE_REJECTED = "gate_rejected"
    SKIPPED_PERFECT = "skipped_perfect"
    DUPLICATE = "duplicate"
    DUPLICATE_IN_FLIGHT = "duplicate_in_flight"
    REFLECTION_UNUSABLE = "reflection_unusable"
    REFLECTION_LM_FAILED = "reflection_lm_failed"
    MERGE_UNUSABLE = "merge_unusable"
    MERGE_LM_FAILED = "merge_lm_failed"

    @property
    def failed(self) -> bool:
        """An error (the LM or its reply), not the algorithm rejecting a text as designed."""
        return self in _FAILED

    @property
    def lm_failed(self) -> bool:
        """The LM call itself failed (counted towards giving up on a broken reflection LM)."""
        return self in (Verdict.REFLECTION_LM_FAILED, Verdict.MERGE_LM_FAILED)


_FAILED = frozenset(
    {
        Verdict.REFLECTION_UNUSABLE,
        Verdict.REFLECTION_LM_FAILED,
        Verdict.MERGE_UNUSABLE,
        Verdict.MERGE_LM_FAILED,
    }
)

class StopReason(str, Enum):
    """Why a run stopped planning proposals."""

    BUDGET = "budget"
    TIME = "time"
    STOP_FILE = "stop_file"
    MAX_PROPOSALS = "max_proposals"
    PATIENCE = "patience"
    SCORE_THRESHOLD = "score_threshold"
    PERFECT = "perfect"
    SOLVED = "solved"
    MINIBATCHES_PERFECT = "minibatches_perfect"
    IDLE = "idle"
    TOKENS = "tokens"
    USD = "usd"
    SIGNAL = "signal"
    REQUESTED = "requested"
    #: Read from a store whose run has not finished (still running, interrupted or killed).
    UNFINISHED = "unfinished"

    @property
    def resumable(self) -> bool:
        """Stopped from outside (a signal, a request): continuing later is expected."""
        return self in (StopReason.SIGNAL, StopReason.REQUESTED, StopReason.UNFINISHED)
