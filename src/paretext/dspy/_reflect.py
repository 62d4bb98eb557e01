"""dspy.GEPA's reflective dataset on paretext's reflection.

For the predictor being changed, each minibatch example becomes
``{"Inputs", "Generated Outputs", "Feedback"}`` from that predictor's step in
the recorded trace, and the feedback comes from the user's metric called with
``pred_name`` and ``pred_trace``, as dspy.GEPA calls it, so it can speak about
that predictor alone.  A reply the adapter could not parse becomes the format
feedback dspy.GEPA gives (or leaves the example out when
``add_format_failure_as_feedback`` is off).  Everything is rebuilt from the
run store's records, so a resumed run reflects exactly as the first one did.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import dspy
from dspy.adapters.chat_adapter import ChatAdapter

from .._config import ReflectionConfig
from .._types import Rollout, TraceStep
from ..adapters import Record, RecordReflection
from ..propose import MutationRequest
from ._program import UNPARSED, DspyProgram, score_and_feedback

__all__ = ["DspyReflection"]

logger = logging.getLogger("paretext.dspy")


def _format_guide(predictor: Any) -> str:
    turns = ChatAdapter().format(predictor.signature, [], {})
    return "".join(f"{t['role']}: {t['content']}\n" for t in turns)


class DspyReflection(RecordReflection):
    """Reflection on one predictor at a time, fed by the metric's per-predictor feedback."""

    def __init__(
        self,
        config: ReflectionConfig,
        program: DspyProgram,
        metric: Callable[..., Any],
        *,
        seed: int,
        format_failures: bool,
        warn_on_score_mismatch: bool,
    ) -> None:
        super().__init__(config)
        self._program = program
        self._metric = metric
        self._seed = seed
        self._format_failures = format_failures
        self._warn = warn_on_score_mismatch

    async def records(
        self, request: MutationRequest, component: str
    ) -> list[tuple[Record, Rollout]]:
        return await asyncio.to_thread(self._records, request, component)

    def _records(self, request: MutationRequest, component: str) -> list[tuple[Record, Rollout]]:
        module = self._program.build(request.parent.components)
        predictors = dict(module.named_predictors())
        predictor = predictors[component]
        shown: list[tuple[Record, Rollout]] = []
        for example, rollout in zip(request.examples, request.rollouts, strict=True):
            if rollout.failed:
                shown.append(
                    ({"Inputs": example.get("inputs"), "Feedback": rollout.feedback}, rollout)
                )
                continue
            steps = [s for s in rollout.trace if s.component == component]
            unparsed = [s for s in steps if UNPARSED in s.output]
            if unparsed:
                if self._format_failures:
                    shown.append((self._format_record(unparsed[0], predictor), rollout))
                continue
            prediction = rollout.output["prediction"]
            if not steps or prediction is None:
                continue
            rng = random.Random(f"{self._seed}/{request.iteration}/{component}/{example['id']}")
            step = rng.choice(steps)
            trace = [
                (predictors[s.component], s.inputs, dspy.Prediction(**s.output))
                for s in rollout.trace
                if s.component in predictors and UNPARSED not in s.output
            ]
            pred_trace = [(predictor, step.inputs, dspy.Prediction(**step.output))]
            gold = self._program.example(example["id"])
            score, feedback = score_and_feedback(
                self._metric(gold, dspy.Prediction(**prediction), trace, component, pred_trace)
            )
            if score != rollout.score and self._warn:
                logger.warning(
                    "the metric gave predictor %r a score (%g) other than the program's (%g); "
                    "the program's score counts, the predictor's feedback is used",
                    component,
                    score,
                    rollout.score,
                )
                self._warn = False
            text = feedback or f"This trajectory got a score of {rollout.score}."
            record = {"Inputs": step.inputs, "Generated Outputs": step.output, "Feedback": text}
            shown.append((record, rollout))
        return shown

    @staticmethod
    def _format_record(step: TraceStep, predictor: Any) -> Record:
        raw = step.output[UNPARSED]
        return {
            "Inputs": step.inputs,
            "Generated Outputs": "Couldn't parse the output as per the expected output format. "
            f"The model's raw response was:\n```\n{raw}\n```",
            "Feedback": "Your output failed to parse. Follow this structure:\n"
            + _format_guide(predictor),
        }
