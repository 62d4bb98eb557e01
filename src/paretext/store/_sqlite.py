"""The SQLite run store: one file per run, WAL mode, versioned schema, no pickle."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._ids import ExampleId
from .._types import Candidate, Proposal, Rollout
from ..errors import StoreError
from ..lm import ChatRequest, LMResponse
from ._base import SCHEMA_VERSION, EventRecord, LMCallRecord, RunInfo, RunStore
from ._codec import (
    candidate_from_row,
    candidate_to_row,
    dumps,
    proposal_from_row,
    proposal_to_row,
    response_from_row,
    response_to_row,
    rollout_from_row,
    rollout_to_row,
)
from ._lock import WriterLock, current_writer

__all__ = ["SQLiteRunStore"]

DB_NAME = "run.sqlite"

# SQLite's primary result codes (https://sqlite.org/rescode.html), for naming a failure's cause.
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 3, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26

# Migration i turns schema version i into version i + 1; version 0 is an empty file.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE rollouts (
        candidate_hash TEXT NOT NULL, example_id TEXT NOT NULL,
        output TEXT NOT NULL, trace TEXT NOT NULL, score REAL NOT NULL,
        feedback TEXT NOT NULL, objectives TEXT NOT NULL, error TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (candidate_hash, example_id));
    CREATE TABLE candidates (
        id TEXT PRIMARY KEY, seq INTEGER NOT NULL, components TEXT NOT NULL,
        parents TEXT NOT NULL, origin TEXT NOT NULL, iteration INTEGER,
        changed TEXT NOT NULL, val_scores TEXT NOT NULL, val_objectives TEXT NOT NULL);
    CREATE TABLE proposals (
        iteration INTEGER PRIMARY KEY, kind TEXT NOT NULL, parents TEXT NOT NULL,
        components TEXT NOT NULL, texts TEXT, gate_examples TEXT NOT NULL,
        parent_gate_score REAL, child_gate_score REAL, accepted INTEGER NOT NULL,
        reason TEXT NOT NULL, candidate_id TEXT);
    CREATE TABLE lm_calls (
        key TEXT PRIMARY KEY, role TEXT NOT NULL, request TEXT NOT NULL,
        model TEXT NOT NULL, text TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, finish_reason TEXT, cost_usd REAL,
        created_at REAL NOT NULL);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL,
        created_at REAL NOT NULL);
    """,
    # v2: a proposal's verdict in its own column; v1 reasons started with fixed phrases.
    """
    ALTER TABLE proposals ADD COLUMN verdict TEXT NOT NULL DEFAULT 'gate_rejected';
    UPDATE proposals SET verdict = CASE
        WHEN reason = 'accepted' THEN 'accepted'
        WHEN reason LIKE 'skipped:%' THEN 'skipped_perfect'
        WHEN reason LIKE 'duplicate of%' THEN 'duplicate'
        WHEN reason LIKE 'same text as proposal%' THEN 'duplicate_in_flight'
        WHEN reason LIKE 'reflection unusable%' THEN 'reflection_unusable'
        WHEN reason LIKE 'reflection LM failed%' THEN 'reflection_lm_failed'
        WHEN reason LIKE 'merge synthesis unusable%' THEN 'merge_unusable'
        WHEN reason LIKE 'merge LM failed%' THEN 'merge_lm_failed'
        ELSE 'gate_rejected' END;
    """,
    # v3: feedback addressed to one component (Feedback.components).
    """
    ALTER TABLE rollouts ADD COLUMN component_feedback TEXT NOT NULL DEFAULT '{}';
    """,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def _db_path(location: str | Path) -> Path:
    path = Path(location)
    return path if path.suffix in (".sqlite", ".db") else path / DB_NAME


