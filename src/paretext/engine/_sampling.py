"""Epoch-shuffled minibatches: every training example is seen once per epoch."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .._ids import ExampleId

__all__ = ["EpochSampler"]


class EpochSampler:
    """Minibatch ``k`` is positions ``[k*m, (k+1)*m)`` of an endless sequence of shuffled
    epochs, each shuffle seeded by ``(seed, epoch)``: a pure function of ``k``.
    """

    def __init__(self, ids: Sequence[ExampleId], size: int, seed: int) -> None:
        if not ids:
            raise ValueError("cannot sample minibatches from no examples")
        self._ids = list(ids)
        self.size = min(size, len(ids))
        self._seed = seed
        self._epochs: dict[int, list[ExampleId]] = {}

    def _epoch(self, e: int) -> list[ExampleId]:
        if e not in self._epochs:
            order = list(self._ids)
            random.Random(f"{self._seed}:epoch:{e}").shuffle(order)
            self._epochs[e] = order
        return self._epochs[e]

    def batch(self, k: int) -> tuple[ExampleId, ...]:
        n = len(self._ids)
        out: list[ExampleId] = []
        pos = k * self.size
        while len(out) < self.size:
            e, i = divmod(pos, n)
            candidate = self._epoch(e)[i]
            if candidate not in out:
                out.append(candidate)
            pos += 1
        return tuple(out)
