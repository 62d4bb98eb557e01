"""paretext: optimize the text inside LLM systems with GEPA.

Reflective prompt evolution with a per-instance Pareto frontier, system-aware
merge, an exact rollout budget, and runs that resume exactly.
"""

from __future__ import annotations

from . import errors
from ._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from ._ids import CandidateId, ExampleId
from ._types import (
    Candidate,
    Example,
    Failure,
    Feedback,
    Proposal,
    Result,
    Rollout,
    TraceStep,
    UsageTotals,
)
from ._verdict import StopReason, Verdict
from .api import aapply, aoptimize, apply, asearch, load, optimize, search
from .artifact import ArtifactResult, aoptimize_artifact, optimize_artifact
from .engine import (
    AllComponents,
    BestSelector,
    CandidateSelector,
    ComponentSelector,
    EngineObserver,
    EpsilonGreedySelector,
    InProcessExecutor,
    ParetoSelector,
    RolloutExecutor,
    RoundRobinComponents,
    RunSnapshot,
    TopKParetoSelector,
    run_rollout,
)
from .errors import ConfigError, ParetextError
from .lm import LM, ChatRequest, LMResponse, ScriptedLM
from .metric import Metric
from .program import ChatProgram, ChatStep, FunctionProgram, Pipeline, Program, Trace
from .store import InMemoryRunStore, RunStore, SQLiteRunStore

__version__ = "0.1.0"

__all__ = [
    "LM",
    "AllComponents",
    "ArtifactResult",
    "BestSelector",
    "Budget",
    "Candidate",
    "CandidateId",
    "CandidateSelector",
    "ChatProgram",
    "ChatRequest",
    "ChatStep",
    "ComponentSelector",
    "ConfigError",
    "EngineConfig",
    "EngineObserver",
    "EpsilonGreedySelector",
    "Example",
    "ExampleId",
    "Failure",
    "Feedback",
    "FunctionProgram",
    "InMemoryRunStore",
    "InProcessExecutor",
    "LMResponse",
    "MergeConfig",
    "Metric",
    "ParetextError",
    "ParetoSelector",
    "Pipeline",
    "Program",
    "Proposal",
    "ReflectionConfig",
    "Result",
    "Rollout",
    "RolloutExecutor",
    "RoundRobinComponents",
    "RunSnapshot",
    "RunStore",
    "SQLiteRunStore",
    "ScriptedLM",
    "StopConfig",
    "StopReason",
    "TopKParetoSelector",
    "Trace",
    "TraceStep",
    "UsageTotals",
    "Verdict",
    "aapply",
    "aoptimize",
    "aoptimize_artifact",
    "apply",
    "asearch",
    "errors",
    "load",
    "optimize",
    "optimize_artifact",
    "run_rollout",
    "search",
]