class SQLiteRunStore(RunStore):
    """A run directory (or ``.sqlite`` file).  Safe to use from several threads.

    ``read_only=True`` opens without writing anything (not even SQLite's ``-shm``),
    so a run on a read-only disk can still be shown, exported and reported.  Only
    one process at a time may write a run: :meth:`open_run` takes an exclusive lock
    (see ``_lock.py``).
    """

    def __init__(
        self, location: str | Path, *, create: bool = True, read_only: bool = False
    ) -> None:
        self.path = _db_path(location)
        self.location = str(location)
        self.read_only = read_only
        if not self.path.exists():
            if not create or read_only:
                raise StoreError(f"no run found at {location} (expected {self.path})")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the run store at {self.path}: {exc.strerror or exc}"
                ) from None
        if not read_only and not all(os.access(p, os.W_OK) for p in (self.path.parent, self.path)
                                     if p.exists()):
            raise StoreError(
                f"the run store at {self.path} is read-only: show, export and report still work; "
                "to run or resume it, make it writable or copy it elsewhere"
            )
        self._lock = threading.Lock()
        self._wal = self.path.with_name(self.path.name + "-wal")
        self._writer = WriterLock(self.path.with_name(self.path.name + ".lock"), self.location)
        try:
            self._conn = self._connect()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, "open", exc) from exc

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            return conn
        uri = self.path.resolve().as_uri()
        try:
            conn = sqlite3.connect(
                f"{uri}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError:
            # A WAL database in a directory nobody may write: no -shm can be made, and no
            # writer can exist either, so reading it as immutable is exact.
            conn = sqlite3.connect(
                f"{uri}?immutable=1", uri=True, check_same_thread=False, isolation_level=None
            )
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    # -- schema ------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this paretext reads up to "
                f"{SCHEMA_VERSION}: upgrade paretext"
            )
        if self.read_only and version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version} and is opened read-only: open it "
                f"once where it can be written to upgrade it to version {SCHEMA_VERSION}"
            )
        for target in range(version, SCHEMA_VERSION):
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[target].split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {target + 1}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- helpers -----------------------------------------------------------------
    def _rollback(self) -> None:
        # After a failed COMMIT (disk full) SQLite may have rolled back already: the
        # error that matters is the one that got us here, not "no transaction is active".
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the run store at {self.path} was opened read-only")

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._check_writable()
        with self._lock:
            try:
                self._conn.execute(sql, params)
                if not self._wal.exists():
                    # Someone deleted the -wal file: what is written now would live only in
                    # an unlinked file and die with this process.  Copy it into the database.
                    self._conn.execute("PRAGMA wal_checkpoint(FULL)")
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, "write", exc) from None

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, "read", exc) from None

    # -- the writer lock --------------------------------------------------------------
    def _claim_writer(self, wait: bool) -> None:
        self._check_writable()
        self._writer.acquire(wait=wait)

    def info(self) -> RunInfo:
        """The stored run; "running" with no process writing it reads as "interrupted"."""
        info = super().info()
        if info.status == "running" and self.writer() is None:
            return dataclasses.replace(info, status="interrupted")  # killed, or its disk filled
        return info

    def writer(self) -> dict[str, Any] | None:
        """The process writing this run (pid, host, since), or ``None`` when none is."""
        if self._writer.held:
            return {"pid": os.getpid(), "host": socket.gethostname()}
        return current_writer(self._writer.path)

    # -- run ---------------------------------------------------------------------
    def _read_info(self) -> RunInfo | None:
        rows = dict(self._read("SELECT key, value FROM meta"))
        if "fingerprint" not in rows:
            return None
        summary = rows.get("summary")
        return RunInfo(
            fingerprint=json.loads(rows["fingerprint"]),
            meta=json.loads(rows.get("meta", "{}")),
            status=rows.get("status", "running"),
            summary=None if summary is None else json.loads(summary),
        )

    def _write_info(self, info: RunInfo) -> None:
        values = {
            "fingerprint": dumps(dict(info.fingerprint)),
            "meta": dumps(dict(info.meta)),
            "status": info.status,
        }
        if info.summary is not None:
            values["summary"] = dumps(dict(info.summary))
        self._check_writable()
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for key, value in values.items():
                    self._conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                    )
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise _store_error(self.path, "write", exc) from None
            except BaseException:
                self._rollback()
                raise

    # -- rollouts ----------------------------------------------------------------
    _ROLLOUT_COLS = (
        "candidate_hash, example_id, output, trace, score, feedback, objectives, error, "
        "component_feedback"
    )

    def get_rollout(self, candidate_hash: str, example_id: ExampleId) -> Rollout | None:
        rows = self._read(
            f"SELECT {self._ROLLOUT_COLS} FROM rollouts WHERE candidate_hash=? AND example_id=?",
            (candidate_hash, example_id),
        )
        return rollout_from_row(rows[0]) if rows else None

    def put_rollout(self, rollout: Rollout) -> None:
        self._write(
            f"INSERT OR IGNORE INTO rollouts ({self._ROLLOUT_COLS}, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*rollout_to_row(rollout), time.time()),
        )

    def rollouts(self) -> list[Rollout]:
        return [
            rollout_from_row(r)
            for r in self._read(f"SELECT {self._ROLLOUT_COLS} FROM rollouts ORDER BY rowid")
        ]

    # -- LM calls ------------------------------------------------------------------
    _RESPONSE_COLS = "model, text, prompt_tokens, completion_tokens, finish_reason, cost_usd"

    def get_lm_response(self, key: str) -> LMResponse | None:
        rows = self._read(f"SELECT {self._RESPONSE_COLS} FROM lm_calls WHERE key=?", (key,))
        return response_from_row(rows[0]) if rows else None

    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None:
        self._write(
            f"INSERT OR IGNORE INTO lm_calls (key, role, request, {self._RESPONSE_COLS}, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, role, dumps(request.to_json()), *response_to_row(response), time.time()),
        )

    def lm_calls(self) -> list[LMCallRecord]:
        rows = self._read(
            f"SELECT key, role, request, {self._RESPONSE_COLS} FROM lm_calls ORDER BY rowid"
        )
        return [
            LMCallRecord(key, role, json.loads(req), response_from_row(rest))
            for key, role, req, *rest in rows
        ]

    # -- commits -------------------------------------------------------------------
    def put_candidate(self, candidate: Candidate) -> None:
        row = candidate_to_row(candidate)
        self._write(
            "INSERT OR IGNORE INTO candidates (id, seq, components, parents, origin, iteration, "
            "changed, val_scores, val_objectives) "
            "VALUES (?, (SELECT COUNT(*) FROM candidates), ?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    def candidates(self) -> list[Candidate]:
        return [
            candidate_from_row(r)
            for r in self._read(
                "SELECT id, components, parents, origin, iteration, changed, val_scores, "
                "val_objectives FROM candidates ORDER BY seq"
            )
        ]

    _PROPOSAL_COLS = (
        "iteration, kind, parents, components, texts, gate_examples, parent_gate_score, "
        "child_gate_score, accepted, verdict, reason, candidate_id"
    )

    def put_proposal(self, proposal: Proposal) -> None:
        self._write(
            f"INSERT OR IGNORE INTO proposals ({self._PROPOSAL_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            proposal_to_row(proposal),
        )

    def proposals(self) -> list[Proposal]:
        return [
            proposal_from_row(r)
            for r in self._read(f"SELECT {self._PROPOSAL_COLS} FROM proposals ORDER BY iteration")
        ]

    def append_event(self, seq: int, kind: str, payload: Mapping[str, Any]) -> None:
        self._write(
            "INSERT OR IGNORE INTO events (seq, kind, payload, created_at) VALUES (?, ?, ?, ?)",
            (seq, kind, dumps(dict(payload)), time.time()),
        )

    def events(self) -> list[EventRecord]:
        return [
            EventRecord(seq, kind, json.loads(payload), created)
            for seq, kind, payload, created in self._read(
                "SELECT seq, kind, payload, created_at FROM events ORDER BY seq"
            )
        ]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self._writer.release()


def _store_error(path: Path, action: str, exc: sqlite3.DatabaseError) -> StoreError:
    """One line naming the real cause (disk full, read-only, corrupt), never SQLite's noise."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF  # extended codes carry the primary below
    text = str(exc)
    if primary == _SQLITE_FULL or "disk is full" in text:
        cause = "the disk is full (free some space, then resume)"
    elif primary in (_SQLITE_READONLY, _SQLITE_PERM) or "readonly" in text:
        cause = "it is read-only (show, export and report still work; resume needs write access)"
    elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        cause = f"it is unreadable or corrupt ({text})"
    elif primary == _SQLITE_CANTOPEN:
        cause = f"SQLite cannot open it ({text}: is its directory writable?)"
    elif primary == _SQLITE_IOERR:
        cause = f"the disk reported an I/O error ({text})"
    else:
        cause = text
    if action == "open":
        return StoreError(f"the run store at {path} cannot be opened: {cause}")
    return StoreError(f"cannot {action} the run store at {path}: {cause}")
