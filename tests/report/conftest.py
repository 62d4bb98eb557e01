"""Known runs for the report tests, made with the deterministic RuleWorld."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import paretext as pt
from paretext.lm import ChatRequest, ScriptedLM
from paretext.testing import RuleWorld, rule_reflector

WORLD = RuleWorld()
DATA = WORLD.examples()
SEED = {"system": "Solve it."}
_FENCED = re.compile(r"```\n?(.*?)```", re.S)


#: GEPA's classic shape, one minibatch per proposal and four proposals in flight: it grows
#: several lineages, merges and in-flight duplicates, which is what a report must show.
CLASSIC: dict[str, Any] = {
    "engine": pt.EngineConfig(proposals_in_flight=4),
    "reflection": pt.ReflectionConfig(minibatches_per_proposal=1),
}


def clean_run(path: Path) -> Path:
    """The ``golden_classic`` run, on disk: merges, and proposals planned four in flight of
    which some write the text an earlier one still in flight is evaluating and are dropped
    before their gate (``same text as proposal N, still in flight``).
    """
    WORLD.optimize(train=15, budget=200, run=path, **CLASSIC)
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
    WORLD.optimize(
        train=15, budget=300, run=path, program=flaky_program, reflection_lm=stubborn_reflector(),
        **CLASSIC,
    )
    return path


KILLED_WORKER = Path(__file__).with_name("killed_worker.py")


def partial_run(path: Path, commits: int = 4) -> Path:
    """The clean run, its process killed after ``commits`` commits (the seed's included).

    A real death, in a subprocess: an exception raised in this process would let the engine
    mark the run failed; a killed process leaves no summary and the status 'running'.
    """
    done = subprocess.run(
        [sys.executable, str(KILLED_WORKER), str(path), str(commits)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 17, done.stderr  # killed_worker.DIED
    return path


@pytest.fixture(scope="session")
def golden_classic() -> pt.Result:
    """The clean run, made in memory by the engine: what the report of ``clean`` must say."""
    return WORLD.optimize(train=15, budget=200, **CLASSIC)


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clean_run(tmp_path_factory.mktemp("clean") / "run")


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return messy_run(tmp_path_factory.mktemp("messy") / "run")


@pytest.fixture(scope="session")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return partial_run(tmp_path_factory.mktemp("partial") / "run")
