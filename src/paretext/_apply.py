"""The result in hand: load a stored run as a :class:`Result`, run its best candidate on new inputs.

``load`` reads the run through :func:`~paretext.engine.replay`, the same
transition the engine used, so it says exactly what ``optimize`` returned.
``apply`` runs a program with chosen components (a Result's best, a candidate,
or a plain mapping) on inputs that were never part of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._types import Candidate, Result
from ._verdict import StopReason
from .engine import replay
from .program import Program, as_program
from .store import RunStore, SQLiteRunStore

__all__ = ["aapply", "load"]


def load(run: str | Path | RunStore) -> Result:
    """The :class:`Result` of the run stored at ``run`` (a directory, ``.sqlite`` file or store).

    A run that has not finished loads too: its ``stopped`` is ``StopReason.UNFINISHED``.
    """
    store = run if isinstance(run, RunStore) else SQLiteRunStore(run, create=False)
    try:
        snapshot = replay(store)
    finally:
        if not isinstance(run, RunStore):
            store.close()
    if snapshot.stopped is None:
        from dataclasses import replace

        snapshot = replace(
            snapshot,
            stopped=StopReason.UNFINISHED,
            stop_reason=f"the run is {snapshot.status}: resume it to continue",
        )
    return snapshot.result(store.location)


def _components(chosen: Result | Candidate | Mapping[str, str]) -> dict[str, str]:
    if isinstance(chosen, Result):
        return dict(chosen.best.components)
    if isinstance(chosen, Candidate):
        return dict(chosen.components)
    return dict(chosen)


async def aapply(
    program: Program | Callable[..., Any],
    components: Result | Candidate | Mapping[str, str],
    inputs: Iterable[Any],
    *,
    concurrency: int = 16,
) -> list[Any]:
    """The program's output on each of ``inputs``, in order, with ``components``
    (a Result means its best candidate).  An input that fails raises its error."""
    prog, chosen = as_program(program), _components(components)
    limit = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with limit:
            return (await prog.run(chosen, item)).output

    return list(await asyncio.gather(*(one(x) for x in inputs)))
