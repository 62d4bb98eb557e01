"""Tasks by name.  Built-ins are imported only when asked for, so listing them is free."""

from __future__ import annotations

import importlib
import threading

from ..errors import ConfigError
from ._task import Task

__all__ = ["get_task", "list_tasks", "register_task"]

# name -> "module:factory"; the factory returns the Task.  Nothing here reads data.
_BUILTINS: dict[str, str] = {
    "aime": "paretext.tasks._math:aime_task",
    "boolq": "paretext.tasks._boolq:boolq_task",
    "gsm8k": "paretext.tasks._gsm8k:gsm8k_task",
    "gsm8k_code": "paretext.tasks._gsm8k_code:gsm8k_code_task",
    "humaneval": "paretext.tasks._code:humaneval_task",
    "ifbench": "paretext.tasks._follow:ifbench_task",
    "ifeval": "paretext.tasks._follow:ifeval_task",
    "math": "paretext.tasks._math:math_task",
    "mbpp": "paretext.tasks._code:mbpp_task",
    "mbpp_search": "paretext.tasks._code:mbpp_search_task",
}

_lock = threading.Lock()
_tasks: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Make ``task`` available to :func:`get_task` (and ``paretext bench``) by its name.

    Registering a name that is taken, built-in names included, needs ``replace=True``.
    """
    if not isinstance(task, Task):
        raise ConfigError(f"register_task expects a paretext.tasks.Task, got {type(task).__name__}")
    with _lock:
        if not replace and (task.name in _tasks or task.name in _BUILTINS):
            raise ConfigError(f"task {task.name!r} exists; pass replace=True to override it")
        _tasks[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The task registered as ``name``, importing a built-in on first use."""
    with _lock:
        found = _tasks.get(name)
        if found is not None:
            return found
        target = _BUILTINS.get(name)
        if target is None:
            known = ", ".join(sorted(set(_BUILTINS) | set(_tasks)))
            raise ConfigError(f"unknown task {name!r}; known tasks: {known}")
        module_name, factory_name = target.split(":")
        factory = getattr(importlib.import_module(module_name), factory_name)
        task = factory()
        if not isinstance(task, Task) or task.name != name:
            raise ConfigError(f"built-in factory {target} did not build task {name!r}")
        _tasks[name] = task
        return task


def list_tasks() -> list[str]:
    """Sorted names of the built-in and registered tasks; imports nothing."""
    with _lock:
        return sorted(set(_BUILTINS) | set(_tasks))
