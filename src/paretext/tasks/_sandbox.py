"""Run untrusted code (LLM-written Python, compiled C/CUDA binaries) inside a boundary.

The boundary is Linux namespaces set up by bubblewrap (see ``_isolation.py``):
each run gets new user, PID, IPC, UTS and network namespaces, an empty
environment but for what the caller passes, read-only system paths, a private
writable ``/work`` (and ``/tmp``), a ``/proc`` that shows only its own
processes, no network unless asked, rlimits (CPU, address space, file size,
open files, no core dumps), a pids cgroup where one can be created, and a
wall-clock limit after which the whole PID namespace is killed, ``setsid``
children included.  Python also gets an audit hook as a second layer that
refuses and reports what generated code should not do (``_pyboot.py``).

Where bubblewrap is missing or user namespaces are refused, nothing runs:
:class:`SandboxUnavailable` says so, unless the weaker containment (fresh
environment, rlimits, process-group kill, audit hook) is chosen by name with
``isolation="weak"`` or ``PARETEXT_SANDBOX=weak``.

Two entry points: :func:`run_sandboxed` runs one command with files and limits;
:class:`Sandbox` keeps one work directory across several commands (compile,
then run).  :func:`run_python` runs a Python source as ``main.py``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Literal

from ._isolation import (
    WORK_DIR,
    Isolation,
    PidsCgroup,
    SandboxUnavailable,
    bwrap_argv,
    bwrap_executable,
    check_isolation,
    python_binds,
    resolve_isolation,
    rlimit_argv,
)
from ._pyboot import BOOT, LAUNCH
from ._text import clip

__all__ = [
    "Isolation",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "SandboxUnavailable",
    "run_python",
    "run_sandboxed",
]

SandboxStatus = Literal[
    "ok", "error", "timeout", "cpu_limit", "memory_limit", "output_limit", "blocked", "crashed"
]

_AUDIT_DIR = "/.audit"


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Limits for one run.

    ``file_bytes`` caps every file written, stdout and stderr included.
    ``memory_bytes`` caps the address space; ``None`` lifts it (CUDA programs
    reserve far more address space than they use).  ``processes`` caps the
    processes and threads alive at once where a pids cgroup can be created.
    """

    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int | None = 512 * 1024 * 1024
    file_bytes: int = 8 * 1024 * 1024
    open_files: int = 64
    output_chars: int = 8000
    processes: int = 64


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What happened: a status, the (clipped) output, timing, refusals, and files asked back.

    ``seconds`` is the wall-clock time of the whole run (sandbox set-up
    included); ``cpu_seconds`` the CPU time the command and its children used.
    """

    status: SandboxStatus
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limits: SandboxLimits
    violations: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    cpu_seconds: float = 0.0
    isolation: Isolation = "namespaces"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One sentence for feedback: why the run ended the way it did."""
        lim = self.limits
        if self.status == "ok":
            return "The code ran to completion."
        if self.status == "timeout":
            return f"The run was killed after the {lim.wall_seconds:g} s wall-clock limit."
        if self.status == "cpu_limit":
            return f"The run was killed after using its {lim.cpu_seconds} s of CPU time."
        if self.status == "memory_limit":
            cap = "its memory limit" if lim.memory_bytes is None else (
                f"limit {lim.memory_bytes // 2**20} MiB"
            )
            return f"The run ran out of memory ({cap})."
        if self.status == "output_limit":
            return f"The run wrote more than the {lim.file_bytes // 2**20} MiB file/output limit."
        if self.status == "blocked":
            return "The sandbox refused: " + "; ".join(self.violations) + "."
        if self.status == "crashed" and self.returncode is not None:
            return f"The process died with signal {_signal_name(-self.returncode)}."
        return f"The code raised an error (exit status {self.returncode})."


