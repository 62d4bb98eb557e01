"""A run killed with SIGKILL at random points and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paretext.store import SQLiteRunStore

WORKER = Path(__file__).with_name("resume_worker.py")


def launch(run: Path, log: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), str(run), str(log), str(out)])


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], int]:
    d = tmp_path_factory.mktemp("ref")
    proc = launch(d / "run", d / "log", d / "out.json")
    assert proc.wait(timeout=120) == 0
    return json.loads((d / "out.json").read_text()), len(logged(d / "log"))


def run_until(proc: subprocess.Popen[bytes], log: Path, lines: int) -> bool:
    """Wait until ``log`` holds ``lines`` lines, then SIGKILL ``proc``; ``False`` if it ended first.

    The kill points are counted in logged work, not in seconds, so every trial kills the
    run part-way whatever the machine's speed.
    """
    deadline = time.monotonic() + 120
    while len(logged(log)) < lines and proc.poll() is None:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.005)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


@pytest.mark.parametrize("trial", range(3))
def test_kill_9_then_resume_gives_the_uninterrupted_result(
    trial: int, tmp_path: Path, reference: tuple[dict[str, object], int]
) -> None:
    expected, total = reference
    rng = random.Random(trial)
    run, log, out = tmp_path / "run", tmp_path / "log", tmp_path / "out.json"
    kills = 0
    for round_ in range(3):  # up to three kills at points spread over the run
        proc = launch(run, log, out)
        if not run_until(proc, log, len(logged(log)) + rng.randint(1, max(1, total // 4))):
            break
        kills += 1
        recorded_rollouts: set[str] = set()
        recorded_lm: set[str] = set()
        if (run / "run.sqlite").exists():  # a kill during start-up leaves no store yet
            store = SQLiteRunStore(run, create=False)
            recorded_rollouts = {
                f"rollout {r.candidate_hash} {r.example_id}" for r in store.rollouts()
            }
            recorded_lm = {f"lm {c.key}" for c in store.lm_calls()}
            store.close()
        before = len(logged(log))
        # Resume once to completion or to the next kill; nothing recorded may be paid again.
        proc = launch(run, log, out)
        if round_ == 2 or not run_until(proc, log, before + rng.randint(1, max(1, total // 8))):
            assert proc.wait(timeout=120) == 0
        repaid = set(logged(log)[before:]) & (recorded_rollouts | recorded_lm)
        assert not repaid, f"re-paid recorded work: {sorted(repaid)[:3]}"
        if out.exists():
            break
    if not out.exists():
        assert launch(run, log, out).wait(timeout=120) == 0
    assert kills >= 1
    assert json.loads(out.read_text()) == expected
