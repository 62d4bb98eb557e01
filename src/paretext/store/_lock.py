"""One writer per run: an exclusive ``flock`` on a lock file beside the run's database.

The kernel drops the lock when the holder exits, however it exits (``kill -9``
included), so a stale lock cannot outlive its process.  The file holds the
holder's pid, host and start time, so a refused writer can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import StoreError

__all__ = ["RunLocked", "WriterLock", "current_writer"]


class RunLocked(StoreError):
    """Another process is writing this run."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def _describe(holder: dict[str, Any]) -> str:
    since = holder.get("since")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if since else ""
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}{when}"


def _holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class WriterLock:
    """The exclusive lock on one run; :meth:`acquire` once, :meth:`release` on close."""

    def __init__(self, path: Path, location: str) -> None:
        self.path = path
        self._location = location
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = False) -> None:
        """Take the lock, or raise :class:`RunLocked` naming the holder (``wait``: queue)."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot lock the run at {self._location}: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            holder = _holder(self.path)
            raise RunLocked(
                f"the run at {self._location} is being written by {_describe(holder)}; "
                "wait for it to finish (or pass --wait to queue behind it), or use another run "
                "path",
                holder,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def current_writer(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at ``path`` (``{}`` when unknown), or ``None`` when nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
