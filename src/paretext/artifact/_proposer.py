"""Reflection on an artifact: its evaluator's feedback, and what worked on other tasks.

:class:`ArtifactProposer` plugs into the engine's proposer seam.  It shows the
writing model the task, the current artifact, the evaluation's verdict and side
information (already rendered as budgeted sections), and, in batch mode, the
changes that raised other tasks' scores the most (**transfer**: an idea found
on one task offered to the others).  With ``feedback=False`` and
``source="seed"`` it is best-of-N sampling: fresh rewrites of the seed with no
evaluation shown.  ``transfer=0`` turns transfer off.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .._ids import ExampleId
from .._types import Candidate, Rollout
from ..propose import (
    MutationProposer,
    MutationRequest,
    ask_for_rewrite,
    truncate_middle,
)
from ._layout import Layout

__all__ = ["ArtifactProposer", "describe_task", "transfer_hints"]

SYSTEM = (
    "You improve {kind} using the results of evaluating it. You reply with the complete new "
    "version only, inside ``` fences."
)

TEMPLATE = """{task}Current version:
```{lang}
{current}
```
{evaluation}{transfer}{rejected}
{objective} Reply with the complete new version inside ``` fences."""

EVALUATION = """
How it was evaluated{where}:
{feedback}
"""

TRANSFER = """
Changes that helped on other tasks (the same idea may help here):
{items}
"""

RETRY = (
    "That reply could not be used: {problem}. Write a new, different version. Reply with only "
    "the complete new version inside ``` fences."
)

REJECTED = """
Already tried from this version, and not better:
```{lang}
{text}
```
"""


def describe_task(task: Any) -> str:
    """The part of a task shown to the writing model: its ``description``, if it has one."""
    if isinstance(task, Mapping):
        text = task.get("description")
    else:
        text = getattr(task, "description", None)
    return str(text).strip() if text else ""


def _diff(old: str, new: str, limit: int) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1)
    body = [ln for ln in lines if not ln.startswith(("---", "+++"))]
    return truncate_middle("\n".join(body), limit)


def transfer_hints(
    history: Sequence[Candidate], component: str, components: Sequence[str], *, k: int,
    diff_chars: int = 700,
) -> list[tuple[Candidate, str, str]]:
    """The ``k`` biggest improvements on *other* components, as ``(candidate, component, diff)``.

    An improvement is a candidate whose text for component ``u`` differs from the
    seed's and whose score on task ``u`` beats the seed's; the biggest gain per
    component is taken, then the ``k`` biggest gains overall (earliest first on ties).
    """
    if k <= 0 or not history:
        return []
    seed = history[0]
    best: dict[str, tuple[float, Candidate]] = {}
    for cand in history[1:]:
        for other in components:
            ex = ExampleId(other)
            if other == component or ex not in cand.val_scores or ex not in seed.val_scores:
                continue
            if cand.components[other] == seed.components[other]:
                continue
            gain = cand.val_scores[ex] - seed.val_scores[ex]
            if gain > 0 and (other not in best or gain > best[other][0]):
                best[other] = (gain, cand)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
    return [
        (cand, other, _diff(seed.components[other], cand.components[other], diff_chars))
        for other, (_, cand) in ranked
    ]


class ArtifactProposer(MutationProposer):
    """Writes a new version of the artifact(s) the minibatch evaluated.

    ``kind`` names what is optimized for the system prompt ("C kernels"), ``lang``
    tags the code fences, ``objective`` is the closing instruction.  ``source``
    says what is rewritten: the selected parent (reflection, self-refinement) or
    the seed (best-of-N).
    """

    def __init__(
        self,
        layout: Layout,
        *,
        objective: str = "Write an improved version that fixes the problems shown and scores "
        "higher.",
        kind: str = "an artifact",
        lang: str = "",
        feedback: bool = True,
        transfer: int = 2,
        source: Literal["parent", "seed"] = "parent",
        temperature: float | None = None,
        max_tokens: int | None = None,
        attempts: int = 2,
        retry_temperature: float | None = 1.0,
        feedback_chars: int = 2400,
        describe: Callable[[Any], str] = describe_task,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.layout = layout
        self.objective = objective
        self.kind = kind
        self.lang = lang
        self.feedback = feedback
        self.transfer = transfer if layout.mode == "batch" else 0
        self.source = source
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.attempts = attempts
        self.retry_temperature = retry_temperature
        self.feedback_chars = feedback_chars
        self.describe = describe

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        texts = await asyncio.gather(*(self._one(request, c) for c in request.components))
        return dict(zip(request.components, texts, strict=True))

    def current(self, request: MutationRequest, component: str) -> str:
        if self.source == "seed" and request.history:
            return request.history[0].components[component]
        return request.parent.components[component]

    def build_prompt(self, request: MutationRequest, component: str) -> str:
        current = self.current(request, component)
        pairs = [
            (ex, r)
            for ex, r in zip(request.examples, request.rollouts, strict=False)
            if component in self.layout.reads(ex)
        ] or list(zip(request.examples, request.rollouts, strict=False))
        task_text = ""
        if self.layout.mode != "generalize" and pairs:
            described = self.describe(pairs[0][0].get("task"))
            task_text = f"{described}\n\n" if described else ""
        evaluation = ""
        if self.feedback and pairs:
            evaluation = self._evaluation(pairs)
        transfer = ""
        if self.transfer:
            hints = transfer_hints(request.history, component, list(self.layout.seed),
                                   k=self.transfer)
            if hints:
                items = "\n".join(
                    f"- On task `{other}` (candidate {cand.id}), score "
                    f"{request.history[0].val_scores[ExampleId(other)]:.2f} -> "
                    f"{cand.val_scores[ExampleId(other)]:.2f}:\n```diff\n{diff}\n```"
                    for cand, other, diff in hints
                )
                transfer = TRANSFER.format(items=items)
        rejected = ""
        tried = request.rejected.get(component, ())
        if self.feedback and tried:
            rejected = REJECTED.format(lang=self.lang, text=truncate_middle(tried[-1], 600))
        return TEMPLATE.format(
            task=task_text,
            lang=self.lang,
            current=current,
            evaluation=evaluation,
            transfer=transfer,
            rejected=rejected,
            objective=self.objective,
        )

    def _evaluation(self, pairs: Sequence[tuple[Mapping[str, Any], Rollout]]) -> str:
        share = max(300, self.feedback_chars // len(pairs))
        blocks = []
        for example, rollout in pairs:
            head = f"[task {example['id']}] " if self.layout.mode == "generalize" else ""
            text = rollout.error or rollout.feedback
            blocks.append(f"{head}score {rollout.score:.2f}. {truncate_middle(text, share)}")
        where = f" on {len(pairs)} tasks" if self.layout.mode == "generalize" else ""
        return EVALUATION.format(where=where, feedback="\n\n".join(blocks))

    async def _one(self, request: MutationRequest, component: str) -> str:
        return await ask_for_rewrite(
            self.lm, self.limiter, request, component, self.current(request, component),
            SYSTEM.format(kind=self.kind), self.build_prompt(request, component),
            attempts=self.attempts, temperature=self.temperature, max_tokens=self.max_tokens,
            retry_temperature=self.retry_temperature, retry=RETRY,
        )
