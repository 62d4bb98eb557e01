"""RayExecutor on a real local Ray (2 CPUs): same results as in-process, faults, bad payloads."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ray_programs import WORKER_ENV, ChaosProgram, attempts, kills, write_task
from typer.testing import CliRunner

import paretext as pt
from paretext.cli import EXIT_OK, EXIT_USAGE, app
from paretext.errors import ConfigError
from paretext.ray import RayExecutor
from paretext.testing import RuleWorld

pytestmark = pytest.mark.slow

WORLD = RuleWorld(n=24, categories=6)
TRAIN = 8
VAL_IDS = [e["id"] for e in WORLD.examples()[TRAIN:]]


def run(
    program: Any = None, *, seed: int = 0, budget: int = 200, executor: Any = None, **kw: Any
) -> tuple[pt.Result, pt.InMemoryRunStore]:
    store = pt.InMemoryRunStore()
    result = WORLD.optimize(
        train=TRAIN,
        budget=budget,
        program=program,
        run=store,
        engine=pt.EngineConfig(seed=seed, concurrency=4),
        executor=executor,
        **kw,
    )
    return result, store


def assert_same_run(a: pt.Result, b: pt.Result) -> None:
    assert a.candidates == b.candidates
    assert a.proposals == b.proposals
    assert a.best == b.best
    assert a.best_outputs == b.best_outputs
    assert a.rollouts_used == b.rollouts_used
    assert a.stop_reason == b.stop_reason


def ray_executor(**kw: Any) -> RayExecutor:
    return RayExecutor(runtime_env=WORKER_ENV, **kw)


def test_same_result_as_in_process_and_every_rollout_ran_on_a_named_ray_task(
    local_ray: Any, tmp_path: Path
) -> None:
    reference, _ = run()
    result, store = run(ChaosProgram(WORLD, str(tmp_path)), executor=ray_executor())
    assert_same_run(result, reference)
    assert result.best.score > result.candidates[0].score  # the search got somewhere
    seen = attempts(tmp_path)
    assert len(seen) == len(store.rollouts()) == result.rollouts_used  # each once, none in-process
    assert os.getpid() not in {a.pid for a in seen}
    for a in seen:
        example = a.key.split("-", 1)[1]
        assert a.task == f"rollout {example} of {a.key[:10]}"  # what the dashboard lists


def test_killed_workers_are_replaced_and_each_rollout_counted_and_recorded_once(
    local_ray: Any, tmp_path: Path
) -> None:
    reference, _ = run()
    chaos = ChaosProgram(WORLD, str(tmp_path), kill=frozenset(VAL_IDS[:4]), max_kills=3)
    result, store = run(chaos, executor=ray_executor())
    assert kills(tmp_path) == 3
    assert_same_run(result, reference)
    recorded = store.rollouts()
    assert len(recorded) == result.rollouts_used == reference.rollouts_used
    assert not [r for r in recorded if r.failed]
    seen = attempts(tmp_path)
    assert len(seen) == len(recorded) + 3  # the three killed attempts ran again, elsewhere
    assert len({a.pid for a in seen}) > 2  # the killed workers were replaced by new processes
    assert {a.key for a in seen} == {f"{r.candidate_hash}-{r.example_id}" for r in recorded}


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kill=st.frozensets(st.sampled_from(VAL_IDS), max_size=3),
    max_kills=st.integers(0, 2),
    seed=st.integers(0, 2),
)
def test_budget_exact_whatever_workers_die(
    local_ray: Any, kill: frozenset[str], max_kills: int, seed: int
) -> None:
    reference, _ = run(seed=seed, budget=120)
    with tempfile.TemporaryDirectory() as log_dir:
        chaos = ChaosProgram(WORLD, log_dir, kill=kill, max_kills=max_kills)
        result, store = run(chaos, seed=seed, budget=120, executor=ray_executor())
        died = kills(Path(log_dir))
        assert len(attempts(Path(log_dir))) == len(store.rollouts()) + died
    assert died <= max_kills
    assert_same_run(result, reference)
    assert result.rollouts_used <= 120
    assert len(store.rollouts()) == result.rollouts_used


def test_a_rollout_that_kills_every_worker_is_a_failed_rollout(
    local_ray: Any, tmp_path: Path
) -> None:
    doomed = VAL_IDS[0]
    chaos = ChaosProgram(WORLD, str(tmp_path), always_kill=frozenset({doomed}))
    result, store = run(
        chaos, executor=ray_executor(max_retries=1), stop=pt.StopConfig(max_proposals=1)
    )
    failed = [r for r in store.rollouts() if r.failed]
    assert failed and {r.example_id for r in failed} == {doomed}
    for r in failed:
        assert "the Ray worker running this rollout died 2 time(s)" in (r.error or "")
    assert len([a for a in attempts(tmp_path) if a.key.endswith(f"-{doomed}")]) == 2 * len(failed)
    assert any(f.kind == "rollout" and f.where.endswith(f" on {doomed}") for f in result.failures)
    assert len(store.rollouts()) == result.rollouts_used


# -- refused before anything is spent ------------------------------------------------------


class Calls:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()  # cannot be pickled

    def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        with self.lock:
            self.n += 1
        return WORLD.program(candidate, example)


def test_a_program_that_cannot_be_pickled_is_named_before_anything_runs(local_ray: Any) -> None:
    calls = Calls()
    store = pt.InMemoryRunStore()
    with pytest.raises(ConfigError, match=r"the program cannot be sent to Ray workers: .*lock"):
        WORLD.optimize(train=TRAIN, budget=200, program=calls, run=store, executor=RayExecutor())
    assert calls.n == 0
    assert store.rollouts() == []


def test_a_metric_that_cannot_be_pickled_is_named(local_ray: Any) -> None:
    lock = threading.Lock()

    def metric(example: Mapping[str, Any], output: str) -> float:
        with lock:
            return WORLD.metric(example, output).score

    data = WORLD.examples()
    with pytest.raises(ConfigError, match=r"the metric cannot be sent to Ray workers: .*lock"):
        pt.optimize(
            "Solve it.", WORLD.program, metric, data[:TRAIN], data[TRAIN:],
            reflection_lm=pt.ScriptedLM(lambda r: "x"), budget=200, executor=RayExecutor(),
        )


def test_a_program_the_workers_cannot_import_is_refused_before_anything_runs(
    local_ray: Any, tmp_path: Path
) -> None:
    (tmp_path / "only_here.py").write_text(
        "from paretext.testing import RuleWorld\n"
        "class Program:\n"
        "    def __call__(self, candidate, example):\n"
        "        return RuleWorld().program(candidate, example)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import only_here  # type: ignore[import-not-found]

        store = pt.InMemoryRunStore()
        refused = r"cannot load the program: .*No module named 'only_here'"
        with pytest.raises(ConfigError, match=refused):
            WORLD.optimize(
                train=TRAIN, budget=200, program=only_here.Program(), run=store,
                executor=RayExecutor(),
            )
        assert store.rollouts() == []
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("only_here", None)


def test_an_lm_pipeline_is_refused_with_the_reason(local_ray: Any) -> None:
    program = pt.ChatProgram(pt.ScriptedLM(lambda r: "right"), component="system")
    with pytest.raises(ConfigError, match="cannot run a ChatProgram/Pipeline"):
        WORLD.optimize(train=TRAIN, budget=200, program=program, executor=RayExecutor())


def test_an_address_beside_an_open_connection_is_refused(local_ray: Any) -> None:
    with pytest.raises(ConfigError, match="already connected to Ray"):
        WORLD.optimize(train=TRAIN, budget=200, executor=RayExecutor("ray://127.0.0.1:1"))


# -- the command line -------------------------------------------------------------------------


def test_cli_ray_alone_uses_this_processes_ray_and_gives_the_in_process_result(
    local_ray: Any, tmp_path: Path
) -> None:
    task = write_task(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(
        app, ["optimize", str(task), "-b", "150", "-r", str(tmp_path / "a"), "-q"]
    )
    on_ray = runner.invoke(
        app, ["optimize", str(task), "--ray", "-b", "150", "-r", str(tmp_path / "b"), "-q"]
    )
    assert plain.exit_code == on_ray.exit_code == EXIT_OK, on_ray.output
    a, b = (pt.SQLiteRunStore(tmp_path / name, create=False) for name in "ab")
    try:
        assert a.candidates() == b.candidates()
        assert a.proposals() == b.proposals()
        assert b.info().meta["cli"]["ray"] == ""  # resume runs on Ray again
    finally:
        a.close()
        b.close()


def test_cli_ray_takes_an_address(local_ray: Any, tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = CliRunner().invoke(
        app, ["optimize", str(task), "-r", str(tmp_path / "run"), "--ray", "127.0.0.1:1", "-q"]
    )
    assert result.exit_code == EXIT_USAGE
    assert "cannot connect to '127.0.0.1:1'" in result.stderr
