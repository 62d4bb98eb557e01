"""Limiter, LimitedLM, RetryingLM and TimeoutLM with fake clocks and scripted LMs."""

from __future__ import annotations

import asyncio
import random

import pytest

from paretext.errors import (
    ConfigError,
    ContextWindowExceeded,
    LMAuthError,
    LMBadRequestError,
    LMRateLimitError,
    LMTransportError,
)
from paretext.lm import (
    ChatRequest,
    LimitedLM,
    Limiter,
    LimiterPool,
    LMResponse,
    RetryingLM,
    RetryPolicy,
    ScriptedLM,
    TimeoutLM,
    Usage,
)


def ask(text: str = "hello", **kwargs: object) -> ChatRequest:
    return ChatRequest.of([{"role": "user", "content": text}], **kwargs)


class FakeClock:
    """A clock that only moves when a waiter sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


# --- concurrency ----------------------------------------------------------------------------


async def test_concurrency_is_bounded_and_shared_between_wrappers() -> None:
    limiter = Limiter(3)
    slow = ScriptedLM(lambda r: "ok", model="m", latency=0.01)
    a, b = LimitedLM(slow, limiter), LimitedLM(slow, limiter)
    await asyncio.gather(*(lm.chat(ask()) for lm in [a, b] * 10))
    assert limiter.peak_in_flight == 3
    assert limiter.in_flight == 0


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    limiter = Limiter(1)
    gate = asyncio.Event()

    async def hold(request: ChatRequest) -> str:
        await gate.wait()
        return "done"

    lm = LimitedLM(ScriptedLM(hold, model="m"), limiter)
    first = asyncio.create_task(lm.chat(ask()))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(lm.chat(ask()))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    assert (await first).text == "done"
    assert limiter.in_flight == 0
    assert (await lm.chat(ask())).text == "done"


def test_one_limiter_serves_successive_event_loops() -> None:
    limiter = Limiter(2)
    lm = LimitedLM(ScriptedLM(lambda r: "ok", model="m", latency=0.001), limiter)

    async def burst() -> None:
        await asyncio.gather(*(lm.chat(ask()) for _ in range(6)))

    asyncio.run(burst())
    asyncio.run(burst())
    assert limiter.peak_in_flight == 2 and limiter.requests == 12


def test_pool_shares_per_key_and_only_tightens() -> None:
    pool = LimiterPool()
    first = pool.get("openai/m", concurrency=32, rpm=600)
    again = pool.get("openai/m", concurrency=8, tpm=10_000)
    assert first is again
    assert (first.concurrency, first.rpm, first.tpm) == (8, 600, 10_000)
    assert pool.get("openai/m", concurrency=64).concurrency == 8
    assert pool.get("other/m") is not first


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        Limiter(0)
    with pytest.raises(ConfigError):
        Limiter(1, rpm=-1)


# --- rate limits ----------------------------------------------------------------------------


async def test_requests_per_minute_use_a_sliding_window() -> None:
    clock = FakeClock()
    limiter = Limiter(10, rpm=3, clock=clock, sleep=clock.sleep)
    lm = LimitedLM(ScriptedLM(lambda r: "ok", model="m"), limiter)
    starts = []
    for _ in range(7):
        await lm.chat(ask())
        starts.append(clock.now)
    assert starts == [0, 0, 0, 60, 60, 60, 120]


async def test_tokens_per_minute_count_real_usage() -> None:
    clock = FakeClock()
    limiter = Limiter(10, tpm=100, clock=clock, sleep=clock.sleep)

    def reply(request: ChatRequest) -> LMResponse:
        return LMResponse("ok", "m", usage=Usage(prompt_tokens=30, completion_tokens=10))

    lm = LimitedLM(ScriptedLM(reply, model="m"), limiter)
    times = []
    for _ in range(4):
        await lm.chat(ask("x" * 8))  # estimated at 3 tokens, settled at 40
        times.append(clock.now)
    # 0, 40, 80 tokens used when calls 1-3 start (each fits with its 3-token estimate);
    # call 4 would make 123 > 100, so it waits for call 1 to leave the window.
    assert times == [0, 0, 0, 60]


async def test_one_call_larger_than_tpm_runs_alone() -> None:
    clock = FakeClock()
    limiter = Limiter(10, tpm=10, clock=clock, sleep=clock.sleep)
    lm = LimitedLM(ScriptedLM(lambda r: "ok", model="m"), limiter)
    await lm.chat(ask("y" * 400))
    await lm.chat(ask("y" * 400))
    assert clock.now == 60


# --- retries --------------------------------------------------------------------------------


class Flaky:
    """Raises the given errors in order, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    @property
    def model(self) -> str:
        return "flaky"

    async def chat(self, request: ChatRequest) -> LMResponse:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return LMResponse("ok", "flaky", usage=Usage(1, 1))


