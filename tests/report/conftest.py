"""Known runs for the report tests, made with the deterministic RuleWorld."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import paretext as pt
from paretext.engine import CommittedState, EngineObserver, Ledger
from paretext.lm import ChatRequest, ScriptedLM
from paretext.testing import RuleWorld, rule_reflector

WORLD = RuleWorld()
DATA = WORLD.examples()
SEED = {"system": "Solve it."}
_FENCED = re.compile(r"```\n?(.*?)```", re.S)


def clean_run(path: Path) -> Path:
    """11 candidates (5 merges), frontier (c9, c10), best c9, 10 proposals all accepted."""
    pt.optimize(
        SEED,
        WORLD.program,
        WORLD.metric,
        DATA[:15],
        DATA[15:],
        reflection_lm=rule_reflector(1),
        budget=200,
        run=path,
    )
    return path


def flaky_program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
    if example["id"] in ("ex17", "ex29"):
        raise ValueError(f"cannot answer {example['id']}")
    return WORLD.program(candidate, example)


def stubborn_reflector() -> ScriptedLM:
    """Like rule_reflector(1), but repeats the instruction unchanged when it sees ex4."""
    inner = rule_reflector(1)

    async def respond(request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        if '"id": "ex4"' in prompt and "Version A" not in prompt:
            current = _FENCED.findall(prompt)[0].strip()
            return f"```\n{current}\n```"
        return (await inner.chat(request)).text

    return ScriptedLM(respond, model="stubborn-reflector")


def messy_run(path: Path) -> Path:
    """Failed rollouts (ex17, ex29 always raise) and unusable reflections."""
    pt.optimize(
        SEED,
        flaky_program,
        WORLD.metric,
        DATA[:15],
        DATA[15:],
        reflection_lm=stubborn_reflector(),
        budget=300,
        run=path,
    )
    return path


class Kill(Exception):
    """Raised from an observer to simulate a process that dies mid-run."""


class KillAfter(EngineObserver):
    def __init__(self, commits: int) -> None:
        self.left = commits

    def on_commit(
        self, state: CommittedState, ledger: Ledger, proposal: pt.Proposal | None
    ) -> None:
        self.left -= 1
        if self.left == 0:
            raise Kill


def partial_run(path: Path, commits: int = 4) -> Path:
    """A run killed after ``commits`` commits: no summary, status still 'running'."""
    with pytest.raises(Kill):
        pt.optimize(
            SEED,
            WORLD.program,
            WORLD.metric,
            DATA[:15],
            DATA[15:],
            reflection_lm=rule_reflector(1),
            budget=200,
            run=path,
            observer=KillAfter(commits),
        )
    return path


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clean_run(tmp_path_factory.mktemp("clean") / "run")


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return messy_run(tmp_path_factory.mktemp("messy") / "run")


@pytest.fixture(scope="session")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return partial_run(tmp_path_factory.mktemp("partial") / "run")
