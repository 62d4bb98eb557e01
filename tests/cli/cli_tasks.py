"""Task files for the command-line tests (a module of its own: test files import it)."""

from __future__ import annotations

import textwrap
from pathlib import Path

TASK = """
from paretext.testing import RuleWorld, rule_reflector

world = RuleWorld(n=60, categories=20)  # the `golden` fixture's run
data = world.examples()
seed = {"system": "Solve it."}
metric = world.metric
trainset = data[:30]
valset = data[30:]
reflection_lm = rule_reflector(1)
{program}
"""

PLAIN = "program = world.program"

#: Sends SIGINT to the process once (a marker file remembers), as a user pressing Ctrl-C would.
INTERRUPTING = """
import os, signal
from pathlib import Path

MARK = Path(__file__).with_suffix(".interrupted")

def program(candidate, example):
    if example["id"] == "ex20" and "RULE-0" in candidate["system"] and not MARK.exists():
        MARK.write_text("")
        os.kill(os.getpid(), signal.SIGINT)
    return world.program(candidate, example)
"""

BROKEN = """
def program(candidate, example):
    raise RuntimeError("the model server is down")
"""


def write_task(directory: Path, program: str = PLAIN, name: str = "task.py") -> Path:
    path = directory / name
    path.write_text(
        textwrap.dedent(TASK).replace("{program}", textwrap.dedent(program)), encoding="utf-8"
    )
    return path
