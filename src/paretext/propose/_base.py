"""The proposer seam: how a mutation's new texts are produced.

GEPA's reflective mutation is one implementation; baselines (OPRO-style,
resampling, few-shot bootstrapping) are others, all run by the same engine
with the same budget, gate and store.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._types import Candidate, Rollout
from ..lm._base import LM

__all__ = ["MutationProposer", "MutationRequest"]


@dataclass(frozen=True, slots=True)
class MutationRequest:
    """What a proposer may read: all of it committed before the proposal was planned."""

    iteration: int
    parent: Candidate
    components: tuple[str, ...]
    examples: Sequence[Any]
    rollouts: Sequence[Rollout]
    rejected: Mapping[str, tuple[str, ...]]
    history: tuple[Candidate, ...]


class MutationProposer(ABC):
    """Returns new texts for ``request.components``.

    Raise :class:`~paretext.errors.ReflectionParseError` for an unusable LM reply
    and let :class:`~paretext.errors.LMError` through: the engine records both.
    ``bind`` is called once with the reflection LM and the run's limiter.
    """

    lm: LM
    limiter: asyncio.Semaphore

    def bind(self, lm: LM, limiter: asyncio.Semaphore) -> None:
        self.lm = lm
        self.limiter = limiter

    @abstractmethod
    async def propose(self, request: MutationRequest) -> dict[str, str]: ...

    def needs_feedback(self) -> bool:
        """Whether proposals read the parent's minibatch rollouts (GEPA's do)."""
        return True
