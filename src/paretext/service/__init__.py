"""The background optimization service: prompt slots that keep learning from feedback.

``paretext serve`` runs the HTTP API (and, by default, a worker inside it);
``paretext worker`` runs more workers against the same database.  Needs the
``service`` extra (FastAPI, uvicorn, SQLAlchemy 2, Alembic, psycopg 3).
"""

from __future__ import annotations

try:
    import alembic  # noqa: F401
    import fastapi  # noqa: F401
    import sqlalchemy  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        f"paretext.service needs the 'service' extra ({exc.name} is missing): "
        "pip install 'paretext[service]'"
    ) from exc

from ._app import create_app
from ._config import ServiceConfig
from ._db import connect, migrate, normalize_url
from ._errors import Conflict, NotFound, ServiceError, Unauthorized
from ._feedback import EventMetric, parse_grade, similarity
from ._records import EventRecord, RoundRecord, Slot, Spend, Version
from ._store import Outcome, ServiceStore
from ._worker import Worker

__all__ = [
    "Conflict",
    "EventMetric",
    "EventRecord",
    "NotFound",
    "Outcome",
    "RoundRecord",
    "ServiceConfig",
    "ServiceError",
    "ServiceStore",
    "Slot",
    "Spend",
    "Unauthorized",
    "Version",
    "Worker",
    "connect",
    "create_app",
    "migrate",
    "normalize_url",
    "parse_grade",
    "similarity",
]
