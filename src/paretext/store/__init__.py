"""Run stores: where a run's history lives, and how a run resumes."""

from __future__ import annotations

from pathlib import Path

from ._base import SCHEMA_VERSION, EventRecord, LMCallRecord, RunInfo, RunStore
from ._codec import as_stored
from ._lock import RunLocked
from ._memory import InMemoryRunStore
from ._sqlite import SQLiteRunStore

__all__ = [
    "SCHEMA_VERSION",
    "EventRecord",
    "InMemoryRunStore",
    "LMCallRecord",
    "RunInfo",
    "RunLocked",
    "RunStore",
    "SQLiteRunStore",
    "as_stored",
    "open_store",
]


def open_store(run: str | Path | RunStore | None, *, create: bool = True) -> RunStore:
    """``None`` → in memory; a path → SQLite in that directory (or file); a store → as is."""
    if run is None:
        return InMemoryRunStore()
    if isinstance(run, RunStore):
        return run
    if isinstance(run, str | Path):
        return SQLiteRunStore(run, create=create)
    raise TypeError(f"run must be None, a path or a RunStore, got {type(run).__name__}")
