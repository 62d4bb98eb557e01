"""Reflection on reflective records: the shape gepa adapters and dspy.GEPA show their LM.

A record is one example as a component saw it, a mapping such as
``{"Inputs": ..., "Generated Outputs": ..., "Feedback": ...}``.  Integrations
say how a minibatch rollout becomes a record (:meth:`RecordReflection.records`);
the prompt, the retries, the extraction and the memory of rejected texts stay
paretext's own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from abc import abstractmethod
from collections.abc import Mapping
from functools import partial
from typing import Any

from .._types import Feedback, Rollout
from ..errors import ReflectionParseError
from ..propose import MutationRequest, ReflectionProposer, truncate_middle

__all__ = ["Record", "RecordReflection", "recorded_feedback", "render_record"]

Record = Mapping[str, Any]


def recorded_feedback(example: Any, output: Any) -> Feedback:
    """The engine's metric when the program already scored itself.

    Integrations whose own evaluation scores each example (a gepa adapter, a
    DSPy metric run on the live objects) return ``{"score", "feedback", ...}``.
    """
    return Feedback(
        float(output["score"]),
        str(output["feedback"]),
        objectives=dict(output.get("objectives") or {}),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)


def render_record(index: int, record: Record, max_chars: int) -> str:
    """One record as the reflection prompt shows it, held to ``max_chars``."""
    share = max(100, max_chars // max(1, len(record)))
    parts = [f"### Example {index}"]
    parts += [f"{key}: {truncate_middle(_text(value), share)}" for key, value in record.items()]
    return truncate_middle("\n".join(parts), max_chars)


class RecordReflection(ReflectionProposer):
    """Reflective mutation whose examples are records built by :meth:`records`."""

    @abstractmethod
    async def records(
        self, request: MutationRequest, component: str
    ) -> list[tuple[Record, Rollout]]:
        """The minibatch as ``component`` saw it: a record per example worth showing.

        An example may be left out (the component did not run on it); the
        rollout goes with its record so scores and feedback stay attached.
        """

    async def propose(self, request: MutationRequest) -> dict[str, str]:
        texts = await asyncio.gather(*(self._one(request, c) for c in request.components))
        return dict(zip(request.components, texts, strict=True))

    async def _one(self, request: MutationRequest, component: str) -> str:
        shown = await self.records(request, component)
        if not shown:
            raise ReflectionParseError(
                f"no example of the minibatch has a record for component {component!r}"
            )
        rollouts = [
            dataclasses.replace(r, feedback=str(rec.get("Feedback", r.feedback)))
            for rec, r in shown
        ]
        return await self.propose_component(
            iteration=request.iteration,
            component=component,
            current=request.parent.components[component],
            examples=[rec for rec, _ in shown],
            rollouts=rollouts,
            rejected=request.rejected.get(component, ()),
            known=partial(request.already_evaluated, component),
        )

    def render_example(self, index: int, component: str, example: Any, rollout: Rollout) -> str:
        record: Record = example if isinstance(example, Mapping) else {"Inputs": example}
        shown = {k: v for k, v in record.items() if k != "Feedback"}
        shown.update(Score=f"{rollout.score:g}", Feedback=rollout.feedback)
        return render_record(index, shown, self.config.max_chars_per_example)
