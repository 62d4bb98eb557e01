"""Reflective mutation: show the reflection LM what a component did and why it failed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from .._config import ReflectionConfig
from .._types import Rollout, TraceStep
from ..lm import LM, Message
from ._base import MutationProposer, MutationRequest, ask_for_text
from ._extract import extract_text, truncate_middle
from ._templates import REJECTED, SYSTEM, pick_template

__all__ = ["ReflectionProposer", "component_steps", "render_value", "shown_input"]

STRUCTURED_FORMAT: Mapping[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "new_instruction",
        "schema": {
            "type": "object",
            "properties": {"new_instruction": {"type": "string"}},
            "required": ["new_instruction"],
        },
    },
}


def render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=None, default=repr)


def shown_input(example: Any, steps: Sequence[TraceStep]) -> Any:
    """What the program read: its (first) step's inputs, or the example with no trace."""
    return steps[0].inputs if steps else example


def component_steps(component: str, trace: Sequence[TraceStep]) -> list[TraceStep]:
    """The trace steps that ``component`` produced (all of them for an untagged trace)."""
    tagged = [s for s in trace if s.component == component]
    return tagged or [s for s in trace if s.component is None] or list(trace)


class ReflectionProposer(MutationProposer):
    """GEPA's reflective mutation: one reflection call per component, from traces and feedback."""

    def __init__(self, config: ReflectionConfig | None = None) -> None:
        self.config = config or ReflectionConfig()

    def bind(self, lm: LM, limiter: asyncio.Semaphore) -> None:
        super().bind(lm, limiter)
        self._template = pick_template(self.config.template, lm.model)

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        texts = await asyncio.gather(
            *(
                self.propose_component(
                    iteration=request.iteration,
                    component=comp,
                    current=request.parent.components[comp],
                    examples=request.examples,
                    rollouts=request.rollouts,
                    rejected=request.rejected.get(comp, ()),
                    known=partial(request.already_evaluated, comp),
                    draw=request.draw,
                )
                for comp in request.components
            )
        )
        return dict(zip(request.components, texts, strict=True))

    def render_example(self, index: int, component: str, example: Any, rollout: Rollout) -> str:
        """One entry of the reflective dataset, held to the per-example character budget.

        It shows what the program read (its trace's inputs; the example itself only when
        there is no trace), never fields it did not read, and each output once: a label
        reaches the reflection LM only where the metric's feedback puts it.
        """
        budget = self.config.max_chars_per_example
        steps = component_steps(component, rollout.trace)
        parts = [f"### Example {index}"]
        if len(steps) <= 1:
            read = render_value(shown_input(example, steps))
            parts.append(f"Input: {truncate_middle(read, budget // 3)}")
            last = steps[0].output if steps else rollout.output
            parts.append(f"Output: {truncate_middle(render_value(last), budget // 4)}")
        else:
            for step in steps:
                label = step.name or step.component or "step"
                parts.append(
                    f"[{label}] input: {truncate_middle(render_value(step.inputs), budget // 6)}"
                )
                parts.append(
                    f"[{label}] output: {truncate_middle(render_value(step.output), budget // 6)}"
                )
            last = steps[-1].output
        if render_value(last) != render_value(rollout.output):
            parts.append(
                f"Final output: {truncate_middle(render_value(rollout.output), budget // 4)}"
            )
        parts.append(f"Score: {rollout.score:g}")
        parts.append(f"Feedback: {truncate_middle(rollout.feedback, budget // 4)}")
        own = rollout.component_feedback.get(component)
        if own:  # addressed to this component's reflection only
            parts.append(f"Feedback on this text: {truncate_middle(own, budget // 4)}")
        return truncate_middle("\n".join(parts), budget)

    def build_prompt(
        self,
        current: str,
        component: str,
        examples: Sequence[Any],
        rollouts: Sequence[Rollout],
        rejected: Sequence[str],
    ) -> str:
        rendered = "\n\n".join(
            self.render_example(i + 1, component, ex, r)
            for i, (ex, r) in enumerate(zip(examples, rollouts, strict=True))
        )
        shown = list(rejected)[-self.config.max_rejected_shown :]
        rejected_text = ""
        if shown:
            items = "\n".join(f"```\n{truncate_middle(t, 600)}\n```" for t in shown)
            rejected_text = "\n" + REJECTED.format(items=items)
        return self._template.format(
            current=current, count=len(rollouts), examples=rendered, rejected=rejected_text
        )

    async def propose_component(
        self,
        *,
        iteration: int,
        component: str,
        current: str,
        examples: Sequence[Any],
        rollouts: Sequence[Rollout],
        rejected: Sequence[str],
        known: Callable[[str], bool] | None = None,
        draw: int = 0,
    ) -> str:
        """Ask for a new text; retry an unusable reply up to ``attempts`` times, then raise.

        ``known(text)`` says a text was evaluated before; such a reply is asked again.
        """
        example_texts = [
            render_value(shown_input(e, component_steps(component, r.trace)))
            for e, r in zip(examples, rollouts, strict=True)
        ]

        def parse(reply: str, cut_off: bool) -> str:
            return extract_text(
                reply, current=current, structured=self.config.structured_output,
                examples=example_texts, cut_off=cut_off, known=known,
            )

        prompt = self.build_prompt(current, component, examples, rollouts, rejected)
        return await ask_for_text(
            self.lm,
            self.limiter,
            (Message("system", SYSTEM), Message("user", prompt)),
            parse,
            iteration=iteration,
            attempts=self.config.attempts,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            response_format=STRUCTURED_FORMAT if self.config.structured_output else None,
            retry_temperature=self.config.retry_temperature,
            draw=draw,
        )
