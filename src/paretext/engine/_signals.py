"""SIGINT and SIGTERM ask a run to stop cleanly instead of killing it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(enabled: bool, on_signal: Callable[[signal.Signals], None]) -> Iterator[None]:
    """Call ``on_signal(sig)`` on SIGINT/SIGTERM while inside (where the loop allows it)."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
