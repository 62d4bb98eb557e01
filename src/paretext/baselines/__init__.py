"""Other optimizers on GEPA's engine, for honest comparisons at the same rollout budget.

Each optimizer in :data:`BASELINES` is a named :class:`Baseline`: a parent
selector, merge on or off, and a proposer (GEPA's reflective mutation when
``None``).  They share the engine, so the rollout budget is exact for all of
them, every child passes the same minibatch gate, and runs are stored and
resumed the same way.

========================  ==============================================================
``gepa``                  reflective mutation, Pareto selection, merge (the default)
``gepa_no_merge``         ablation: no merge
``gepa_best``             ablation: current-best selection instead of Pareto
``greedy_reflective``     the article's greedy loop: best selection, no merge
``opro``                  past prompts and their scores only, never feedback or traces
``best_of_n``             high-temperature rewrites of the seed, no feedback
``bootstrap_fewshot``     successful minibatch answers appended as demonstrations, no LM
========================  ==============================================================
"""

from __future__ import annotations

from ._proposers import (
    DEMOS_HEADER,
    BootstrapFewShotProposer,
    OproProposer,
    ResampleProposer,
    opro_prompt,
    resample_prompt,
    split_demos,
)
from ._registry import BASELINES, Baseline, ProposerSettings, get_baseline, list_baselines

__all__ = [
    "BASELINES",
    "DEMOS_HEADER",
    "Baseline",
    "BootstrapFewShotProposer",
    "OproProposer",
    "ProposerSettings",
    "ResampleProposer",
    "get_baseline",
    "list_baselines",
    "opro_prompt",
    "resample_prompt",
    "split_demos",
]
