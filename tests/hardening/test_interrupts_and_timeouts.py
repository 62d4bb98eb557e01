"""Signals and hangs, with the real command in a subprocess and real signals (issue 15 point 4,
issue 17 point 2): one signal stops after the in-flight proposals and says so, a second aborts
with one line and exit 130, the store stays intact and reads "interrupted"; a rollout that
never returns is one failed rollout after ``rollout_timeout``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from clitools import SLOW, STUCK_AFTER_SEED, popen, run, write_task

import paretext as pt
from paretext.store import SQLiteRunStore
from paretext.testing import RuleWorld


def _wait_for_commit(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """Read --json lines until the seed is committed (the run is well under way)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "commit":
            return event
    raise AssertionError(f"no commit before exit: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]


def _status(run_dir: Path) -> str:
    store = SQLiteRunStore(run_dir, create=False, read_only=True)
    try:
        return store.info().status
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_stops_after_in_flight_and_is_interrupted(
    tmp_path: Path, sig: signal.Signals
) -> None:
    task = write_task(tmp_path, SLOW, delay=0.05)
    with popen("optimize", task, "--run", tmp_path / "run", "--json", "--no-report") as proc:
        _wait_for_commit(proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"stopped by {sig.name}: stopping after " in err
    assert "in-flight proposal" in err and "press Ctrl-C again to abort" in err
    assert '"event": "stopping"' in out
    assert "Traceback" not in err
    assert _status(tmp_path / "run") == "interrupted"
    shown = run("show", tmp_path / "run")
    assert shown.returncode == 0 and "interrupted" in shown.stdout


def test_second_signal_aborts_with_one_line_and_130(tmp_path: Path) -> None:
    task = write_task(tmp_path, STUCK_AFTER_SEED)
    with popen("optimize", task, "--run", tmp_path / "run", "--json", "--no-report") as proc:
        _wait_for_commit(proc)
        time.sleep(0.5)  # the first proposals are now stuck in rollouts that never return
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None  # the first signal waits for the in-flight proposals
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "CancelledError" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2, err  # "stopping after …" then the abort line
    assert lines[-1].startswith("paretext: aborted") and "paretext resume" in lines[-1]
    store = SQLiteRunStore(tmp_path / "run", create=False, read_only=True)
    try:
        assert store.info().status == "interrupted"
        assert len(store.rollouts()) >= 5 and len(store.candidates()) == 1  # the seed is kept
    finally:
        store.close()


def test_a_rollout_that_never_returns_times_out_async() -> None:
    world = RuleWorld()

    async def program(candidate: dict[str, str], example: dict[str, Any]) -> str:
        if example["id"] == "ex17":
            await asyncio.Event().wait()  # never set
        return world.program(candidate, example)

    result = world.optimize(
        train=15, program=program, budget=60, engine=pt.EngineConfig(rollout_timeout=0.3)
    )
    assert any("timed out after 0.3 s" in str(f) for f in result.failures), result.failures


def test_a_blocked_sync_program_neither_hangs_the_run_nor_the_exit(tmp_path: Path) -> None:
    script = tmp_path / "blocked.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            import paretext as pt
            from paretext.testing import RuleWorld

            world = RuleWorld()

            def program(candidate, example):
                if example["id"] == "ex17":
                    time.sleep(3600)
                return world.program(candidate, example)

            result = world.optimize(
                train=15, program=program, budget=60, engine=pt.EngineConfig(rollout_timeout=0.3)
            )
            print([str(f) for f in result.failures if "timed out" in str(f)])
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "timed out after 0.3 s" in done.stdout


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True])
def test_rollout_timeout_is_validated(bad: float) -> None:
    with pytest.raises(pt.errors.ConfigError, match="rollout_timeout"):
        pt.EngineConfig(rollout_timeout=bad)
