"""Named optimizer configurations: GEPA, its ablations and the baselines it is compared with.

A :class:`Baseline` is data: which parent selector, whether merge runs, and
which proposer writes new texts.  :meth:`Baseline.optimize_kwargs` turns it
into keyword arguments for :func:`paretext.optimize`, so every optimizer runs
on the same engine with the same budget accounting, gate and store::

    import paretext as pt
    from paretext.baselines import get_baseline

    kwargs = get_baseline("opro").optimize_kwargs(seed=0)
    pt.optimize(seed, program, metric, train, val, reflection_lm=lm, budget=200, **kwargs)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from .._config import EngineConfig, MergeConfig, ReflectionConfig
from ..errors import ConfigError
from ..propose import MutationProposer
from ._proposers import BootstrapFewShotProposer, OproProposer, ResampleProposer

__all__ = ["BASELINES", "Baseline", "ProposerSettings", "get_baseline", "list_baselines"]

Selector = Literal["pareto", "best", "epsilon_greedy", "top_k_pareto"]


@dataclass(frozen=True, slots=True)
class ProposerSettings:
    """What a baseline's proposer factory may use from the caller's reflection settings."""

    max_tokens: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """One optimizer, described as engine settings plus an optional proposer.

    ``proposer=None`` means GEPA's reflective mutation.
    """

    name: str
    description: str
    selector: Selector = "pareto"
    merge: bool = True
    proposer: Callable[[ProposerSettings], MutationProposer] | None = None

    def make_proposer(self, reflection: ReflectionConfig | None = None) -> MutationProposer | None:
        if self.proposer is None:
            return None
        cfg = reflection or ReflectionConfig()
        return self.proposer(ProposerSettings(max_tokens=cfg.max_tokens, attempts=cfg.attempts))

    def optimize_kwargs(
        self,
        *,
        seed: int = 0,
        concurrency: int = 16,
        engine: EngineConfig | None = None,
        reflection: ReflectionConfig | None = None,
        merge: MergeConfig | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for :func:`paretext.optimize` (``engine``, ``merge``, ``reflection``,
        ``proposer``).  ``engine`` and ``merge`` are starting points: the baseline overrides
        only its selector and whether merge is enabled.
        """
        base_engine = engine or EngineConfig(seed=seed, concurrency=concurrency)
        base_merge = merge or MergeConfig()
        reflection = reflection or ReflectionConfig()
        return {
            "engine": replace(base_engine, selector=self.selector),
            "merge": replace(base_merge, enabled=self.merge),
            "reflection": reflection,
            "proposer": self.make_proposer(reflection),
        }


def _opro(s: ProposerSettings) -> MutationProposer:
    return OproProposer(max_tokens=s.max_tokens, attempts=s.attempts)


def _resample(s: ProposerSettings) -> MutationProposer:
    return ResampleProposer(max_tokens=s.max_tokens, attempts=s.attempts)


def _bootstrap(_: ProposerSettings) -> MutationProposer:
    return BootstrapFewShotProposer()


_ALL = (
    Baseline(
        "gepa",
        "GEPA: reflective mutation from feedback, Pareto parent selection, system-aware merge.",
    ),
    Baseline(
        "gepa_no_merge",
        "GEPA ablation: reflective mutation and Pareto selection, merge disabled.",
        merge=False,
    ),
    Baseline(
        "gepa_best",
        "GEPA ablation: always mutate the current best candidate (no Pareto selection); merge on.",
        selector="best",
    ),
    Baseline(
        "greedy_reflective",
        "The article's greedy loop: reflective mutation of the current best, no Pareto, no merge.",
        selector="best",
        merge=False,
    ),
    Baseline(
        "opro",
        "OPRO-style: the LM sees past instructions and their validation scores only "
        "(no feedback, no traces); mutates the current best.",
        selector="best",
        merge=False,
        proposer=_opro,
    ),
    Baseline(
        "best_of_n",
        "Best-of-N: rewrite the seed instruction at temperature 1 with no feedback or scores; "
        "the gate and validation keep the best sample.",
        selector="best",
        merge=False,
        proposer=_resample,
    ),
    Baseline(
        "bootstrap_fewshot",
        "Bootstrap few-shot: append the program's own successful minibatch answers as "
        "demonstrations to the instruction (no LM call).",
        selector="best",
        merge=False,
        proposer=_bootstrap,
    ),
)

#: Every optimizer by name, GEPA first.
BASELINES: Mapping[str, Baseline] = MappingProxyType({b.name: b for b in _ALL})


def get_baseline(name: str) -> Baseline:
    """The optimizer registered as ``name`` (see :data:`BASELINES`)."""
    try:
        return BASELINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown optimizer {name!r}; choose from {', '.join(BASELINES)}"
        ) from None


def list_baselines() -> list[str]:
    return list(BASELINES)