async def test_backoff_is_exponential_capped_and_deterministic() -> None:
    clock = FakeClock()
    errors = [LMTransportError("boom", model="flaky") for _ in range(5)]
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=5.0, jitter=0.5)
    lm = RetryingLM(Flaky(*errors), policy, rng=random.Random(7), sleep=clock.sleep)
    assert (await lm.chat(ask())).text == "ok"
    rng = random.Random(7)
    expected = [min(5.0, 2.0**n) * (1 - 0.5 * rng.random()) for n in range(5)]
    assert clock.sleeps == pytest.approx(expected)


async def test_default_jitter_depends_only_on_the_request() -> None:
    async def delays() -> list[float]:
        clock = FakeClock()
        errors = [LMTransportError("boom") for _ in range(3)]
        await RetryingLM(Flaky(*errors), sleep=clock.sleep).chat(ask("same"))
        return clock.sleeps

    assert await delays() == await delays()


async def test_retry_after_is_honoured_up_to_its_cap() -> None:
    clock = FakeClock()
    errors = [LMRateLimitError("429", retry_after=7.0), LMRateLimitError("429", retry_after=900)]
    policy = RetryPolicy(base_delay=0.1, max_retry_after=60)
    lm = RetryingLM(Flaky(*errors), policy, sleep=clock.sleep)
    await lm.chat(ask())
    assert clock.sleeps == [7.0, 60.0]


@pytest.mark.parametrize(
    "error",
    [
        LMAuthError("401", status=401),
        LMBadRequestError("400", status=400),
        ContextWindowExceeded("too long", status=400),
    ],
)
async def test_never_retries_what_cannot_succeed(error: Exception) -> None:
    clock = FakeClock()
    inner = Flaky(error)
    with pytest.raises(type(error)):
        await RetryingLM(inner, sleep=clock.sleep).chat(ask())
    assert inner.calls == 1 and clock.sleeps == []


async def test_other_exceptions_are_not_swallowed() -> None:
    inner = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        await RetryingLM(inner).chat(ask())
    assert inner.calls == 1


def test_policy_validates() -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError):
        RetryPolicy(jitter=2)


# --- timeout --------------------------------------------------------------------------------


async def test_timeout_is_a_retryable_transport_error() -> None:
    lm = TimeoutLM(ScriptedLM(lambda r: "late", model="slow", latency=1.0), 0.05)
    with pytest.raises(LMTransportError, match=r"no reply within 0\.05s") as info:
        await lm.chat(ask())
    assert info.value.retryable and info.value.model == "slow"


async def test_timeout_applies_per_attempt() -> None:
    attempts = 0

    async def slow_once(request: ChatRequest) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await asyncio.sleep(1.0)
        return "second try"

    clock = FakeClock()
    lm = RetryingLM(TimeoutLM(ScriptedLM(slow_once, model="m"), 0.05), sleep=clock.sleep)
    assert (await lm.chat(ask())).text == "second try"
    assert attempts == 2
