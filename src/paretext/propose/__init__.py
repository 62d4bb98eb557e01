"""Proposers: reflective mutation and system-aware merge."""

from __future__ import annotations

from ._base import MutationProposer, MutationRequest, ask_for_rewrite, ask_for_text
from ._extract import extract_text, truncate_middle
from ._merge import MergeProposer, ancestors, common_ancestor, plan_components
from ._reflection import ReflectionProposer, component_steps, render_value

__all__ = [
    "MergeProposer",
    "MutationProposer",
    "MutationRequest",
    "ReflectionProposer",
    "ancestors",
    "ask_for_rewrite",
    "ask_for_text",
    "common_ancestor",
    "component_steps",
    "extract_text",
    "plan_components",
    "render_value",
    "truncate_middle",
]
