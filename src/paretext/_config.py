"""Typed, frozen configuration.  Loose user inputs are turned into these once, in api.py."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    from .engine import CandidateSelector, ComponentSelector

__all__ = [
    "PRESET_PROPOSALS",
    "Budget",
    "EngineConfig",
    "MergeConfig",
    "ReflectionConfig",
    "StopConfig",
    "preset_rollouts",
]

#: Proposals per component that each preset pays for.
PRESET_PROPOSALS: dict[str, int] = {"light": 8, "medium": 20, "heavy": 40}


def _positive_number(value: object) -> bool:
    """A finite number above zero (``True``, ``nan`` and ``inf`` are not)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """Spending limits.  ``rollouts`` is exact (reserved before spending); the others stop
    new proposals once reached (tokens and usd count every LM call, task and reflection).
    ``rollouts`` may name a preset (``"light"``, ``"medium"``, ``"heavy"``), resolved
    against the data when the run is built (:meth:`preset`).
    """

    rollouts: int | str | None = None
    usd: float | None = None
    tokens: int | None = None
    minutes: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.rollouts, str):
            _check_preset(self.rollouts)
        for name in ("rollouts", "usd", "tokens", "minutes"):
            value = getattr(self, name)
            if isinstance(value, str):
                continue
            if value is not None and not _positive_number(value):
                raise ConfigError(f"Budget.{name} must be a positive number, got {value!r}")
        if all(getattr(self, n) is None for n in ("rollouts", "usd", "tokens", "minutes")):
            raise ConfigError("a Budget needs at least one of rollouts, usd, tokens or minutes")

    @staticmethod
    def preset(
        name: str, *, n_val: int, n_components: int, minibatch_size: int, accept_rate: float = 0.4
    ) -> Budget:
        """Rollouts for ``light``/``medium``/``heavy``, in GEPA-native units.

        ``proposals = P[name] * n_components`` (P = 8, 20, 40), and::

            rollouts = n_val                                  # seed validation
                     + proposals * 2 * minibatch_size         # parent + child minibatches
                     + ceil(accept_rate * proposals) * n_val  # validating survivors

        so a preset pays for the same number of one-minibatch proposals whatever the
        data size (a proposal on several minibatches costs several of those).
        """
        rollouts = preset_rollouts(name, n_val, n_components, minibatch_size, accept_rate)
        return Budget(rollouts=rollouts)

    @property
    def rollout_limit(self) -> int | None:
        """The exact rollout limit (``None``: unlimited) of a resolved budget."""
        if isinstance(self.rollouts, str):
            raise ConfigError(f"budget preset {self.rollouts!r} is not resolved against the data")
        return self.rollouts


def preset_rollouts(
    name: str, n_val: int, n_components: int, minibatch_size: int, accept_rate: float = 0.4
) -> int:
    """See :meth:`Budget.preset`."""
    _check_preset(name)
    proposals = PRESET_PROPOSALS[name] * max(1, n_components)
    return n_val + proposals * 2 * minibatch_size + math.ceil(accept_rate * proposals) * n_val


def _check_preset(name: str) -> None:
    if name not in PRESET_PROPOSALS:
        raise ConfigError(
            f"unknown budget preset {name!r}; choose one of {sorted(PRESET_PROPOSALS)}"
        )


