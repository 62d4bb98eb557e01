"""Run native commands (a compiler, a compiled binary) contained, in a shared work directory.

:func:`run_python` contains Python with an audit hook; native code has no such
hook, so the containment here comes from the operating system:

- bubblewrap (``bwrap``): new user, PID, IPC, UTS and **network** namespaces (no
  network at all), a read-only ``/usr`` (the toolchain), a private ``/tmp``,
  only the work directory writable, ``/proc`` of its own PID namespace; the
  whole tree dies with its parent;
- ``prlimit``: CPU time, address space, file size, open files, processes; no cores;
- a wall-clock timeout after which the process group is killed;
- an environment built from scratch (no API key or token reaches the command);
- optionally pinned to one CPU (``taskset``), for steadier timings.

Without ``bwrap`` the command still runs with the limits, but not isolated:
:attr:`CommandResult.isolated` says so and :meth:`CommandResult.describe`
mentions it, so a caller can refuse or report it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._sandbox import SandboxLimits, SandboxStatus
from ._text import clip

__all__ = ["CommandResult", "Workspace", "isolation_available", "run_command", "workspace"]

_MOUNT = "/sandbox"
_SIGNAL_EXIT = 128


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How one command ended: status, clipped output, time, and whether it was isolated."""

    argv: tuple[str, ...]
    status: SandboxStatus
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limits: SandboxLimits
    isolated: bool

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One sentence for feedback: why the command ended the way it did."""
        lim = self.limits
        note = "" if self.isolated else " (not isolated: bubblewrap is not installed)"
        if self.status == "ok":
            return "It ran to completion." + note
        if self.status == "timeout":
            return f"It was killed after the {lim.wall_seconds:g} s wall-clock limit." + note
        if self.status == "cpu_limit":
            return f"It was killed after using its {lim.cpu_seconds} s of CPU time." + note
        if self.status == "output_limit":
            return f"It wrote more than the {lim.file_bytes // 2**20} MiB file limit." + note
        if self.status == "crashed" and self.returncode is not None:
            return f"It died with signal {_signal_name(-self.returncode)}." + note
        return f"It exited with status {self.returncode}." + note


@dataclass(frozen=True, slots=True)
class Workspace:
    """A temporary directory shared by several commands (compile, then run)."""

    path: Path

    def write(self, name: str, text: str) -> None:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"workspace file names must be plain names, got {name!r}")
        (self.path / name).write_text(text, encoding="utf-8")

    def read(self, name: str) -> str | None:
        target = self.path / name
        return target.read_text("utf-8", errors="replace") if target.is_file() else None


@contextlib.contextmanager
def workspace(files: Mapping[str, str] | None = None) -> Iterator[Workspace]:
    """A fresh work directory holding ``files``; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="paretext-cmd-") as tmp:
        root = Path(tmp)
        (root / "work").mkdir()
        ws = Workspace(root / "work")
        for name, text in (files or {}).items():
            ws.write(name, text)
        yield ws


def isolation_available() -> bool:
    """Whether ``bwrap`` is installed and can create namespaces here."""
    return _bwrap_works(shutil.which("bwrap"))


_BWRAP_CHECKED: dict[str, bool] = {}


def _bwrap_works(bwrap: str | None) -> bool:
    if bwrap is None:
        return False
    if bwrap not in _BWRAP_CHECKED:
        try:
            probe = subprocess.run(
                [bwrap, *_namespace_args(Path("/")), "true"],
                capture_output=True,
                timeout=10,
                check=False,
            )
            _BWRAP_CHECKED[bwrap] = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_CHECKED[bwrap] = False
    return _BWRAP_CHECKED[bwrap]


def _namespace_args(work: Path) -> list[str]:
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        top = Path("/") / link
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    args += ["--bind", str(work), _MOUNT, "--chdir", _MOUNT]
    return args


def _prlimit_args(limits: SandboxLimits, processes: int) -> list[str]:
    cpu = max(1, int(limits.cpu_seconds))
    memory = [] if limits.memory_bytes is None else [f"--as={int(limits.memory_bytes)}"]
    return [
        f"--cpu={cpu}:{cpu + 1}",
        *memory,
        f"--fsize={int(limits.file_bytes)}",
        f"--nofile={int(limits.open_files)}",
        f"--nproc={processes}",
        "--core=0",
    ]


def pinned_cpu() -> int | None:
    """The CPU timed runs are pinned to: the last one this process may use."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:  # pragma: no cover - not Linux
        return None
    cpus = sorted(getaffinity(0))
    return cpus[-1] if cpus else None


def run_command(
    argv: Sequence[str],
    ws: Workspace,
    *,
    limits: SandboxLimits | None = None,
    env: Mapping[str, str] | None = None,
    pin_cpu: int | None = None,
    processes: int = 64,
    devices: Sequence[str] = (),
) -> CommandResult:
    """Run ``argv`` in ``ws`` (its working directory) under ``limits``, contained.

    Paths inside the command should be relative to the work directory.  ``env``
    adds variables to the minimal environment; ``devices`` are device files
    (``/dev/nvidia0``...) made visible inside the sandbox.  Never raises for
    anything the command does; raises ``OSError`` if it cannot be started.
    """
    limits = limits or SandboxLimits()
    bwrap = shutil.which("bwrap")
    isolated = _bwrap_works(bwrap)
    home = _MOUNT if isolated else str(ws.path)
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **(env or {}),
    }
    command: list[str] = [shutil.which("prlimit") or "prlimit", *_prlimit_args(limits, processes)]
    command.append("--")
    if pin_cpu is not None and shutil.which("taskset"):
        command += ["taskset", "-c", str(pin_cpu)]
    if isolated:
        assert bwrap is not None
        command += [bwrap, *_namespace_args(ws.path)]
        for device in devices:
            command += ["--dev-bind", device, device]
        for key, value in environment.items():
            command += ["--setenv", key, value]
        command.append("--")
    command += list(argv)
    logs = ws.path.parent
    started = time.monotonic()
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        proc = subprocess.Popen(
            command,
            cwd=ws.path,
            env=environment,
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
    stdout = _read_clipped(logs / "stdout", limits.output_chars)
    stderr = _read_clipped(logs / "stderr", limits.output_chars)
    oversize = any((logs / n).stat().st_size >= limits.file_bytes for n in ("stdout", "stderr"))
    # bwrap reports a child killed by a signal as exit status 128 + signal number.
    if isolated and returncode > _SIGNAL_EXIT:
        returncode = -(returncode - _SIGNAL_EXIT)
    status = _status(returncode, timed_out, oversize)
    return CommandResult(
        argv=tuple(argv),
        status=status,
        returncode=None if timed_out else returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=seconds,
        limits=limits,
        isolated=isolated,
    )


# Process handling as in ``run_python`` (its helpers are private to that module).


def _wait_unreaped(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for exit without reaping, so the process group id stays ours to kill."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
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
    text = path.read_bytes().decode("utf-8", errors="replace")
    return text if len(text) <= 2 * limit else clip(text, 2 * limit)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _status(returncode: int, timed_out: bool, oversize: bool) -> SandboxStatus:

    if timed_out:
        return "timeout"
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and not oversize:
        return "cpu_limit" if returncode == -signal.SIGXCPU else "crashed"
    if oversize or returncode == -signal.SIGXFSZ:
        return "output_limit"
    if returncode < 0:
        return "crashed"
    return "ok" if returncode == 0 else "error"
