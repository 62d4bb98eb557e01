"""Each fault the fake server injects is retried or failed as specified, with exact usage."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from fake_server import FakeOpenAIServer, Fault, words

from paretext.errors import (
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
    MeteredLM,
    OpenAIClientLM,
    RetryingLM,
    RetryPolicy,
    TimeoutLM,
    Usage,
    UsageTracker,
)

KEY = "sk-faults-0123456789abcdef"


@dataclass
class Sleeps:
    """Records the backoff waits instead of sleeping them."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Chain:
    client: OpenAIClientLM
    lm: RetryingLM
    sleeps: Sleeps


@pytest.fixture
async def chain(fake_server: FakeOpenAIServer) -> AsyncIterator[Chain]:
    client = OpenAIClientLM("openai/fake", base_url=fake_server.base_url, api_key=KEY)
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
    lm = RetryingLM(
        LimitedLM(TimeoutLM(client, 2.0), Limiter(4)), policy, rng=random.Random(1), sleep=sleeps
    )
    yield Chain(client, lm, sleeps)
    await client.aclose()


def ask(text: str = "what is six times seven", **kwargs: object) -> ChatRequest:
    return ChatRequest.of([{"role": "user", "content": text}], **kwargs)


EXPECTED = Usage(prompt_tokens=5, completion_tokens=6)  # "echo: what is six times seven"


async def test_429_is_retried_after_the_servers_retry_after(
    chain: Chain, fake_server: FakeOpenAIServer
) -> None:
    fake_server.inject(Fault("rate_limit", retry_after=2))
    response = await chain.lm.chat(ask())
    assert response.usage == EXPECTED
    assert chain.sleeps.delays == [2.0]  # the hint wins over the 10 ms backoff
    assert fake_server.outcomes == {"rate_limit": 1, "ok": 1}


async def test_500_is_retried_with_backoff(chain: Chain, fake_server: FakeOpenAIServer) -> None:
    fake_server.inject("server_error", "server_error")
    response = await chain.lm.chat(ask())
    assert response.text == "echo: what is six times seven"
    assert len(chain.sleeps.delays) == 2
    first, second = chain.sleeps.delays
    assert 0.005 <= first <= 0.01 and 0.01 <= second <= 0.02  # doubling, less up to half jitter
    assert chain.lm.retries == 2


async def test_a_reply_slower_than_the_timeout_is_retried(
    chain: Chain, fake_server: FakeOpenAIServer
) -> None:
    fake_server.inject(Fault("slow", delay=4.0))  # past the 2 s timeout
    response = await chain.lm.chat(ask())
    assert response.usage == EXPECTED
    assert len(chain.sleeps.delays) == 1
    assert fake_server.total_requests == 2


async def test_truncation_is_returned_not_retried(
    chain: Chain, fake_server: FakeOpenAIServer
) -> None:
    fake_server.inject("length")
    response = await chain.lm.chat(ask(max_tokens=2))
    assert response.truncated and response.finish_reason == "length"
    assert response.text == "echo: what"
    assert response.usage == Usage(prompt_tokens=5, completion_tokens=2)
    assert fake_server.total_requests == 1


async def test_malformed_json_is_retried(chain: Chain, fake_server: FakeOpenAIServer) -> None:
    fake_server.inject("malformed")
    response = await chain.lm.chat(ask())
    assert response.usage == EXPECTED
    assert fake_server.total_requests == 2


async def test_a_dropped_connection_is_retried(chain: Chain, fake_server: FakeOpenAIServer) -> None:
    fake_server.inject("drop")
    assert (await chain.lm.chat(ask())).usage == EXPECTED
    assert fake_server.total_requests == 2


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("unauthorized", LMAuthError, "HTTP 401"),
        ("context", ContextWindowExceeded, "maximum context length"),
        ("bad_request", LMBadRequestError, "Invalid value for 'temperature'"),
    ],
)
async def test_errors_that_cannot_succeed_fail_at_once(
    chain: Chain,
    fake_server: FakeOpenAIServer,
    fault: str,
    error: type[Exception],
    message: str,
) -> None:
    fake_server.inject(fault)
    with pytest.raises(error, match=message) as info:
        await chain.lm.chat(ask())
    assert fake_server.total_requests == 1
    assert chain.sleeps.delays == []
    assert getattr(info.value, "model", None) == "openai/fake"
    assert getattr(info.value, "status", None) in (400, 401)


async def test_persistent_failure_stops_after_max_attempts(
    chain: Chain, fake_server: FakeOpenAIServer
) -> None:
    fake_server.inject(*["server_error"] * 10)
    with pytest.raises(LMTransportError, match="HTTP 500"):
        await chain.lm.chat(ask())
    assert fake_server.total_requests == 4
    assert len(chain.sleeps.delays) == 3


async def test_rate_limit_without_hint_uses_backoff(
    chain: Chain, fake_server: FakeOpenAIServer
) -> None:
    fake_server.inject(*[Fault("rate_limit")] * 4)
    with pytest.raises(LMRateLimitError) as info:
        await chain.lm.chat(ask())
    assert info.value.retry_after is None
    assert all(d <= 0.05 for d in chain.sleeps.delays)


async def test_many_calls_complete_through_transient_faults_with_exact_usage() -> None:
    tracker = UsageTracker()
    with FakeOpenAIServer(transient_fault_rate=0.25, seed=3) as server:
        client = OpenAIClientLM("openai/fake", base_url=server.base_url, api_key=KEY, free=True)
        policy = RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01)
        lm = MeteredLM(
            RetryingLM(LimitedLM(TimeoutLM(client, 5.0), Limiter(16)), policy),
            tracker,
            role="task",
        )
        questions = [f"question number {i} " + "word " * (i % 7) for i in range(200)]
        responses = await asyncio.gather(*(lm.chat(ask(q)) for q in questions))
        await client.aclose()
    assert [r.text for r in responses] == [f"echo: {q}" for q in questions]
    faults = sum(n for kind, n in server.outcomes.items() if kind != "ok")
    assert faults > 20 and server.outcomes["ok"] == 200
    (totals,) = tracker.totals()
    assert totals.calls == 200
    assert totals.prompt_tokens == sum(words(q) for q in questions)
    assert totals.completion_tokens == sum(words(f"echo: {q}") for q in questions)
    assert totals.cost_usd == 0.0
