from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretext.errors import StoreError
from paretext.store import SCHEMA_VERSION, InMemoryRunStore, RunStore, SQLiteRunStore, open_store

from .conformance import StoreConformance, rollout


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    s: RunStore = (
        InMemoryRunStore() if request.param == "memory" else SQLiteRunStore(tmp_path / "run")
    )
    yield s
    s.close()


class TestConformance(StoreConformance):
    pass


def test_sqlite_persists_across_connections_in_wal_mode(tmp_path: Path) -> None:
    s = SQLiteRunStore(tmp_path / "run")
    s.put_rollout(rollout())
    s.close()
    again = SQLiteRunStore(tmp_path / "run", create=False)
    assert again.get_rollout("h1", rollout().example_id) == rollout()
    assert again.schema_version == SCHEMA_VERSION
    mode = sqlite3.connect(again.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run found"):
        SQLiteRunStore(tmp_path / "nothing", create=False)


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="unreadable or corrupt"):
        SQLiteRunStore(tmp_path / "run")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    s = SQLiteRunStore(tmp_path / "run")
    s.close()
    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="upgrade paretext"):
        SQLiteRunStore(tmp_path / "run")


def test_open_store_resolves_loose_inputs(tmp_path: Path) -> None:
    assert isinstance(open_store(None), InMemoryRunStore)
    s = open_store(str(tmp_path / "r"))
    assert isinstance(s, SQLiteRunStore)
    assert open_store(s) is s
    assert isinstance(open_store(tmp_path / "x.sqlite"), SQLiteRunStore)
    with pytest.raises(TypeError):
        open_store(3)  # type: ignore[arg-type]
