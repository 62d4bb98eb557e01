"""What runs inside a Ray worker process: one rollout per task.

A run's program, metric and examples travel once, as one object in Ray's
object store; each task carries only a reference to it (inside a list, so Ray
does not fetch it for every task) and the pair to run.  A worker process loads
that payload the first time it sees it and keeps it, so a program's warm state
(a loaded model, a compiled toolchain, an open client) survives from one
rollout to the next.  Rollouts run on one event loop per process that stays
open between them, for the same reason: async clients stay bound to a live
loop.  It runs in the task's own thread, so Ray's task context (task id,
name, node) is the program's.

Ray imports this module on the workers by name, so paretext must be installed
there (or shipped with ``runtime_env``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._ids import ExampleId
from .._types import Example, Rollout
from ..engine import run_rollout
from ..metric import Metric
from ..program import Program

if TYPE_CHECKING:
    from ray import ObjectRef

__all__ = ["Payload", "load", "ready", "rollout"]

T = TypeVar("T")
Payload = tuple[Program, Metric, Mapping[ExampleId, Example]]

#: Payloads this process has loaded, newest last (a worker may serve a few runs in turn).
_PAYLOADS: OrderedDict[str, Payload] = OrderedDict()
_KEEP = 4
_loop: asyncio.AbstractEventLoop | None = None


def load(box: list[ObjectRef[Payload]]) -> Payload:
    """The run's payload, fetched from the object store once per worker process."""
    import ray

    key = box[0].hex()
    payload = _PAYLOADS.get(key)
    if payload is None:
        payload = ray.get(box[0])
        _PAYLOADS[key] = payload
        while len(_PAYLOADS) > _KEEP:
            _PAYLOADS.popitem(last=False)
    else:
        _PAYLOADS.move_to_end(key)
    return payload


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on this process's loop, in the task's own thread (so Ray's task context
    is the program's), and leave the loop open for the next rollout."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    task = _loop.create_task(coro)
    try:
        return _loop.run_until_complete(task)
    except KeyboardInterrupt:  # ray.cancel(): stop the rollout too, not only the wait
        task.cancel()
        with contextlib.suppress(BaseException):
            _loop.run_until_complete(task)
        raise


def rollout(
    box: list[ObjectRef[Payload]],
    components: Mapping[str, str],
    candidate_hash: str,
    example_id: ExampleId,
) -> Rollout:
    """The Ray task: :func:`~paretext.engine.run_rollout` for one pair, on this worker."""
    program, metric, examples = load(box)
    return _run(run_rollout(program, metric, components, candidate_hash, examples[example_id]))


def ready(box: list[ObjectRef[Payload]]) -> None:
    """The start-up check: a worker can fetch and unpickle the payload (imports included)."""
    load(box)
