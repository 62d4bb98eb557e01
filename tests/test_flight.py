"""SingleFlight: concurrent callers of one key share one computation, errors included."""

from __future__ import annotations

import asyncio

import pytest

from paretext._flight import SingleFlight


async def test_concurrent_callers_share_one_computation() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 7

    results = await asyncio.gather(*(flights.run("k", compute) for _ in range(4)))
    assert calls == 1
    assert sorted(results) == [(7, False), (7, True), (7, True), (7, True)]
    assert await flights.run("k", compute) == (7, False) and calls == 2  # nothing left pending


async def test_an_error_reaches_every_caller() -> None:
    flights: SingleFlight[str, int] = SingleFlight()

    async def fail() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    results = await asyncio.gather(*(flights.run("k", fail) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    with pytest.raises(ValueError, match="boom"):
        await flights.run("k", fail)
