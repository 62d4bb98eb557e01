"""The response cache and usage accounting, against a real SQLite run store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import paretext as pt
from paretext.lm import CachedLM, ChatRequest, Message, MeteredLM, UsageTracker
from paretext.store import SQLiteRunStore


def req(text: str, sample: int = 0) -> ChatRequest:
    return ChatRequest((Message("user", text),), sample=sample)


async def test_recorded_calls_are_never_paid_twice_even_after_reopening(tmp_path: Path) -> None:
    inner = pt.ScriptedLM(lambda r: r.messages[0].content.upper(), latency=0.01)
    store = SQLiteRunStore(tmp_path / "run")
    lm = CachedLM(inner, store, role="task")
    first = await asyncio.gather(*(lm.chat(req("hi")) for _ in range(5)))  # concurrent: one call
    assert inner.calls == 1 and [r.text for r in first] == ["HI"] * 5
    assert sum(r.cache_hit for r in first) == 4
    await lm.chat(req("hi", sample=1))
    assert inner.calls == 2
    store.close()
    again = CachedLM(inner, SQLiteRunStore(tmp_path / "run"), role="task")
    hit = await again.chat(req("hi"))
    assert inner.calls == 2 and hit.cache_hit and hit.usage == first[0].usage


async def test_cache_can_be_switched_off() -> None:
    inner = pt.ScriptedLM(lambda r: "x")
    lm = CachedLM(inner, pt.InMemoryRunStore(), role="task", enabled=False)
    await lm.chat(req("a"))
    await lm.chat(req("a"))
    assert inner.calls == 2


async def test_usage_counts_hits_apart_from_paid_calls() -> None:
    tracker = UsageTracker()
    inner = pt.ScriptedLM(lambda r: "abcd" * 10, cost_per_token=0.001)
    lm = MeteredLM(CachedLM(inner, pt.InMemoryRunStore(), role="task"), tracker, role="task")
    await lm.chat(req("question"))
    await lm.chat(req("question"))
    [logical] = tracker.totals()
    [paid] = tracker.totals(paid=True)
    assert (logical.calls, logical.cache_hits, paid.calls) == (2, 1, 1)
    assert logical.prompt_tokens == 2 * paid.prompt_tokens
    assert tracker.total_cost_usd() == pytest.approx(2 * (paid.cost_usd or 0))


async def test_unknown_price_is_reported_as_unknown_with_a_warning() -> None:
    tracker = UsageTracker()
    lm = MeteredLM(pt.ScriptedLM(lambda r: "x", cost_per_token=None), tracker, role="reflection")
    with pytest.warns(RuntimeWarning, match="no price known"):
        await lm.chat(req("q"))
    assert tracker.total_cost_usd() is None
    assert tracker.totals()[0].cost_usd is None


def test_cached_lm_refuses_non_lms() -> None:
    with pytest.raises(TypeError, match="LM protocol"):
        CachedLM(object(), pt.InMemoryRunStore(), role="task")
