"""Hedged calls: a stalled call is sent once more and the first answer wins."""

from __future__ import annotations

import asyncio

import pytest

import paretext as pt
from paretext.errors import LMTransportError
from paretext.lm import ChatRequest, HedgedLM, LMResponse, UsageTracker, compose_lm


class StallsOnce:
    """Answers in ``latency`` seconds; the ``nth`` call (1-based) stalls or fails instead."""

    def __init__(self, latency: float, nth: int, *, fail: bool = False) -> None:
        self.latency, self.nth, self.fail = latency, nth, fail
        self.calls = 0
        self.cancelled = 0

    @property
    def model(self) -> str:
        return "flaky"

    async def chat(self, request: ChatRequest) -> LMResponse:
        self.calls += 1
        n = self.calls
        try:
            if n == self.nth:
                if self.fail:
                    raise LMTransportError("500")
                await asyncio.sleep(60)
            await asyncio.sleep(self.latency)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return LMResponse(
            text=f"answer {request.messages[-1].content}", model="flaky", cost_usd=0.0
        )


def greedy(text: str, temperature: float | None = 0.0) -> ChatRequest:
    return ChatRequest.of([{"role": "user", "content": text}], temperature=temperature)


async def test_a_stalled_call_is_sent_again_after_the_observed_latency() -> None:
    inner = StallsOnce(0.01, nth=6)
    hedged = HedgedLM(inner, min_samples=5)
    for i in range(5):
        await hedged.chat(greedy(str(i)))
    assert hedged.hedges == 0 and hedged.threshold() is not None
    answer = await asyncio.wait_for(hedged.chat(greedy("q")), timeout=5)
    assert answer.text == "answer q" and hedged.hedges == 1
    assert inner.calls == 7 and inner.cancelled == 1  # the stalled one does not linger


async def test_concurrent_calls_teach_the_threshold_to_a_stalled_one() -> None:
    inner = StallsOnce(0.02, nth=1)
    hedged = HedgedLM(inner, min_samples=3)
    answers = await asyncio.wait_for(
        asyncio.gather(*(hedged.chat(greedy(str(i))) for i in range(8))), timeout=5
    )
    assert [a.text for a in answers] == [f"answer {i}" for i in range(8)]
    assert hedged.hedges == 1


async def test_sampled_requests_are_not_hedged_by_default() -> None:
    inner = StallsOnce(0.01, nth=6)
    hedged = HedgedLM(inner, min_samples=5)
    for i in range(5):
        await hedged.chat(greedy(str(i), temperature=None))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(hedged.chat(greedy("q", temperature=0.7)), timeout=0.5)
    assert hedged.hedges == 0


class SlowThenFails:
    """Fast for the first calls; then the first try of a request is slow and fails, and its
    second try is slower still but answers."""

    model = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    async def chat(self, request: ChatRequest) -> LMResponse:
        self.calls += 1
        if self.calls == 4:
            await asyncio.sleep(0.2)
            raise LMTransportError("500 after a long wait")
        await asyncio.sleep(0.4 if self.calls == 5 else 0.01)
        return LMResponse(text="ok", model="flaky", cost_usd=0.0)


async def test_an_error_counts_only_when_every_call_failed() -> None:
    hedged = HedgedLM(SlowThenFails(), min_samples=3)
    for i in range(3):
        await hedged.chat(greedy(str(i)))
    answer = await asyncio.wait_for(hedged.chat(greedy("q")), timeout=5)
    assert answer.text == "ok" and hedged.hedges == 1


async def test_compose_lm_counts_the_duplicate_in_usage_and_records_the_winner() -> None:
    store = pt.InMemoryRunStore()
    tracker = UsageTracker()
    inner = StallsOnce(0.01, nth=4)
    lm = compose_lm(inner, store, tracker, role="task")
    for i in range(4):
        await asyncio.wait_for(lm.chat(greedy(str(i))), timeout=10)
    (totals,) = tracker.totals(paid=True)
    assert totals.calls == 4 and totals.hedged == 1
    assert [c.response.text for c in store.lm_calls()] == [f"answer {i}" for i in range(4)]
