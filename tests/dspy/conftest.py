"""Fixtures for paretext.dspy: the real DSPy against rule-world servers on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# DSPy fetches a model price map on first use; there is no network here, so use its snapshot.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "lm"))

from dspy_world import reflection_responder, task_responder
from fake_server import FakeOpenAIServer

from paretext.lm import register_price

KEY = "sk-test-dspy"
# The fake servers are free: their cost is 0, not unknown.
register_price("task-model", 0.0, 0.0)
register_price("reflector", 0.0, 0.0)


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    """(task server, reflection server), both speaking the rule world."""
    with (
        FakeOpenAIServer(responder=task_responder()) as task,
        FakeOpenAIServer(responder=reflection_responder()) as reflection,
    ):
        yield task, reflection


def lms(task: FakeOpenAIServer, reflection: FakeOpenAIServer, **kwargs: Any) -> tuple[Any, Any]:
    """The user's two ``dspy.LM``s, DSPy's cache off so every call reaches the server."""
    import dspy

    task_lm = dspy.LM(
        "openai/task-model",
        api_base=task.base_url,
        api_key=KEY,
        cache=False,
        num_retries=0,
        **kwargs,
    )
    reflection_lm = dspy.LM(
        "openai/reflector", api_base=reflection.base_url, api_key=KEY, cache=False, num_retries=0
    )
    return task_lm, reflection_lm
