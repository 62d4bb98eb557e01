"""Proposers of the baselines: what each optimizer lets its LM (or no LM) see.

Every one of them plugs into the engine's :class:`~paretext.propose.MutationProposer`
seam, so parent selection, the minibatch gate, validation, the exact rollout
budget and the run store are the same as for GEPA: only the way new texts are
written differs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from .._types import Candidate, Rollout
from ..errors import ReflectionParseError
from ..propose import (
    MutationProposer,
    MutationRequest,
    ask_for_rewrite,
    component_steps,
    render_value,
    truncate_middle,
)

__all__ = [
    "DEMOS_HEADER",
    "BootstrapFewShotProposer",
    "OproProposer",
    "ResampleProposer",
    "opro_prompt",
    "resample_prompt",
    "split_demos",
]

OPRO_SYSTEM = "You write instructions for an AI assistant. You reply with the new instruction only."

OPRO_TEMPLATE = (
    "Below are instructions that were given to an AI assistant for the same task, with the "
    "score each one got (0 to 100, higher is better). They are sorted from lowest to highest "
    "score.\n\n{history}\n\nWrite a new instruction that is different from all of the above "
    "and gets a higher score than all of them. Reply with only the new instruction inside ``` "
    "fences."
)

RESAMPLE_SYSTEM = (
    "You rewrite instructions for an AI assistant. You reply with the rewritten instruction only."
)

RESAMPLE_TEMPLATE = (
    "Here is an instruction for an AI assistant:\n```\n{current}\n```\n\nRewrite it in your "
    "own words: you may rephrase it, make it clearer or more precise, and add general advice "
    "that would help the assistant do the task well. Reply with only the rewritten instruction "
    "inside ``` fences."
)

#: Marks where bootstrapped demonstrations start inside a component's text.
DEMOS_HEADER = "Examples of correct answers:"
_DEMO_SPLIT = re.compile(r"\n*" + re.escape(DEMOS_HEADER) + r"\n")
_DEMO_START = "### Example"


class _LMRewriter(MutationProposer):
    """Shared retry loop: one prompt per component, ``attempts`` tries to get a usable reply."""

    def __init__(
        self, *, temperature: float | None = 1.0, max_tokens: int | None = None, attempts: int = 2
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.attempts = attempts

    system = ""

    def prompt_for(self, request: MutationRequest, component: str) -> str:
        raise NotImplementedError

    def current_for(self, request: MutationRequest, component: str) -> str:
        return request.parent.components[component]

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        texts = await asyncio.gather(*(self._one(request, c) for c in request.components))
        return dict(zip(request.components, texts, strict=True))

    async def _one(self, request: MutationRequest, component: str) -> str:
        return await ask_for_rewrite(
            self.lm, self.limiter, request, component, self.current_for(request, component),
            self.system, self.prompt_for(request, component), attempts=self.attempts,
            temperature=self.temperature, max_tokens=self.max_tokens, draw=request.draw,
        )


def opro_prompt(history: Sequence[Candidate], component: str, *, max_shown: int = 20,
                rejected: Sequence[str] = ()) -> str:
    """The OPRO meta-prompt: past texts of ``component`` with their validation scores only.

    The best ``max_shown`` distinct texts are listed in ascending score order (the
    best last, as OPRO does).  Texts the minibatch gate rejected have no validation
    score, so up to three of them are listed first as scoring below all the others.
    """
    best: dict[str, float] = {}
    for cand in history:
        text = cand.components.get(component)
        if text is None:
            continue
        best[text] = max(best.get(text, float("-inf")), cand.score)
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[-max_shown:]
    blocks = [f"Instruction:\n```\n{truncate_middle(text, 1500)}\n```\nScore: {round(100 * score)}"
              for text, score in ranked]
    for text in list(dict.fromkeys(rejected))[-3:]:
        if text not in best:
            blocks.insert(0, f"Instruction:\n```\n{truncate_middle(text, 1500)}\n```\n"
                             "Score: lower than every instruction below")
    return OPRO_TEMPLATE.format(history="\n\n".join(blocks))


class OproProposer(_LMRewriter):
    """OPRO-style optimization: the LM sees past prompts and their scores, never feedback or traces.

    Yang et al., "Large Language Models as Optimizers" (2023): the meta-prompt
    lists earlier instructions sorted by score and asks for a better one.  Here the
    scores are the committed candidates' mean validation scores (``request.history``);
    instructions the gate rejected from the current parent are listed below them.
    """

    system = OPRO_SYSTEM
    reads_rollouts = False

    def __init__(self, *, max_shown: int = 20, temperature: float | None = 1.0,
                 max_tokens: int | None = None, attempts: int = 2) -> None:
        super().__init__(temperature=temperature, max_tokens=max_tokens, attempts=attempts)
        self.max_shown = max_shown

    def prompt_for(self, request: MutationRequest, component: str) -> str:
        return opro_prompt(
            request.history or (request.parent,),
            component,
            max_shown=self.max_shown,
            rejected=request.rejected.get(component, ()),
        )


def resample_prompt(current: str) -> str:
    return RESAMPLE_TEMPLATE.format(current=current)


class ResampleProposer(_LMRewriter):
    """Best-of-N: rewrite an instruction at high temperature, with no feedback and no scores.

    ``source="seed"`` (default) rewrites the seed's text every time, so the run draws
    N independent samples and keeps the best (the engine's gate and validation do the
    keeping); ``source="parent"`` rewrites the selected parent instead (a blind hill climb).
    """

    system = RESAMPLE_SYSTEM
    reads_rollouts = False

    def __init__(self, *, source: str = "seed", temperature: float | None = 1.0,
                 max_tokens: int | None = None, attempts: int = 2) -> None:
        if source not in ("seed", "parent"):
            raise ValueError(f"source must be 'seed' or 'parent', got {source!r}")
        super().__init__(temperature=temperature, max_tokens=max_tokens, attempts=attempts)
        self.source = source

    def current_for(self, request: MutationRequest, component: str) -> str:
        if self.source == "seed" and request.history:
            seed = request.history[0].components
            return seed.get(component, request.parent.components[component])
        return request.parent.components[component]

    def prompt_for(self, request: MutationRequest, component: str) -> str:
        return resample_prompt(self.current_for(request, component))


def split_demos(text: str) -> tuple[str, list[str]]:
    """A component's text as (instruction, demonstrations) -- the inverse of the rendering."""
    parts = _DEMO_SPLIT.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, []
    pieces = re.split(r"\n\n(?=" + re.escape(_DEMO_START) + ")", parts[1].strip())
    demos = [d.strip() for d in pieces]
    return parts[0].rstrip(), [d for d in demos if d]


