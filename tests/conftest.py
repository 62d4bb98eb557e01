from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import pytest

import paretext as pt
from paretext.testing import RuleWorld


@pytest.fixture
def world() -> RuleWorld:
    return RuleWorld(n=30, categories=6)


@pytest.fixture
def jittery() -> type[JitteryProgram]:
    return JitteryProgram


class JitteryProgram:
    """The rule world's program with random latency, to shake up completion order."""

    def __init__(self, world: RuleWorld, seed: int, max_delay: float = 0.004) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.max_delay = max_delay

    async def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        await asyncio.sleep(self.rng.random() * self.max_delay)
        return self.world.program(candidate, example)


@pytest.fixture(scope="session")
def golden() -> pt.Result:
    """The run the command-line tests make (``cli_tasks.TASK``), made here by the engine.

    The rule world with 20 rules, 30 train, 30 validation, budget 200 (which binds),
    default settings.  The CLI and progress tests run the same their own way and check
    what they show against this result, so a change to the planner changes no test's
    numbers.
    """
    return RuleWorld(n=60, categories=20).optimize(train=30, budget=200)
