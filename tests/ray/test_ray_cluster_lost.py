"""A cluster that goes away mid-run: the run stops, and resumes later on another cluster.

The driver is ``paretext optimize --ray ADDRESS`` in a subprocess; this process starts each
cluster (a head and a second node) without connecting to it, and stops it mid-run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ray_programs import NODE_OPTIONS, write_task
from typer.testing import CliRunner

from paretext.cli import EXIT_OK, EXIT_RUN_FAILED, app
from paretext.store import SQLiteRunStore

pytestmark = [
    pytest.mark.slow,
    # Ray leaves its client server's log files open when a head node starts one.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*ray_client_server:pytest.PytestUnraisableExceptionWarning"
    ),
]

CLI = [sys.executable, "-c", "from paretext.cli import main; main()"]
QUIET = ["-q", "--no-report"]


def recorded(run: Path) -> int:
    """Rollouts in ``run``'s store, read without opening it as a store (a run may be writing)."""
    path = run / "run.sqlite"
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM rollouts").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def two_nodes(**head: object) -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, **NODE_OPTIONS, **head},
    )
    try:
        cluster.add_node(num_cpus=1, **NODE_OPTIONS)
        yield cluster
    finally:
        cluster.shutdown()


def stop_after(driver: subprocess.Popen[str], run: Path, rollouts: int) -> None:
    """Return once ``run`` holds ``rollouts`` rollouts (the caller then stops the cluster)."""
    deadline = time.monotonic() + 120
    while recorded(run) < rollouts and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.poll() is None, "the run ended before the cluster went away"


def test_the_run_stops_when_its_cluster_goes_away_and_resumes_on_another(tmp_path: Path) -> None:
    task = write_task(tmp_path, delay=0.05)
    reference, run = tmp_path / "reference", tmp_path / "run"
    done = CliRunner().invoke(app, ["optimize", str(task), "-b", "200", "-r", str(reference), "-q"])
    assert done.exit_code == EXIT_OK, done.output
    total = recorded(reference)

    # Through Ray Client: the connection drops, and the run stops with one clear line.
    port = free_port()
    with two_nodes(ray_client_server_port=port):
        address = f"ray://127.0.0.1:{port}"
        driver = subprocess.Popen(
            [*CLI, "optimize", str(task), "-b", "200", "-r", str(run), *QUIET, "--ray", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "RAY_CLIENT_RECONNECT_GRACE_PERIOD": "2"},
        )
        stop_after(driver, run, 30)
    _, stderr = driver.communicate(timeout=180)
    assert driver.returncode == EXIT_RUN_FAILED, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("paretext: error:")]
    assert len(errors) == 1, stderr
    assert f"the Ray cluster at {address} went away" in errors[0]
    assert "`paretext resume RUN`" in errors[0]
    first = recorded(run)
    assert 30 <= first < total

    # Attached to a node (a plain address): Ray ends this process when that node goes away,
    # like kill -9 -- or, now and then, leaves it waiting on the dead node (README, Ray), and
    # then the user kills it; either way the store keeps every rollout finished until then.
    with two_nodes() as cluster:
        driver = subprocess.Popen(
            [*CLI, "resume", str(run), *QUIET, "--ray", cluster.address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # a third of what is left: the search may end early on a perfect score, so a fixed
        # count of rollouts could be more than this leg has to do
        step = max(1, (total - first) // 3)
        stop_after(driver, run, first + step)
    try:
        driver.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.communicate()
    assert driver.returncode != EXIT_OK
    second = recorded(run)
    assert first + step <= second < total

    # A third cluster (a new local Ray) finishes the run where an uninterrupted one ends.
    resumed = subprocess.run(
        [*CLI, "resume", str(run), *QUIET, "--ray", "local"],
        capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == EXIT_OK, resumed.stderr + resumed.stdout
    finished = SQLiteRunStore(run, create=False)
    expected = SQLiteRunStore(reference, create=False)
    try:
        assert finished.candidates() == expected.candidates()
        assert finished.proposals() == expected.proposals()
        assert len(finished.rollouts()) == total  # nothing ran twice, nothing is missing
        assert finished.info().summary["rollouts_used"] == expected.info().summary["rollouts_used"]
    finally:
        finished.close()
        expected.close()
