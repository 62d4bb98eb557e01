"""Run untrusted Python (LLM-written code) in a contained subprocess.

Containment, layer by layer:

- a fresh temporary directory as working directory, ``HOME`` and ``TMPDIR``,
  removed afterwards;
- a minimal environment: nothing is inherited, so no API key or token leaks;
- ``resource`` limits on CPU time, address space, file size and open files,
  and no core dumps;
- a wall-clock timeout, after which the whole process group is killed;
- an audit hook (PEP 578) that refuses shell commands, subprocesses, forks,
  signals to other processes, network connections, native libraries, writes
  outside the working directory and reads of other processes' ``/proc`` files
  (such as the parent's ``environ``), and records each refusal.

This contains the accidents of generated code (endless loops, memory blow-ups,
shelling out, wandering file writes, reading secrets).  It is not a security
boundary against code written to escape on purpose: for that, run paretext
inside a container or VM.  Needs a POSIX system (``resource``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from ._text import clip

__all__ = ["SandboxLimits", "SandboxResult", "SandboxStatus", "run_python"]

SandboxStatus = Literal[
    "ok", "error", "timeout", "cpu_limit", "memory_limit", "output_limit", "blocked", "crashed"
]


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Limits for one run.  ``file_bytes`` caps every file written, stdout and stderr included."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 8 * 1024 * 1024
    open_files: int = 64
    output_chars: int = 8000


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What happened: a status, the (clipped) output, refusals, and files asked back."""

    status: SandboxStatus
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limits: SandboxLimits
    violations: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

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
            return f"The run ran out of memory (limit {lim.memory_bytes // 2**20} MiB)."
        if self.status == "output_limit":
            return f"The run wrote more than the {lim.file_bytes // 2**20} MiB file/output limit."
        if self.status == "blocked":
            return "The sandbox refused: " + "; ".join(self.violations) + "."
        if self.status == "crashed" and self.returncode is not None:
            return f"The process died with signal {_signal_name(-self.returncode)}."
        return f"The code raised an error (exit status {self.returncode})."


# Runs inside the child before the user's code.  Everything it needs is imported
# before the audit hook goes in; the hook then guards every later operation.
_BOOT = r"""
import _thread, json, os, resource, sys, traceback
cfg = json.loads(sys.argv[2])
sys.argv = ["main.py"]
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]

def _limit(kind, soft, hard):
    _, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(kind, (soft, hard))

_limit(resource.RLIMIT_CPU, cfg["cpu"], cfg["cpu"] + 1)
_limit(resource.RLIMIT_AS, cfg["memory"], cfg["memory"])
_limit(resource.RLIMIT_FSIZE, cfg["fsize"], cfg["fsize"])
_limit(resource.RLIMIT_NOFILE, cfg["nofile"], cfg["nofile"])
_limit(resource.RLIMIT_CORE, 0, 0)

ROOT = os.path.realpath(os.getcwd())
PID = os.getpid()
_report = open(cfg["report"], "a", buffering=1, encoding="utf-8")
with open("main.py", encoding="utf-8") as _f:
    _source = _f.read()
DENY = {
    "os.system": "running a shell command",
    "subprocess.Popen": "starting a subprocess",
    "os.exec": "executing a program",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "forking a process",
    "os.forkpty": "forking a process",
    "socket.connect": "opening a network connection",
    "socket.bind": "listening on the network",
    "socket.sendto": "sending network traffic",
    "socket.sendmsg": "sending network traffic",
}
PATHS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.mkdir": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,),
    "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_busy = set()  # threads inside the hook: its own operations are not checked again

def _inside(path):
    full = os.path.normpath(os.path.join(ROOT, os.fsdecode(path)))
    return full == ROOT or full.startswith(ROOT + os.sep)

def _refuse(event, what):
    _report.write(f"{what} ({event})\n")
    raise PermissionError(f"sandbox: {what} is not allowed ({event})")

def _hook(event, args):
    me = _thread.get_ident()
    if me in _busy:
        return
    _busy.add(me)
    try:
        if event in DENY:
            _refuse(event, DENY[event])
        elif event in ("os.kill", "os.killpg"):
            if args[0] not in (PID, 0, -PID):
                _refuse(event, "signalling another process")
        elif event == "ctypes.dlopen":
            if args and args[0] is not None:
                _refuse(event, "loading a native library")
        elif event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            text = os.fsdecode(path)
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(
                (flags or 0) & WRITE_FLAGS)
            if writing and not _inside(text) and text != os.devnull:
                _refuse(event, "writing outside the working directory")
            full = os.path.normpath(os.path.join(ROOT, text))
            if full.startswith("/proc/"):
                part = full.split("/")[2]
                if part.isdigit() and int(part) != PID:
                    _refuse(event, "reading another process's /proc files")
        elif event in PATHS:
            for i in PATHS[event]:
                if i < len(args) and isinstance(args[i], (str, bytes, os.PathLike)):
                    if not _inside(os.fspath(args[i])):
                        _refuse(event, "changing files outside the working directory")
    finally:
        _busy.discard(me)

def _user_frames(report):
    # Keep the user's frames only: the sandbox's own are noise in feedback.
    seen = set()
    while report is not None and id(report) not in seen:
        seen.add(id(report))
        kept = [f for f in report.stack if f.filename != "<sandbox>"]
        report.stack = traceback.StackSummary.from_list(kept)
        report = report.__cause__ or report.__context__

try:
    _code = compile(_source, "main.py", "exec")
except SyntaxError:
    traceback.print_exc(limit=0)
    sys.exit(1)
_globals = {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}
sys.addaudithook(_hook)
try:
    exec(_code, _globals)
except SystemExit:
    raise
except BaseException as _exc:
    _error = traceback.TracebackException.from_exception(_exc)
    _user_frames(_error)
    sys.stderr.write("".join(_error.format()))
    sys.stderr.flush()
    os._exit(1)
"""


