"""What one run is: everything the engine needs, already validated and resolved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from .._types import Example
from ..lm import LM, UsageTracker
from ..metric import Metric
from ..program import Program
from ..propose import MutationProposer
from ..store import RunStore
from ._executor import RolloutExecutor

__all__ = ["RunSpec"]


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, validated and resolved (by :func:`paretext.api.build_spec`)."""

    seed_components: Mapping[str, str]
    train: Sequence[Example]
    val: Sequence[Example]
    program: Program
    metric: Metric
    reflection_lm: LM
    store: RunStore
    budget: Budget
    engine: EngineConfig = field(default_factory=EngineConfig)
    reflection: ReflectionConfig = field(default_factory=ReflectionConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    tracker: UsageTracker = field(default_factory=UsageTracker)
    search_mode: bool = False
    proposer: MutationProposer | None = None
    executor: RolloutExecutor | None = None
