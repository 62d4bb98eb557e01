"""The executor seam: where rollouts run never changes what a run finds or pays."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import paretext as pt
from paretext import ExampleId
from paretext.program import as_program
from paretext.testing import RuleWorld

from .test_engine import summary


class RecordingExecutor(pt.RolloutExecutor):
    """Runs rollouts in process, as a remote executor would: from ids, via run_rollout."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self, program: Any, metric: Any, examples: Mapping[ExampleId, Any]) -> None:
        await super().start(program, metric, examples)
        self.events.append("start")

    async def run(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> pt.Rollout:
        self.events.append(f"run {candidate_hash} {example_id}")
        return await pt.run_rollout(
            self.program, self.metric, components, candidate_hash, self.examples[example_id]
        )

    async def aclose(self) -> None:
        self.events.append("close")


def test_a_custom_executor_runs_every_miss_once_and_changes_nothing(tmp_path: Path) -> None:
    world = RuleWorld(n=20, categories=4)
    executor = RecordingExecutor()
    custom = world.optimize(train=8, budget=150, executor=executor, run=tmp_path / "run")
    default = world.optimize(train=8, budget=150)
    assert summary(custom) == summary(default)
    runs = [e for e in executor.events if e.startswith("run")]
    assert executor.events == ["start", *runs, "close"]
    assert len(runs) == len(set(runs)) == custom.rollouts_used
    # The executor is not part of what a resumed run must match: a replay runs nothing.
    again = RecordingExecutor()
    resumed = world.optimize(train=8, budget=150, executor=again, run=tmp_path / "run")
    assert summary(resumed) == summary(custom) and again.events == ["start", "close"]


async def test_run_rollout_turns_a_failure_into_a_failed_rollout() -> None:
    def broken(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        raise ValueError("no answer")

    world = RuleWorld(n=2, categories=2)
    metric = pt.Metric(world.metric)
    example = pt.Example(ExampleId("e"), world.examples()[0])
    failed = await pt.run_rollout(as_program(broken), metric, {"system": "s"}, "h", example)
    assert failed.failed and "ValueError: no answer" in (failed.error or "")
    assert failed.score == 0.0 and failed.example_id == "e" and failed.candidate_hash == "h"
    ok = await pt.run_rollout(as_program(world.program), metric, {"system": "RULE-0"}, "h", example)
    assert not ok.failed and ok.score == 1.0 and ok.output == "right"
