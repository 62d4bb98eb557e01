"""Proposers: reflective mutation and system-aware merge."""

from __future__ import annotations

from ._base import MutationProposer, MutationRequest
from ._extract import extract_text, truncate_middle
from ._merge import MergeProposer, ancestors, common_ancestor, plan_components
from ._reflection import ReflectionProposer

__all__ = [
    "MergeProposer",
    "MutationProposer",
    "MutationRequest",
    "ReflectionProposer",
    "ancestors",
    "common_ancestor",
    "extract_text",
    "plan_components",
    "truncate_middle",
]