class BootstrapFewShotProposer(MutationProposer):
    """Adds demonstrations taken from successful rollouts of the parent to the instruction.

    In the spirit of DSPy's ``BootstrapFewShot``: the program's own correct
    input/output pairs on the minibatch become few-shot examples appended to the
    component's text (under :data:`DEMOS_HEADER`).  Up to ``per_proposal`` new
    demonstrations are added per proposal and at most ``max_demos`` are kept
    (the oldest are dropped first).  No LM is called.  A minibatch with no
    successful rollout gives nothing to add, which is reported as an unusable
    proposal (:class:`~paretext.errors.ReflectionParseError`).
    """

    uses_lm = False

    def __init__(self, *, max_demos: int = 4, per_proposal: int = 2, success: float = 1.0,
                 max_chars: int = 1200) -> None:
        if max_demos < 1 or per_proposal < 1:
            raise ValueError("max_demos and per_proposal must be >= 1")
        self.max_demos = max_demos
        self.per_proposal = per_proposal
        self.success = success
        self.max_chars = max_chars

    def demo(self, component: str, example: Any, rollout: Rollout) -> str:
        steps = component_steps(component, rollout.trace)
        if steps and steps[-1].component is not None:
            inputs, output = steps[0].inputs, steps[-1].output
        else:
            inputs, output = example, rollout.output
        budget = self.max_chars // 2
        return (f"{_DEMO_START}\nInput: {truncate_middle(render_value(inputs), budget)}\n"
                f"Answer: {truncate_middle(render_value(output), budget)}")

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        out: dict[str, str] = {}
        for component in request.components:
            instruction, demos = split_demos(request.parent.components[component])
            fresh: list[str] = []
            for example, rollout in zip(request.examples, request.rollouts, strict=True):
                if rollout.failed or rollout.score < self.success:
                    continue
                demo = self.demo(component, example, rollout)
                if demo not in demos and demo not in fresh:
                    fresh.append(demo)
                if len(fresh) >= self.per_proposal:
                    break
            if not fresh:
                raise ReflectionParseError(
                    "no successful rollout on the minibatch to bootstrap a demonstration from"
                )
            kept = [*demos, *fresh][-self.max_demos :]
            out[component] = f"{instruction}\n\n{DEMOS_HEADER}\n" + "\n\n".join(kept)
        return out
