"""Run any ``gepa.GEPAAdapter`` on paretext's engine (extra ``gepa``).

    from paretext.adapters.gepa import optimize_with_adapter
    result = optimize_with_adapter(adapter, {"system_prompt": "..."}, train, val,
                                   reflection_lm="openai/gpt-5", budget=500, run="runs/x")

Existing adapters (DSPy programs, MCP tools, terminal agents, RAG) keep their
code and gain the exact budget, proposals in flight, resume and the report.
"""

from __future__ import annotations

from ...errors import ConfigError

try:
    import gepa  # noqa: F401 - fail here, naming the extra, not deep inside
except ImportError:
    raise ConfigError("paretext.adapters.gepa needs gepa: pip install 'paretext[gepa]'") from None

from ._program import AdapterProgram
from ._run import AdapterReflection, aoptimize_with_adapter, optimize_with_adapter

__all__ = ["AdapterProgram", "AdapterReflection", "aoptimize_with_adapter", "optimize_with_adapter"]
