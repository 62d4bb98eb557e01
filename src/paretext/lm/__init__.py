"""Language models behind one protocol: clients, wrappers and a scripted fake."""

from __future__ import annotations

from ._base import LM, ChatRequest, LMResponse, Message, Usage
from ._cache import CachedLM, ResponseStore
from ._scripted import ScriptedLM
from ._usage import MeteredLM, UsageTracker

__all__ = [
    "LM",
    "CachedLM",
    "ChatRequest",
    "LMResponse",
    "Message",
    "MeteredLM",
    "ResponseStore",
    "ScriptedLM",
    "Usage",
    "UsageTracker",
]
