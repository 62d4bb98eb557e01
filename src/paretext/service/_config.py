"""How one service process (API, worker or both) is set up."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..lm import LM

__all__ = ["ServiceConfig"]


def _resolve(model: str) -> LM:
    from ..lm import resolve_lm

    return resolve_lm(model)


@dataclass(frozen=True)
class ServiceConfig:
    """Settings shared by ``paretext serve`` and ``paretext worker``.

    ``database``: a SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``) or a file path.
    ``runs``: where each round's run store goes (shared by every worker and the API).
    ``worker``: run rounds inside the API process (the default) or leave them to
    ``paretext worker`` processes.  ``admin_token``: enables ``POST /v1/tenants``.
    Provider keys are read by the LM clients from the environment, never from here.
    """

    database: str = "paretext-service.db"
    runs: Path = Path("paretext-runs")
    worker: bool = True
    reflection_lm: str | None = None
    judge_lm: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1 << 20
    cache_ttl_s: float = 1.0
    poll_s: float = 1.0
    lease_s: float = 30.0
    max_attempts: int = 5
    lm_factory: Callable[[str], LM] = field(default=_resolve, repr=False)

    @staticmethod
    def admin_token_from_env() -> str | None:
        return os.environ.get("PARETEXT_ADMIN_TOKEN") or None