@dataclass(frozen=True, slots=True)
class ReflectionConfig:
    """How reflective mutation builds its prompt and reads the reply.

    ``minibatches_per_proposal`` (``w``) reflections run in parallel per proposal,
    each on its own minibatch of the parent (failures with different feedback are
    dealt to different reflections), and one LM synthesis combines their texts into
    the single child that is gated on all ``w`` minibatches and validated once.
    ``1`` is GEPA's one reflection on one minibatch.
    """

    minibatch_size: int = 3
    minibatches_per_proposal: int = 8
    components: Literal["round_robin", "all"] | ComponentSelector = "round_robin"
    template: Literal["auto", "short", "full"] = "auto"
    max_chars_per_example: int = 3000
    max_rejected_shown: int = 3
    structured_output: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    attempts: int = 2
    #: Temperature of a retry after an unusable reply (``None``: ``temperature``).  A model
    #: at its default low temperature, asked again, mostly writes the same reply again.
    retry_temperature: float | None = 1.0
    skip_perfect: bool = True

    def __post_init__(self) -> None:
        if self.minibatch_size < 1:
            raise ConfigError("ReflectionConfig.minibatch_size must be >= 1")
        if self.minibatches_per_proposal < 1:
            raise ConfigError("ReflectionConfig.minibatches_per_proposal must be >= 1")
        if self.attempts < 1:
            raise ConfigError("ReflectionConfig.attempts must be >= 1")
        for name in ("temperature", "retry_temperature"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 2:
                raise ConfigError(f"ReflectionConfig.{name} must be between 0 and 2, got {value}")
        if self.max_chars_per_example < 200:
            raise ConfigError("ReflectionConfig.max_chars_per_example must be >= 200")


@dataclass(frozen=True, slots=True)
class MergeConfig:
    """System-aware merge of candidates from divergent lineages."""

    enabled: bool = True
    max_merges: int = 5
    gate_size: int = 5

    def __post_init__(self) -> None:
        if self.max_merges < 0 or self.gate_size < 1:
            raise ConfigError("MergeConfig needs max_merges >= 0 and gate_size >= 1")


@dataclass(frozen=True, slots=True)
class StopConfig:
    """Stop conditions besides the budget.  All but time, signal and file are deterministic."""

    max_proposals: int | None = None
    patience: int | None = None
    score_threshold: float | None = None
    stop_file: str | None = None
    handle_signals: bool = True


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The search itself.

    ``concurrency`` caps rollouts and LM calls running at once and never changes
    results; nor does ``hedge`` (a greedy LM call that stalls far past the model's
    usual latency is sent once more, the first answer wins: see ``paretext.lm.HedgedLM``).
    ``proposals_in_flight`` is part of the algorithm: proposal *i* is planned from the
    state committed after proposal *i - proposals_in_flight*.  The parallelism of the
    default search is inside each proposal (``ReflectionConfig.minibatches_per_proposal``).
    """

    seed: int = 0
    concurrency: int = 16
    proposals_in_flight: int = 1
    selector: Literal["pareto", "best", "epsilon_greedy", "top_k_pareto"] | CandidateSelector = (
        "pareto"
    )
    frontier: Literal["instance", "objective", "hybrid"] = "instance"
    perfect_score: float = 1.0
    fail_fast_after: int = 10
    hedge: bool = True
    #: Seconds one rollout (program and metric) may take; a slower one is recorded as a
    #: failed rollout.  ``None``: no limit.  (A blocked *sync* program's thread cannot be
    #: killed: it is abandoned, and does not keep the process alive at exit.)
    rollout_timeout: float | None = None

    def __post_init__(self) -> None:
        timeout = self.rollout_timeout
        if timeout is not None and not _positive_number(timeout):
            raise ConfigError(
                "EngineConfig.rollout_timeout must be a positive number of seconds, "
                f"got {timeout!r}"
            )
        if self.concurrency < 1:
            raise ConfigError("EngineConfig.concurrency must be >= 1")
        if self.proposals_in_flight < 1:
            raise ConfigError("EngineConfig.proposals_in_flight must be >= 1")
        if self.perfect_score <= 0:
            raise ConfigError("EngineConfig.perfect_score must be > 0")


def config_fingerprint(*configs: object) -> dict[str, Any]:
    """The decision-relevant settings, as JSON, for checking a resumed run matches."""
    out: dict[str, Any] = {}
    for cfg in configs:
        data = asdict(cfg)  # type: ignore[call-overload]
        for key, value in list(data.items()):
            if not isinstance(value, str | int | float | bool | type(None) | list | dict):
                data[key] = type(value).__name__
        out[type(cfg).__name__] = data
    return out
