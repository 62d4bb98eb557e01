"""Fixtures for the service tests (the servers themselves live in ``servers.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from servers import database, llm, postgres, service_factory  # noqa: F401
