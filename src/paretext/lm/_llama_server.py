"""llama.cpp's own ``llama-server`` as a child process on 127.0.0.1, for batched local inference.

llama-cpp-python's context decodes one sequence at a time, and its
``llama_cpp.server`` puts every request behind one lock.  A small model on a
CPU is memory-bound while generating: reading the weights once per step for
several sequences costs little more than for one, so llama.cpp's server, with
``parallel`` slots decoded together (continuous batching), multiplies the
generated tokens per second.  :class:`LlamaServer` starts it on a free loopback
port, waits until the model is loaded, and stops it with its owner (and with
this process: the child gets ``SIGTERM`` when its parent dies).

The binary is not on PyPI in a form that runs everywhere; ``make llama-server``
builds it from the llama.cpp sources inside llama-cpp-python's sdist.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path

from ..errors import ConfigError

__all__ = ["LlamaServer", "find_llama_server"]

_ENV = "PARETEXT_LLAMA_SERVER"
_PR_SET_PDEATHSIG = 1


def find_llama_server() -> Path | None:
    """``$PARETEXT_LLAMA_SERVER``, else ``llama-server`` beside this Python, else on ``PATH``."""
    configured = os.environ.get(_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"{_ENV}={configured!r} is not an executable file")
        return path
    beside = Path(sys.executable).parent / "llama-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel for SIGTERM when the parent exits."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One ``llama-server`` process serving ``model`` with ``parallel`` slots of ``n_ctx`` each.

    :meth:`start` is blocking (loading takes seconds): call it from a worker thread.
    """

    def __init__(
        self,
        model: Path,
        *,
        binary: Path,
        parallel: int,
        n_ctx: int,
        n_threads: int,
        startup_seconds: float = 180.0,
    ) -> None:
        if parallel < 1:
            raise ConfigError(f"parallel must be at least 1, got {parallel}")
        self.model = model
        self.binary = binary
        self.parallel = parallel
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.startup_seconds = startup_seconds
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._finalizer: weakref.finalize[..., LlamaServer] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the llama server is not started")
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, port: int) -> list[str]:
        # The slots share one KV cache of parallel x n_ctx tokens.  As llama-cpp-python does in
        # process, --jinja formats chats with the model's own template and flash attention is
        # off: one request at a time then gives exactly the in-process tokens.  Idle threads
        # sleep instead of spinning (--poll 0), which matters on a machine shared with others.
        return [
            str(self.binary), "--model", str(self.model), "--host", "127.0.0.1",
            "--port", str(port), "--parallel", str(self.parallel),
            "--ctx-size", str(self.n_ctx * self.parallel), "--threads", str(self.n_threads),
            "--threads-batch", str(self.n_threads), "--jinja", "--flash-attn", "off",
            "--poll", "0", "--no-webui",
        ]

    def start(self) -> str:
        """Start the process and wait until it answers ``/health``; returns the ``/v1`` URL."""
        if self._proc is not None and self._proc.poll() is None:
            return self.base_url
        for attempt in range(3):  # a freed port can be taken before the server binds it
            port = _free_port()
            fd, log = tempfile.mkstemp(prefix="paretext-llama-server-", suffix=".log")
            self._log = Path(log)
            with os.fdopen(fd, "wb") as out:
                self._proc = subprocess.Popen(
                    self.command(port), stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                )
            self.port = port
            self._finalizer = weakref.finalize(self, _terminate, self._proc, self._log)
            if self._wait_ready():
                return self.base_url
            tail = self._log_tail()
            self.stop()
            if "bind" not in tail.lower() or attempt == 2:
                raise ConfigError(f"llama-server did not start for {self.model}:\n{tail}")
        raise AssertionError("unreachable")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_seconds
        url = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass  # not listening yet, or 503 while the model loads
            time.sleep(0.1)
        return False

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return self._log.read_text(errors="replace")[-limit:] if self._log else ""
        except OSError:
            return ""

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers) and remove its log."""
        if self._finalizer is not None:
            self._finalizer()
        self._proc = None
        self._finalizer = None
        self.port = None


def _terminate(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.unlink(missing_ok=True)
