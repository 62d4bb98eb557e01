"""Disk full, read-only runs (issue 15 point 6) and control characters in the terminal (point 7),
with the real command in a subprocess.  bubblewrap provides a real size-limited tmpfs (a full
disk) and a real read-only mount, whoever runs the tests (root ignores file modes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clitools import SLOW, run, write_task
from typer.testing import CliRunner

from paretext.cli import app

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _view(*binds: str) -> list[str]:
    """Run inside a mount namespace that sees the host, with ``binds`` added."""
    return ["bwrap", "--dev-bind", "/", "/", *binds, "--"]


def _finished_run(tmp_path: Path) -> Path:
    task = write_task(tmp_path, SLOW, delay=0)
    done = run("optimize", task, "--run", tmp_path / "run", "-q", "--no-report", "-b", "60")
    assert done.returncode == 0, done.stderr
    return tmp_path / "run"


def test_disk_full_names_the_cause_exits_3_and_leaves_a_consistent_status(
    tmp_path: Path,
) -> None:
    task = write_task(tmp_path, SLOW, delay=0)
    disk = tmp_path / "disk"
    disk.mkdir()
    full = run(
        "optimize", task, "--run", disk / "run", "-q", "--no-report", "-b", "400",
        prefix=_view("--size", "150000", "--tmpfs", str(disk)),
    )
    assert full.returncode == 3, full.stderr
    assert full.stderr.count("\n") == 1 and "Traceback" not in full.stderr
    assert "the disk is full" in full.stderr
    assert "no transaction is active" not in full.stderr


def test_read_only_runs_show_export_and_report(tmp_path: Path) -> None:
    run_dir = _finished_run(tmp_path)
    ro = _view("--ro-bind", str(run_dir), str(run_dir))
    for shm in run_dir.glob("run.sqlite-*"):
        shm.unlink()  # a cleanly closed WAL database: -shm cannot be made on a read-only disk
    shown = run("show", run_dir, prefix=ro)
    assert shown.returncode == 0, shown.stderr
    assert "finished" in shown.stdout
    exported = run("export", run_dir, prefix=ro)
    assert exported.returncode == 0 and '"best"' in exported.stdout
    report = run("report", run_dir, "-o", tmp_path / "out.html", prefix=ro)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "out.html").stat().st_size > 1000
    resumed = run("resume", run_dir, "-q", "--no-report", prefix=ro)
    assert resumed.returncode == 3, resumed.stderr
    assert "read-only" in resumed.stderr and resumed.stderr.count("\n") == 1


def test_a_new_run_in_a_read_only_directory_exits_3(tmp_path: Path) -> None:
    task = write_task(tmp_path, SLOW, delay=0)
    locked = tmp_path / "locked"
    locked.mkdir()
    done = run(
        "optimize", task, "--run", locked / "run", "-q", "--no-report",
        prefix=_view("--ro-bind", str(locked), str(locked)),
    )
    assert done.returncode == 3, done.stderr
    assert "read-only" in done.stderr.lower() and done.stderr.count("\n") == 1


ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m"

ESCAPING = f"""
def program(candidate, example):
    if example["id"] == "ex16":
        raise RuntimeError({ESCAPES!r} + "boom")
    return world.program(candidate, example)
"""


def test_show_escapes_control_characters(tmp_path: Path) -> None:
    task = write_task(tmp_path, ESCAPING)
    task.write_text(task.read_text().replace('"Solve it."', repr("Solve it." + ESCAPES)))
    done = run("optimize", task, "--run", tmp_path / "run", "-q", "--no-report", "-b", "60")
    assert done.returncode == 0, done.stderr
    shown = CliRunner().invoke(app, ["show", str(tmp_path / "run")])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output and "\x07" not in shown.output and "\x9b" not in shown.output
    assert "\\x1b[2J" in shown.output and "boom" in shown.output


def test_a_deleted_wal_file_loses_nothing_to_a_kill(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os
        from paretext._types import Rollout
        from paretext.store import SQLiteRunStore

        store = SQLiteRunStore({str(tmp_path / "run")!r})
        store.open_run({{"a": 1}}, {{}})
        store.put_rollout(Rollout("h", "before", "out", (), 1.0, "ok"))
        os.unlink(store.path.with_name("run.sqlite-wal"))
        store.put_rollout(Rollout("h", "after", "out", (), 1.0, "paid for"))
        os._exit(9)  # killed: no close, no checkpoint at exit
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 9, done.stderr
    from paretext.store import SQLiteRunStore

    store = SQLiteRunStore(tmp_path / "run", create=False)
    try:
        assert {r.example_id for r in store.rollouts()} == {"before", "after"}
    finally:
        store.close()
