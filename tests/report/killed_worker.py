"""The clean run of ``conftest.py`` in a process that dies (``os._exit``) after N commits.

Usage: python killed_worker.py RUN_DIR COMMITS

Nothing in the process runs after the death: no exception handler, no ``finally``, no
summary, as when the process is killed with SIGKILL or the machine goes down.
"""

from __future__ import annotations

import os
import sys

import paretext as pt
from paretext.engine import EngineObserver, RunSnapshot
from paretext.testing import RuleWorld

#: The exit status of the deliberate death, so that the caller can tell it from a crash.
DIED = 17


class DieAfter(EngineObserver):
    def __init__(self, commits: int) -> None:
        self.left = commits

    def on_commit(self, snapshot: RunSnapshot, proposal: pt.Proposal | None) -> None:
        self.left -= 1
        if self.left == 0:
            os._exit(DIED)


if __name__ == "__main__":
    run_dir, commits = sys.argv[1], int(sys.argv[2])
    RuleWorld().optimize(
        train=15,
        budget=200,
        run=run_dir,
        observer=DieAfter(commits),
        engine=pt.EngineConfig(proposals_in_flight=4),  # the clean run's (conftest.CLASSIC)
        reflection=pt.ReflectionConfig(minibatches_per_proposal=1),
    )
    sys.exit("the run finished before it could die")
