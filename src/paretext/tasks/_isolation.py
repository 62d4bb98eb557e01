"""How a sandboxed command is isolated: bubblewrap namespaces, rlimits, a pids cgroup.

The command line is built here and nowhere else: :func:`bwrap_argv` wraps a
command in new user, PID, IPC, UTS and (unless asked otherwise) network
namespaces, with an empty environment, read-only system paths, a private
``/work`` and ``/tmp``, and a fresh ``/proc`` that shows only the sandbox's own
processes.  :func:`rlimit_argv` prefixes ``prlimit`` (util-linux).  A pids
cgroup, when this process may create one, caps the number of processes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ISOLATION_ENV",
    "WORK_DIR",
    "Isolation",
    "PidsCgroup",
    "SandboxUnavailable",
    "bwrap_argv",
    "check_isolation",
    "python_binds",
    "resolve_isolation",
    "rlimit_argv",
]

#: ``"namespaces"`` is the real boundary (bubblewrap); ``"weak"`` only clears the
#: environment, applies rlimits and kills the process group, with the Python audit hook
#: on top.  The weak mode is never chosen silently: it must be named.
Isolation = Literal["namespaces", "weak"]

#: Environment variable that picks the isolation by name (``weak`` opts into the weak mode).
ISOLATION_ENV = "PARETEXT_SANDBOX"

#: Where the private work directory appears inside the sandbox.
WORK_DIR = "/work"

#: Read-only system paths every sandbox sees (those that exist on this machine).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: The few files under /etc that the dynamic linker and compilers read.
ETC_PATHS = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")


class SandboxUnavailable(OSError):
    """The isolation asked for cannot be set up here; generated code is not run."""


def resolve_isolation(isolation: Isolation | None) -> Isolation:
    """The isolation to use: the argument, else ``$PARETEXT_SANDBOX``, else namespaces."""
    chosen = isolation or os.environ.get(ISOLATION_ENV) or "namespaces"
    if chosen not in ("namespaces", "weak"):
        raise ValueError(
            f"unknown sandbox isolation {chosen!r} (from {ISOLATION_ENV} or isolation=); "
            "choose 'namespaces' or 'weak'"
        )
    return "weak" if chosen == "weak" else "namespaces"


def check_isolation(isolation: Isolation) -> None:
    """Raise :class:`SandboxUnavailable` with the way out when ``isolation`` cannot work here."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable("the paretext sandbox needs Linux (namespaces, prlimit)")
    if shutil.which("prlimit") is None:
        raise SandboxUnavailable("the paretext sandbox needs `prlimit` (Debian package util-linux)")
    if isolation == "namespaces":
        problem = _bwrap_problem()
        if problem is not None:
            raise SandboxUnavailable(
                f"cannot isolate generated code: {problem}. Install bubblewrap "
                "(`apt-get install bubblewrap`) on a kernel that allows user namespaces, or "
                f"accept the weaker containment by name: {ISOLATION_ENV}=weak (or isolation='weak')"
            )


@functools.cache
def _bwrap_problem() -> str | None:
    """Why bubblewrap cannot run here, or ``None`` when a probe sandbox works (checked once)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (`bwrap`) is not installed"
    probe = [*bwrap_argv(exe, work=None, env={}, ro_paths=(), network=False, gpu=False), "true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start ({exc})"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap refuses to create namespaces ({reason[-1] if reason else done.returncode})"
    return None


def bwrap_executable() -> str:
    exe = shutil.which("bwrap")
    if exe is None:  # pragma: no cover - check_isolation ran first
        raise SandboxUnavailable("bubblewrap (`bwrap`) is not installed")
    return exe


def bwrap_argv(
    exe: str,
    *,
    work: Path | None,
    env: Mapping[str, str],
    ro_paths: Sequence[str],
    network: bool,
    gpu: bool,
    extra_binds: Sequence[tuple[Path, str]] = (),
) -> list[str]:
    """``bwrap`` and its options; the command to run inside follows."""
    argv = [
        exe,
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    if not network:
        argv.append("--unshare-net")
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ETC_PATHS:
        argv += ["--ro-bind-try", path, path]
    if network:
        for path in ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl"):
            argv += ["--ro-bind-try", path, path]
    for path in ro_paths:
        real = os.path.realpath(path)
        argv += ["--ro-bind", real, real]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    if gpu:
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(dev), str(dev)]
    for source, target in extra_binds:
        argv += ["--bind", str(source), target]
    if work is not None:
        argv += ["--bind", str(work), WORK_DIR, "--chdir", WORK_DIR]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--remount-ro", "/", "--"]
    return argv


def rlimit_argv(
    *, cpu_seconds: int, memory_bytes: int | None, file_bytes: int, open_files: int
) -> list[str]:
    """``prlimit`` options that set the limits of the command it runs (and its children)."""
    argv = [
        shutil.which("prlimit") or "prlimit",
        f"--cpu={cpu_seconds}:{cpu_seconds + 1}",
        f"--fsize={file_bytes}",
        f"--nofile={open_files}",
        "--core=0",
    ]
    if memory_bytes is not None:
        argv.append(f"--as={memory_bytes}")
    return [*argv, "--"]


def python_binds() -> tuple[str, list[str]]:
    """The interpreter to run sandboxed Python with, and the paths it needs read-only.

    The base interpreter (not a virtualenv's), run with ``-I -S``: the sandbox gets the
    standard library only, not the project's packages (and no ``site`` start-up cost).
    """
    exe = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    paths = [] if prefix.startswith("/usr/") or prefix == "/usr" else [prefix]
    if not exe.startswith(prefix + os.sep) and not exe.startswith("/usr/"):
        paths.append(os.path.dirname(exe))
    return exe, paths


@dataclass
class PidsCgroup:
    """A pids cgroup of its own: caps the process count and kills every member at the end.

    Created only where this process may (root, or a delegated cgroup v2 subtree);
    elsewhere :meth:`create` returns ``None`` and the PID namespace alone ends the run.
    """

    path: Path

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        for parent in _cgroup_parents():
            path = parent / f"paretext-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_pids))
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            return cls(path)
        return None

    def join_argv(self) -> list[str]:
        """A prefix that moves the command into this cgroup before it starts anything."""
        procs = str(self.path / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs]

    def kill(self) -> None:
        """SIGKILL every member (``setsid`` children included)."""
        kill = self.path / "cgroup.kill"
        with contextlib.suppress(OSError):
            if kill.exists():
                kill.write_text("1")
                return
        for pid in self._members():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Remove the cgroup once its members are gone (reaped by their parents)."""
        for delay in (0.0, 0.001, 0.005, 0.02, 0.1, 0.5):
            time.sleep(delay)
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self.kill()

    def _members(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]


def _cgroup_parents() -> Iterator[Path]:
    root = Path("/sys/fs/cgroup")
    v1 = root / "pids"
    if (v1 / "pids.max").exists() or (v1 / "cgroup.procs").exists():
        yield v1
    if (root / "cgroup.controllers").exists():
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                if line.startswith("0::"):
                    yield root / line[3:].lstrip("/")
