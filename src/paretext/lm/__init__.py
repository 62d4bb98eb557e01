"""Language models behind one protocol: clients, wrappers and a scripted fake.

Clients: :class:`OpenAIClientLM` (any OpenAI-compatible server), :class:`LiteLLMLM`
(other providers, extra ``litellm``), :class:`LocalLM` (in-process GGUF, extra
``local``).  Wrappers: :class:`TimeoutLM`, :class:`LimitedLM`, :class:`RetryingLM`,
:class:`CachedLM`, :class:`MeteredLM`, :class:`DefaultsLM`.  :func:`resolve_lm`
composes them from a model string.
"""

from __future__ import annotations

from ._base import LM, ChatRequest, LMResponse, Message, Usage
from ._cache import CachedLM, ResponseStore
from ._compose import compose_lm
from ._errors import error_for_status
from ._hedge import HedgedLM
from ._limits import LimitedLM, Limiter, LimiterPool, shared_limiters
from ._litellm import LiteLLMLM
from ._local import LocalLM, LocalStats
from ._models import (
    DEFAULT_MODEL,
    BundledModel,
    ModelInfo,
    ModelInstaller,
    cache_dir,
    install_model,
    list_models,
)
from ._openai import OpenAIClientLM, close_loop_clients
from ._price_check import check_usd_cap
from ._pricing import Price, cost_usd, get_price, register_price
from ._resolve import ComposedLM, DefaultsLM, resolve_lm
from ._retry import RetryingLM, RetryPolicy, TimeoutLM
from ._scripted import ScriptedLM
from ._secrets import Secret, scrub
from ._usage import MeteredLM, UsageTracker

__all__ = [
    "DEFAULT_MODEL",
    "LM",
    "BundledModel",
    "CachedLM",
    "ChatRequest",
    "ComposedLM",
    "DefaultsLM",
    "HedgedLM",
    "LMResponse",
    "LimitedLM",
    "Limiter",
    "LimiterPool",
    "LiteLLMLM",
    "LocalLM",
    "LocalStats",
    "Message",
    "MeteredLM",
    "ModelInfo",
    "ModelInstaller",
    "OpenAIClientLM",
    "Price",
    "ResponseStore",
    "RetryPolicy",
    "RetryingLM",
    "ScriptedLM",
    "Secret",
    "TimeoutLM",
    "Usage",
    "UsageTracker",
    "cache_dir",
    "check_usd_cap",
    "close_loop_clients",
    "compose_lm",
    "cost_usd",
    "error_for_status",
    "get_price",
    "install_model",
    "list_models",
    "register_price",
    "resolve_lm",
    "scrub",
    "shared_limiters",
]
