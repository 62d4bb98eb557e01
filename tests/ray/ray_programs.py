"""Programs the Ray tests run on real workers (importable there through ``runtime_env``).

Each one is the rule world's program plus a side channel: every attempt at a
(candidate, example) pair appends one line to a log file in ``log_dir`` (the
cluster's nodes share this machine's filesystem), and a chosen attempt kills
the worker process that runs it, as ``kill -9`` would.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretext._ids import content_hash
from paretext.testing import RuleWorld

HERE = Path(__file__).resolve().parent

#: Workers import ``ray_programs`` (and the paretext under test) by name, through PYTHONPATH.
WORKER_ENV: dict[str, Any] = {
    "env_vars": {
        "PYTHONPATH": os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    }
}

#: Small and quiet: the tests share a 2-core machine.
NODE_OPTIONS: dict[str, Any] = {"object_store_memory": 80 * 1024 * 1024}


@dataclass(frozen=True)
class Attempt:
    key: str  # "<candidate hash>-<example id>"
    pid: int
    node: str
    task: str


def attempts(log_dir: Path) -> list[Attempt]:
    out = []
    for path in sorted(log_dir.glob("*.attempts")):
        for line in path.read_text().splitlines():
            pid, node, task = line.split("\t")
            out.append(Attempt(path.stem, int(pid), node, task))
    return out


def kills(log_dir: Path) -> int:
    return len(list(log_dir.glob("kill-*")))


@dataclass(frozen=True)
class ChaosProgram:
    """``world.program``, logging each attempt.

    The first attempt at a pair whose example is in ``kill`` kills its worker (at most
    ``max_kills`` times in all); every attempt at an example in ``always_kill`` does.  The
    first attempt on node ``hold_node`` writes ``held`` to ``log_dir`` and waits ``hold_s``.
    Every attempt takes at least ``delay`` seconds.
    """

    world: RuleWorld
    log_dir: str
    kill: frozenset[str] = frozenset()
    max_kills: int = 3
    always_kill: frozenset[str] = frozenset()
    hold_node: str | None = None
    hold_s: float = 0.0
    delay: float = 0.0

    async def __call__(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        import ray

        context = ray.get_runtime_context()
        key = f"{content_hash(dict(candidate))}-{example['id']}"
        log = Path(self.log_dir) / f"{key}.attempts"
        line = f"{os.getpid()}\t{context.get_node_id()}\t{context.get_task_name()}\n"
        with open(log, "a") as f:
            f.write(line)
        first = log.read_text().count("\n") == 1
        if example["id"] in self.always_kill or (
            example["id"] in self.kill
            and first
            and any(self._claim(f"kill-{i}") for i in range(self.max_kills))
        ):
            os.kill(os.getpid(), signal.SIGKILL)
        if context.get_node_id() == self.hold_node and self._claim("held"):
            await asyncio.sleep(self.hold_s)
        await asyncio.sleep(self.delay)
        return self.world.program(candidate, example)

    def _claim(self, name: str) -> bool:
        """Whether this call is the first to claim ``name`` (across every worker)."""
        try:
            os.close(os.open(Path(self.log_dir) / name, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True


#: A task file for ``paretext optimize``: its program, defined in the file, travels by value.
TASK_FILE = """
import time
from paretext.testing import RuleWorld, rule_reflector

world = RuleWorld(n=24, categories=6)
data = world.examples()
seed = {"system": "Solve it."}
metric = world.metric
trainset = data[:8]
valset = data[8:]
reflection_lm = rule_reflector(1)

def program(candidate, example):
    time.sleep(DELAY)
    return world.program(candidate, example)
"""


def write_task(directory: Path, delay: float = 0.0) -> Path:
    path = directory / "task.py"
    path.write_text(TASK_FILE.replace("DELAY", repr(delay)), encoding="utf-8")
    return path
