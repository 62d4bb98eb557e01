"""Concurrency and rate limits that every wrapper of one model shares.

A :class:`Limiter` bounds the calls in flight and, optionally, the requests and
tokens started in any sliding 60-second window.  It uses no loop-bound asyncio
primitive, so one limiter serves successive event loops (``optimize`` called
twice, one test loop after another); it is meant for one thread at a time.
:class:`LimiterPool` hands out one limiter per model, so the task LM and the
reflection LM on the same model cannot together exceed the provider's limits.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from ..errors import ConfigError
from ._base import LM, ChatRequest, LMResponse

__all__ = ["LimitedLM", "Limiter", "LimiterPool", "estimate_tokens", "shared_limiters"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def estimate_tokens(request: ChatRequest) -> int:
    """Tokens a request may use before its reply says: ~4 characters a token plus ``max_tokens``.

    Providers count ``max_tokens`` against a tokens-per-minute limit up front too.
    """
    chars = sum(len(m.content) for m in request.messages)
    return chars // 4 + 1 + (request.max_tokens or 0)


class _Gate:
    """A FIFO counting semaphore whose waiters are futures of whichever loop is running."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.peak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.active < self.limit and not self._waiters:
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted just as we were cancelled: hand the slot on
            else:
                with suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)

    def release(self) -> None:
        self.active -= 1
        self.wake()

    def wake(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done() or waiter.get_loop().is_closed():
                continue
            self._take()
            waiter.set_result(None)


@dataclass(slots=True, eq=False)
class _Spend:
    """One call's start time and token reservation (compared by identity)."""

    started: float
    tokens: int


class Limiter:
    """At most ``concurrency`` calls in flight, ``rpm`` starts and ``tpm`` tokens per minute.

    ``concurrency=None`` sets no limit of its own: a run's one concurrency setting
    (``EngineConfig.concurrency``) already bounds the calls it makes, and a
    per-model limit can only tighten it.

    Token use is reserved from :func:`estimate_tokens` when a call starts and
    corrected to the reported usage when it ends.  A single call larger than
    ``tpm`` still runs, alone in its window, rather than waiting forever.
    ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(
        self,
        concurrency: int | None = None,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        window: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        _check_positive(concurrency=concurrency, rpm=rpm, tpm=tpm, window=window)
        self._gate = _Gate(sys.maxsize if concurrency is None else concurrency)
        self.rpm = rpm
        self.tpm = tpm
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._spends: deque[_Spend] = deque()
        self._tokens_in_window = 0
        self.requests = 0

    @property
    def concurrency(self) -> int:
        return self._gate.limit

    @property
    def in_flight(self) -> int:
        return self._gate.active

    @property
    def peak_in_flight(self) -> int:
        """The most calls that were ever in flight at once (for tests and benchmarks)."""
        return self._gate.peak

    def __repr__(self) -> str:
        return f"Limiter(concurrency={self.concurrency}, rpm={self.rpm}, tpm={self.tpm})"

    def tighten(
        self, concurrency: int | None = None, rpm: float | None = None, tpm: float | None = None
    ) -> None:
        """Lower any limit to the given value; limits are never loosened by sharing."""
        _check_positive(concurrency=concurrency, rpm=rpm, tpm=tpm)
        if concurrency is not None:
            self._gate.limit = min(self._gate.limit, concurrency)
        if rpm is not None:
            self.rpm = rpm if self.rpm is None else min(self.rpm, rpm)
        if tpm is not None:
            self.tpm = tpm if self.tpm is None else min(self.tpm, tpm)

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0) -> AsyncIterator[_Spend]:
        """Hold one call's place; set ``.tokens`` on the yielded record to the real usage."""
        await self._gate.acquire()
        try:
            spend = await self._admit(estimated_tokens)
            yield spend
        finally:
            self._gate.release()

    def settle(self, spend: _Spend, tokens: int) -> None:
        """Replace a call's reserved tokens by what it really used."""
        if spend in self._spends:
            self._tokens_in_window += tokens - spend.tokens
        spend.tokens = tokens

    async def _admit(self, estimated: int) -> _Spend:
        while True:
            now = self._clock()
            self._expire(now)
            wait = max(self._rpm_wait(now), self._tpm_wait(now, estimated))
            if wait <= 0:
                spend = _Spend(now, estimated)
                self._spends.append(spend)
                self._tokens_in_window += estimated
                self.requests += 1
                return spend
            await self._sleep(wait)

    def _expire(self, now: float) -> None:
        while self._spends and self._spends[0].started <= now - self.window:
            self._tokens_in_window -= self._spends.popleft().tokens

    def _rpm_wait(self, now: float) -> float:
        if self.rpm is None or len(self._spends) < self.rpm:
            return 0.0
        oldest_to_go = self._spends[len(self._spends) - int(self.rpm)]
        return oldest_to_go.started + self.window - now

    def _tpm_wait(self, now: float, estimated: int) -> float:
        if self.tpm is None or not self._spends:
            return 0.0
        excess = self._tokens_in_window + estimated - self.tpm
        if excess <= 0:
            return 0.0
        for spend in self._spends:
            excess -= spend.tokens
            if excess <= 0:
                return spend.started + self.window - now
        return self._spends[-1].started + self.window - now


def _check_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be positive, got {value}")


class LimitedLM:
    """Runs ``inner`` under ``limiter``; share the limiter to share the limits."""

    def __init__(self, inner: LM, limiter: Limiter | None = None) -> None:
        self.inner = inner
        self.limiter = limiter if limiter is not None else Limiter()

    @property
    def model(self) -> str:
        return self.inner.model

    def __repr__(self) -> str:
        return f"LimitedLM({self.inner!r}, {self.limiter!r})"

    async def chat(self, request: ChatRequest) -> LMResponse:
        async with self.limiter.slot(estimate_tokens(request)) as spend:
            response = await self.inner.chat(request)
            self.limiter.settle(spend, response.usage.total_tokens)
            return response


class LimiterPool:
    """One :class:`Limiter` per key (model and endpoint); asking again tightens it."""

    def __init__(self) -> None:
        self._limiters: dict[str, Limiter] = {}

    def get(
        self,
        key: str,
        *,
        concurrency: int | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
    ) -> Limiter:
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = Limiter(concurrency, rpm=rpm, tpm=tpm)
        else:
            limiter.tighten(concurrency, rpm, tpm)
        return limiter

    def clear(self) -> None:
        self._limiters.clear()


#: The pool ``resolve_lm`` uses unless told otherwise.
shared_limiters = LimiterPool()
