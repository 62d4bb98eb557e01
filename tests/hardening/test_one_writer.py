"""One writer per run (issue 15 point 2): a second process on the same run path is refused,
naming the first; with ``--wait`` it queues behind it instead of paying for the same calls."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
from clitools import GATED, SLOW, popen, run, write_task

import paretext as pt
from paretext.store import SQLiteRunStore
from paretext.testing import RuleWorld


def _wait_for_lock(run_dir: Path) -> dict[str, object]:
    lock = run_dir / "run.sqlite.lock"
    for _ in range(600):
        if lock.exists() and lock.read_text():
            return json.loads(lock.read_text())
        time.sleep(0.05)
    raise AssertionError("the first writer never took the lock")


def test_second_writer_is_refused_naming_the_first(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    task = write_task(tmp_path, GATED, gate=str(gate))
    args = ("optimize", task, "--run", tmp_path / "run", "-q", "--no-report", "-j", "1")
    with popen(*args) as first:
        holder = _wait_for_lock(tmp_path / "run")
        assert holder["pid"] == first.pid
        second = run(*args)
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid} on host " in second.stderr
        assert "--wait" in second.stderr and len(second.stderr.splitlines()) == 1
        with pytest.raises(pt.errors.StoreError, match=f"pid {first.pid}"):  # the API too
            RuleWorld().optimize(train=15, budget=60, run=tmp_path / "run")
        gate.touch()  # only now may the first writer go on and finish
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err


def test_wait_queues_behind_the_writer_and_pays_nothing_twice(tmp_path: Path) -> None:
    task = write_task(tmp_path, SLOW, delay=0.05)
    args = ("optimize", task, "--run", tmp_path / "run", "-q", "--no-report", "-j", "1")
    with popen(*args) as first:
        _wait_for_lock(tmp_path / "run")
        with popen(*args, "--wait") as second:
            _, err = first.communicate(timeout=120)
            assert first.returncode == 0, err
            first_done = time.time()
            _, err = second.communicate(timeout=120)
            assert second.returncode == 0, err
    with sqlite3.connect(tmp_path / "run" / "run.sqlite") as db:
        (last_rollout,) = db.execute("SELECT max(created_at) FROM rollouts").fetchone()
        (last_call,) = db.execute("SELECT max(created_at) FROM lm_calls").fetchone()
    assert max(last_rollout, last_call) <= first_done  # the queued run only replayed
    store = SQLiteRunStore(tmp_path / "run", create=False, read_only=True)
    try:
        assert store.info().status == "finished" and store.writer() is None
    finally:
        store.close()


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    world = RuleWorld()
    store = SQLiteRunStore(tmp_path / "run")
    store.open_run({"a": 1}, {})
    assert store.writer() == {"pid": os.getpid(), "host": os.uname().nodename}
    store.close()  # released: another writer may start
    result = world.optimize(train=15, budget=60, run=tmp_path / "other")
    assert isinstance(result, pt.Result)
    again = SQLiteRunStore(tmp_path / "run")
    again.open_run({"a": 1}, {})
    again.close()
