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
    """``world.program``, logging each attempt; the first attempt at a pair whose example is in
    ``kill`` kills its worker (at most ``max_kills`` times in all), every attempt at an example
    in ``always_kill`` does."""

    world: RuleWorld
    log_dir: str
    kill: frozenset[str] = frozenset()
    max_kills: int = 3
    always_kill: frozenset[str] = frozenset()
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
            example["id"] in self.kill and first and self._claim_kill()
        ):
            os.kill(os.getpid(), signal.SIGKILL)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.world.program(candidate, example)

    def _claim_kill(self) -> bool:
        for i in range(self.max_kills):
            try:
                os.close(os.open(Path(self.log_dir) / f"kill-{i}", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            return True
        return False
