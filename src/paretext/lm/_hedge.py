"""Hedged calls: a call running far past the model's usual latency is sent once more.

A stalled provider connection otherwise holds its caller until the timeout
(often a minute), and with it everything that waits on that answer.  When a
call has run ``factor`` (2) times the model's recent p90 latency, one duplicate
is sent; the first answer wins and the other call is cancelled.  The latency
is learnt from calls that answered without a hedge, so a few slow calls (retried
errors) raise it little, and calls still waiting see it fall as others answer.  A response cache
outside this wrapper records the answer that won, so a resumed run replays it.

Only greedy requests (``temperature == 0``) are hedged by default: with sampling,
the faster of two answers is a biased pick (short answers finish first), so
hedging would change results.  ``sampled=True`` hedges those too.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Sequence

from ._base import LM, ChatRequest, LMResponse

__all__ = ["HedgedLM"]

#: How often a waiting call looks again at the threshold, which falls as other calls finish.
_RECHECK_S = 0.05


class HedgedLM:
    def __init__(
        self,
        inner: LM,
        *,
        factor: float = 2.0,
        quantile: float = 0.9,
        min_samples: int = 3,
        min_delay: float = 0.05,
        window: int = 200,
        sampled: bool = False,
        on_hedge: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.factor = factor
        self.quantile = quantile
        self.min_samples = min_samples
        self.min_delay = min_delay
        self.sampled = sampled
        self._on_hedge = on_hedge
        self._clock = clock
        self._latencies: deque[float] = deque(maxlen=window)
        self.hedges = 0

    @property
    def model(self) -> str:
        return self.inner.model

    def __repr__(self) -> str:
        return f"HedgedLM({self.inner!r}, factor={self.factor}, quantile={self.quantile})"

    def threshold(self) -> float | None:
        """Seconds after which a call is sent again; ``None`` until enough calls were seen."""
        if len(self._latencies) < self.min_samples:
            return None
        ordered = sorted(self._latencies)
        p = ordered[min(len(ordered) - 1, math.ceil(self.quantile * len(ordered)) - 1)]
        return max(self.min_delay, self.factor * p)

    async def chat(self, request: ChatRequest) -> LMResponse:
        if not (self.sampled or request.temperature == 0):
            return await self.inner.chat(request)
        started = self._clock()
        first = asyncio.ensure_future(self.inner.chat(request))
        tasks = [first]
        try:
            while not first.done():
                limit = self.threshold()
                if limit is not None and self._clock() - started >= limit:
                    break
                wait = _RECHECK_S if limit is None else limit - (self._clock() - started)
                await asyncio.wait([first], timeout=min(_RECHECK_S, max(wait, 0.0)))
            if first.done():
                response = first.result()
                self._latencies.append(self._clock() - started)
                return response
            self.hedges += 1
            self._on_hedge()
            tasks.append(asyncio.ensure_future(self.inner.chat(request)))
            return await _first_answer(tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task


async def _first_answer(tasks: Sequence[asyncio.Future[LMResponse]]) -> LMResponse:
    """The first call to answer; an error counts only once every call has failed."""
    pending = set(tasks)
    error: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is None:
                return task.result()
            error = error or task.exception()
    assert error is not None
    raise error
