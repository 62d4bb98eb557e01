"""Fixtures for the LM layer's tests: the fake OpenAI server and clean shared state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_server import fake_server  # noqa: F401

from paretext.lm import shared_limiters


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Each test starts with no shared limiter left by another."""
    shared_limiters.clear()
    yield
    shared_limiters.clear()


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own key or endpoint must not leak into tests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