class Sandbox:
    """One private work directory that several sandboxed commands share.

    >>> with Sandbox(files={"k.c": source}) as box:                  # doctest: +SKIP
    ...     built = box.run(["gcc", "-O2", "k.c", "-o", "k"])
    ...     timed = box.run(["./k"], limits=SandboxLimits(wall_seconds=2))

    ``network=True`` keeps the host's network; ``gpu=True`` exposes ``/dev/nvidia*``;
    ``ro_paths`` adds host directories read-only at the same path (a toolkit outside
    ``/usr``, say).  The directory is removed by :meth:`close` (or the ``with`` block).
    Raises :class:`SandboxUnavailable` when the isolation asked for cannot be set up.
    """

    def __init__(
        self,
        files: Mapping[str, str | bytes] | None = None,
        *,
        isolation: Isolation | None = None,
        network: bool = False,
        gpu: bool = False,
        ro_paths: Sequence[str] = (),
    ) -> None:
        self.isolation: Isolation = resolve_isolation(isolation)
        check_isolation(self.isolation)
        for path in ro_paths:
            if not os.path.isabs(path) or not os.path.exists(path):
                raise ValueError(f"ro_paths must be existing absolute paths, got {path!r}")
        self.network = network
        self.gpu = gpu
        self._ro_paths = tuple(ro_paths)
        for name in files or {}:
            _plain(name)
        self._tmp = tempfile.TemporaryDirectory(prefix="paretext-sandbox-")
        self._base = Path(self._tmp.name)
        self.path = self._base / "work"
        self.path.mkdir()
        (self._base / "audit").mkdir()
        for name, data in (files or {}).items():
            self.write(name, data)

    # -- files ---------------------------------------------------------------------
    def write(self, name: str, data: str | bytes) -> None:
        """Write a file into the work directory (never through a link the code left there)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        fd = os.open(self.path / _plain(name), flags, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)

    def read_bytes(self, name: str, limit: int | None = None) -> bytes | None:
        """A regular file the code wrote, or ``None``; links are never followed."""
        try:
            fd = os.open(self.path / _plain(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return handle.read(-1 if limit is None else limit)

    def read_text(self, name: str, limit: int | None = None) -> str | None:
        data = self.read_bytes(name, limit)
        return None if data is None else data.decode("utf-8", errors="replace")

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        limits: SandboxLimits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | bytes | None = None,
        collect: Sequence[str] = (),
    ) -> SandboxResult:
        """Run ``argv`` (looked up on the sandbox's ``PATH``; ``./prog`` for a built binary).

        ``env`` is added to a minimal environment; nothing of this process's is passed.
        Never raises for anything the command does.
        """
        if not argv:
            raise ValueError("argv must name a command")
        return self._spawn(list(argv), limits or SandboxLimits(), env or {}, stdin, collect, ())

    def run_python(
        self,
        source: str,
        *,
        limits: SandboxLimits | None = None,
        collect: Sequence[str] = (),
        audit_hook: bool = True,
    ) -> SandboxResult:
        """Run ``source`` as ``main.py``, behind the audit hook unless ``audit_hook=False``."""
        self.write("main.py", source)
        exe, paths = python_binds()
        if audit_hook:
            report = (
                f"{_AUDIT_DIR}/refusals.log"
                if self.isolation == "namespaces"
                else str(self._base / "audit" / "refusals.log")
            )
            boot = ["-c", LAUNCH, BOOT, report]
        else:
            boot = ["main.py"]
        argv = [exe, "-I", "-S", "-X", "utf8", *boot]
        env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        return self._spawn(argv, limits or SandboxLimits(), env, None, collect, paths)

    def _spawn(
        self,
        command: list[str],
        limits: SandboxLimits,
        extra_env: Mapping[str, str],
        stdin: str | bytes | None,
        collect: Sequence[str],
        ro_paths: Sequence[str],
    ) -> SandboxResult:
        base = self._base
        audit = base / "audit" / "refusals.log"
        audit.unlink(missing_ok=True)
        (base / "stdin").write_bytes(stdin.encode() if isinstance(stdin, str) else stdin or b"")
        prefix = rlimit_argv(
            cpu_seconds=max(1, int(limits.cpu_seconds)),
            memory_bytes=None if limits.memory_bytes is None else int(limits.memory_bytes),
            file_bytes=int(limits.file_bytes),
            open_files=int(limits.open_files),
        )
        cgroup = PidsCgroup.create(limits.processes)
        if cgroup is not None:
            prefix = [*cgroup.join_argv(), *prefix]
        if self.isolation == "namespaces":
            env = {**_minimal_env(WORK_DIR, "/tmp"), **extra_env}
            box = bwrap_argv(
                bwrap_executable(),
                work=self.path,
                env=env,
                ro_paths=(*self._ro_paths, *ro_paths),
                network=self.network,
                gpu=self.gpu,
                extra_binds=[(base / "audit", _AUDIT_DIR)],
            )
            argv, cwd, popen_env = [*prefix, *box, *command], None, {}
        else:
            home = str(self.path)
            argv, cwd = [*prefix, *command], self.path
            popen_env = {**_minimal_env(home, home), **extra_env}
        started = time.monotonic()
        try:
            with (
                open(base / "stdin", "rb") as inp,
                open(base / "stdout", "wb") as out,
                open(base / "stderr", "wb") as err,
            ):
                proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=popen_env,
                    stdin=inp,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                )
            timed_out = not _wait_unreaped(proc, limits.wall_seconds)
            _kill_group(proc.pid)
            if cgroup is not None:
                cgroup.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = returncode = os.waitstatus_to_exitcode(status)
        finally:
            if cgroup is not None:
                cgroup.remove()
        seconds = time.monotonic() - started
        if self.isolation == "namespaces" and returncode > 128 and _is_signal(returncode - 128):
            returncode = -(returncode - 128)  # bwrap reports a signal death as 128 + signal
        stdout = _read_clipped(base / "stdout", limits.output_chars)
        stderr = _read_clipped(base / "stderr", limits.output_chars)
        violations = tuple(
            dict.fromkeys(audit.read_text("utf-8", "replace").splitlines())
            if audit.exists()
            else ()
        )
        collected = {
            name: text
            for name in collect
            if (text := self.read_text(name, limits.file_bytes)) is not None
        }
        oversize = any((base / n).stat().st_size >= limits.file_bytes for n in ("stdout", "stderr"))
        return SandboxResult(
            status=_status(returncode, timed_out, stderr, violations, oversize),
            returncode=None if timed_out else returncode,
            stdout=stdout,
            stderr=stderr,
            seconds=seconds,
            limits=limits,
            violations=violations,
            files=MappingProxyType(collected),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            isolation=self.isolation,
        )

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def run_sandboxed(
    argv: Sequence[str],
    *,
    files: Mapping[str, str | bytes] | None = None,
    limits: SandboxLimits | None = None,
    collect: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stdin: str | bytes | None = None,
    network: bool = False,
    gpu: bool = False,
    ro_paths: Sequence[str] = (),
    isolation: Isolation | None = None,
) -> SandboxResult:
    """Run one command in a fresh sandbox holding ``files``; report how it ended.

    ``collect`` names files to read back as text (missing ones are left out).
    Raises :class:`SandboxUnavailable` when the sandbox cannot be set up, never
    for anything the command does.  For several commands on one directory (compile,
    then run) use :class:`Sandbox`.
    """
    with Sandbox(files, isolation=isolation, network=network, gpu=gpu, ro_paths=ro_paths) as box:
        return box.run(argv, limits=limits, env=env, stdin=stdin, collect=collect)


def run_python(
    source: str,
    *,
    limits: SandboxLimits | None = None,
    files: Mapping[str, str] | None = None,
    collect: Sequence[str] = (),
    isolation: Isolation | None = None,
    audit_hook: bool = True,
) -> SandboxResult:
    """Run ``source`` as ``main.py`` in a fresh sandbox and report how it ended.

    ``files`` are written beside ``main.py`` first; ``collect`` names files to
    read back afterwards (missing ones are left out of :attr:`SandboxResult.files`).
    Never raises for anything the code does; raises :class:`SandboxUnavailable`
    (an ``OSError``) only if the sandbox itself cannot be set up.
    """
    with Sandbox(files, isolation=isolation) as box:
        return box.run_python(source, limits=limits, collect=collect, audit_hook=audit_hook)


def _plain(name: str) -> str:
    if not name or Path(name).name != name or name.startswith(".") or "\0" in name:
        raise ValueError(f"sandbox file names must be plain names, got {name!r}")
    return name


def _minimal_env(home: str, tmp: str) -> dict[str, str]:
    # Built from scratch: nothing of the parent's environment (keys, tokens) gets in.
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _wait_unreaped(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for exit without reaping, so the process group id stays ours to kill."""
    pid = proc.pid
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # pragma: no cover - kernels before 5.3
        pidfd = None
    if pidfd is not None:
        try:
            ready, _, _ = select.select([pidfd], [], [], max(0.0, timeout))
            return bool(ready)
        finally:
            os.close(pidfd)
    deadline = time.monotonic() + timeout  # pragma: no cover - the fallback above is Linux 5.3+
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read_clipped(path: Path, limit: int) -> str:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if size <= 2 * limit:
            return handle.read().decode("utf-8", errors="replace")
        head = handle.read(limit)
        handle.seek(size - limit)
        tail = handle.read()
    text = head.decode("utf-8", errors="replace") + "\n" + tail.decode("utf-8", errors="replace")
    return clip(text, 2 * limit)


def _status(
    returncode: int,
    timed_out: bool,
    stderr: str,
    violations: tuple[str, ...],
    oversize: bool,
) -> SandboxStatus:
    tail = stderr[-600:]
    if timed_out:
        return "timeout"
    if returncode == -signal.SIGXCPU:
        return "cpu_limit"
    if oversize or returncode == -signal.SIGXFSZ or "File too large" in tail:
        return "output_limit"
    if "MemoryError" in tail:
        return "memory_limit"
    if returncode != 0 and violations:
        return "blocked"
    if returncode < 0:
        return "crashed"
    return "ok" if returncode == 0 else "error"


def _is_signal(number: int) -> bool:
    try:
        signal.Signals(number)
    except ValueError:
        return False
    return True


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
