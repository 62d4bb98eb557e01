"""System-aware merge: combine two candidates from divergent lineages.

Component-wise where the two changed different components relative to their
common ancestor; LLM synthesis where both changed the same one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from .._ids import CandidateId
from .._types import Candidate
from ..errors import ReflectionParseError
from ..lm import LM, Message
from ._base import ask_for_text
from ._extract import extract_text
from ._templates import MERGE, SYNTHESIS, SYSTEM

__all__ = ["MergeProposer", "ancestors", "common_ancestor", "plan_components"]


def ancestors(cid: CandidateId, pool: Mapping[CandidateId, Candidate]) -> set[CandidateId]:
    """Every strict ancestor of ``cid``."""
    seen: set[CandidateId] = set()
    stack = list(pool[cid].parents)
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(pool[p].parents)
    return seen


def common_ancestor(
    a: CandidateId,
    b: CandidateId,
    pool: Mapping[CandidateId, Candidate],
    order: Sequence[CandidateId],
) -> CandidateId | None:
    """The most recently committed common ancestor of ``a`` and ``b``."""
    shared = ancestors(a, pool) & ancestors(b, pool)
    if not shared:
        return None
    return max(shared, key=order.index)


def plan_components(
    a: Candidate, b: Candidate, ancestor: Candidate
) -> tuple[dict[str, str], list[str]]:
    """Texts taken component-wise, and the components both sides changed (to synthesise)."""
    merged: dict[str, str] = {}
    conflicts: list[str] = []
    for name, base in ancestor.components.items():
        ta, tb = a.components[name], b.components[name]
        if ta == tb:
            merged[name] = ta
        elif ta == base:
            merged[name] = tb
        elif tb == base:
            merged[name] = ta
        else:
            conflicts.append(name)
    return merged, conflicts


class MergeProposer:
    """Synthesises one component from divergent texts with the reflection LM: two candidates
    from different lineages (:meth:`synthesize`), or the versions that parallel reflections
    wrote from one parent (:meth:`combine`)."""

    def __init__(self, lm: LM, limiter: asyncio.Semaphore, *, temperature: float | None = None):
        self.lm = lm
        self._limiter = limiter
        self._temperature = temperature

    def build_prompt(
        self, a: str, b: str, ancestor: str, a_wins: Sequence[str], b_wins: Sequence[str]
    ) -> str:
        ancestor_text = f"\nBoth grew from this earlier version:\n```\n{ancestor}\n```\n"
        return MERGE.format(
            a=a,
            b=b,
            a_wins=", ".join(a_wins[:10]) or "none in particular",
            b_wins=", ".join(b_wins[:10]) or "none in particular",
            ancestor=ancestor_text,
        )

    async def synthesize(
        self,
        *,
        iteration: int,
        a: str,
        b: str,
        ancestor: str,
        a_wins: Sequence[str],
        b_wins: Sequence[str],
    ) -> str:
        def parse(reply: str, _cut_off: bool) -> str:
            text = extract_text(reply, current=a)
            if " ".join(text.split()) == " ".join(b.split()):
                raise ReflectionParseError("merge reply repeats version B unchanged", reply=reply)
            return text

        return await ask_for_text(
            self.lm,
            self._limiter,
            (
                Message("system", SYSTEM),
                Message("user", self.build_prompt(a, b, ancestor, a_wins, b_wins)),
            ),
            parse,
            iteration=iteration,
            attempts=1,
            temperature=self._temperature,
        )

    def combine_prompt(self, original: str, versions: Sequence[str]) -> str:
        shown = "\n\n".join(
            f"Version {i + 1}:\n```\n{text}\n```" for i, text in enumerate(versions)
        )
        return SYNTHESIS.format(count=len(versions), original=original, versions=shown)

    async def combine(self, *, iteration: int, original: str, versions: Sequence[str]) -> str:
        """One text holding what every version of ``original`` added."""

        def parse(reply: str, cut_off: bool) -> str:
            return extract_text(reply, current=original, cut_off=cut_off)

        return await ask_for_text(
            self.lm,
            self._limiter,
            (Message("system", SYSTEM), Message("user", self.combine_prompt(original, versions))),
            parse,
            iteration=iteration,
            attempts=2,
            temperature=self._temperature,
            draw=99,
        )
