"""Running the real ``paretext`` command in a subprocess, and task files for it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ENTRY = "import sys; sys.argv[0] = 'paretext'; from paretext.cli import main; main()"

TASK = """
import time
from paretext.testing import RuleWorld, rule_reflector

world = RuleWorld()
data = world.examples()
seed = {{"system": "Solve it."}}
metric = world.metric
trainset = data[:15]
valset = data[15:]
# Replies take a while too: the default search needs few proposals, and a run must last
# long enough to be signalled or to meet a second writer.
reflection_lm = rule_reflector(1, latency=0.3)

{program}
"""

#: Each rollout takes a little while, so a run lasts long enough to be signalled.
SLOW = """
def program(candidate, example):
    time.sleep({delay})
    return world.program(candidate, example)
"""

#: Every rollout waits until the file ``gate`` exists: the run holds its store (and its
#: lock) for as long as the test needs, however fast or slow the machine is.
GATED = """
def program(candidate, example):
    import os
    while not os.path.exists({gate!r}):
        time.sleep(0.02)
    return world.program(candidate, example)
"""

#: After the seed, a rollout never returns: only a second signal ends the run.
STUCK_AFTER_SEED = """
def program(candidate, example):
    if candidate["system"] != "Solve it.":
        time.sleep(3600)
    return world.program(candidate, example)
"""


def write_task(directory: Path, program: str, name: str = "task.py", **fmt: Any) -> Path:
    path = directory / name
    body = textwrap.dedent(program).format(**fmt)
    path.write_text(textwrap.dedent(TASK).format(program=body), encoding="utf-8")
    return path


def cli_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-c", ENTRY, *map(str, args)]


@contextlib.contextmanager
def popen(*args: str | Path, prefix: Sequence[str] = ()) -> Iterator[subprocess.Popen[str]]:
    """The command running in the background; killed on the way out if a test failed early."""
    proc = subprocess.Popen(
        [*prefix, *cli_argv(*args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def run(
    *args: str | Path, prefix: Sequence[str] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *cli_argv(*args)], capture_output=True, text=True, timeout=timeout, check=False
    )