_LAUNCH = "import sys; exec(compile(sys.argv[1], '<sandbox>', 'exec'))"


def run_python(
    source: str,
    *,
    limits: SandboxLimits | None = None,
    files: Mapping[str, str] | None = None,
    collect: Sequence[str] = (),
) -> SandboxResult:
    """Run ``source`` as ``main.py`` in a fresh sandbox and report how it ended.

    ``files`` are written beside ``main.py`` first; ``collect`` names files to
    read back afterwards (missing ones are left out of :attr:`SandboxResult.files`).
    Never raises for anything the code does; raises ``OSError`` only if the
    sandbox itself cannot be set up.
    """
    if sys.platform == "win32":  # pragma: no cover - resource limits need POSIX
        raise OSError("the paretext sandbox needs a POSIX system (resource limits)")
    limits = limits or SandboxLimits()
    with tempfile.TemporaryDirectory(prefix="paretext-sandbox-") as tmp:
        base = Path(tmp)
        work = base / "work"
        work.mkdir()
        for name, text in {**(files or {}), "main.py": source}.items():
            if Path(name).name != name or name.startswith("."):
                raise ValueError(f"sandbox file names must be plain names, got {name!r}")
            (work / name).write_text(text, encoding="utf-8")
        report = base / "refusals.log"
        config = {
            "cpu": max(1, int(limits.cpu_seconds)),
            "memory": int(limits.memory_bytes),
            "fsize": int(limits.file_bytes),
            "nofile": int(limits.open_files),
            "report": str(report),
        }
        started = time.monotonic()
        with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-s", "-X", "utf8", "-c", _LAUNCH, _BOOT, json.dumps(config)],
                cwd=work,
                env=_minimal_env(work),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
            timed_out = not _wait_unreaped(proc, limits.wall_seconds)
            _kill_group(proc.pid)
            returncode = proc.wait()
        seconds = time.monotonic() - started
        stdout = _read_clipped(base / "stdout", limits.output_chars)
        stderr = _read_clipped(base / "stderr", limits.output_chars)
        violations = tuple(
            dict.fromkeys(report.read_text("utf-8").splitlines()) if report.exists() else ()
        )
        collected = {
            name: (work / name).read_text("utf-8", errors="replace")
            for name in collect
            if (work / name).is_file()
        }
        oversize = any((base / n).stat().st_size >= limits.file_bytes for n in ("stdout", "stderr"))
    status = _status(returncode, timed_out, stderr, violations, oversize)
    return SandboxResult(
        status=status,
        returncode=None if timed_out else returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=seconds,
        limits=limits,
        violations=violations,
        files=MappingProxyType(collected),
    )


def _minimal_env(home: Path) -> dict[str, str]:
    # Built from scratch: nothing of the parent's environment (keys, tokens) gets in.
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _wait_unreaped(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for exit without reaping, so the process group id stays ours to kill."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    waitid = getattr(os, "waitid", None)
    while True:
        if waitid is not None:
            exited = waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        else:  # pragma: no cover - macOS has no waitid; a tiny pid-reuse race remains there
            exited = proc.poll() is not None
        if exited:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.02)


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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
