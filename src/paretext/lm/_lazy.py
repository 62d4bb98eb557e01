"""Optional heavy dependencies, imported on first use and only once.

A missing one becomes a :class:`~paretext.errors.ConfigError` that names the
extra to install, raised where the user asked for the feature.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

__all__ = ["LazyImport"]


class LazyImport:
    """``get()`` imports ``module`` once or raises with ``hint``.

    ``prepare`` runs just before the import (to set environment switches the
    module reads at import time), ``configure`` just after.
    """

    def __init__(
        self,
        module: str,
        hint: str,
        configure: Callable[[Any], None] | None = None,
        *,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self.module = module
        self.hint = hint
        self._configure = configure
        self._prepare = prepare
        self._loaded: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._loaded is None:
                if self._prepare is not None:
                    self._prepare()
                try:
                    module = importlib.import_module(self.module)
                except ImportError:
                    raise ConfigError(self.hint) from None
                if self._configure is not None:
                    self._configure(module)
                self._loaded = module
            return self._loaded

    def available(self) -> bool:
        """Whether ``get()`` would succeed, without raising."""
        try:
            self.get()
        except ConfigError:
            return False
        return True
