"""Retries with backoff, and a per-call timeout, around any LM.

Only errors that say ``retryable`` (connection, timeout, 5xx, 429) are tried
again; a bad key, a bad request or a prompt that does not fit fails at once
with the provider's message.  Jitter is deterministic: by default it is drawn
from a generator seeded with the request's cache key and the attempt number, so
the same run waits the same way whatever the timing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..errors import ConfigError, LMError, LMTransportError
from ._base import LM, ChatRequest, LMResponse

__all__ = ["RetryPolicy", "RetryingLM", "TimeoutLM"]

log = logging.getLogger("paretext.lm")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff ``base_delay * multiplier**(n-1)``, capped, less up to ``jitter`` of it.

    A server's ``retry_after`` is honoured (waited at least, up to
    ``max_retry_after``).  ``max_attempts`` counts the first try.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigError(f"jitter must be in [0, 1], got {self.jitter}")

    def delay(self, attempt: int, error: LMError, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        backoff *= 1.0 - self.jitter * rng.random()
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            backoff = max(backoff, min(float(retry_after), self.max_retry_after))
        return backoff


class RetryingLM:
    """Calls ``inner`` again after a retryable :class:`LMError`, up to ``policy.max_attempts``.

    ``rng`` and ``sleep`` are injectable for tests; ``attempts``/``retries``
    count what happened, for reports.
    """

    def __init__(
        self,
        inner: LM,
        policy: RetryPolicy | None = None,
        *,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy()
        self._rng = rng
        self._sleep = sleep
        self.attempts = 0
        self.retries = 0

    @property
    def model(self) -> str:
        return self.inner.model

    def __repr__(self) -> str:
        return f"RetryingLM({self.inner!r}, max_attempts={self.policy.max_attempts})"

    def _jitter_rng(self, request: ChatRequest, attempt: int) -> random.Random:
        if self._rng is not None:
            return self._rng
        return random.Random(f"{request.cache_key(self.model)}:{attempt}")

    async def chat(self, request: ChatRequest) -> LMResponse:
        attempt = 1
        while True:
            self.attempts += 1
            try:
                return await self.inner.chat(request)
            except LMError as error:
                if not error.retryable or attempt >= self.policy.max_attempts:
                    raise
                wait = self.policy.delay(attempt, error, self._jitter_rng(request, attempt))
                log.info(
                    "%s; retry %d of %d in %.2fs",
                    error,
                    attempt,
                    self.policy.max_attempts - 1,
                    wait,
                )
                self.retries += 1
                await self._sleep(wait)
                attempt += 1


class TimeoutLM:
    """Fails a call of ``inner`` that takes longer than ``timeout`` seconds (retryable)."""

    def __init__(self, inner: LM, timeout: float) -> None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        self.inner = inner
        self.timeout = timeout

    @property
    def model(self) -> str:
        return self.inner.model

    def __repr__(self) -> str:
        return f"TimeoutLM({self.inner!r}, timeout={self.timeout})"

    async def chat(self, request: ChatRequest) -> LMResponse:
        try:
            return await asyncio.wait_for(self.inner.chat(request), self.timeout)
        except asyncio.TimeoutError:
            raise LMTransportError(
                f"{self.model}: no reply within {self.timeout:g}s", model=self.model
            ) from None
