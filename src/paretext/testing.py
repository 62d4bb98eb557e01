"""A deterministic world for tests, benchmarks and examples: feedback carries the fix.

Each example belongs to a category; the program answers it correctly exactly
when the instruction contains that category's rule token.  A failed example's
feedback names the missing rule, and :func:`rule_reflector` is a scripted
reflection LM that reads those rules out of the reflection prompt and adds
them.  Nothing is random except what the seed decides, so runs are exactly
reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._types import Feedback
from .lm import ChatRequest, ScriptedLM

if TYPE_CHECKING:
    from ._types import Result
    from .lm import LM
    from .program import Program

__all__ = ["RuleWorld", "rule_reflector"]

_RULE = re.compile(r"RULE-(\d+)")
_FENCED = re.compile(r"```\n?(.*?)```", re.S)


@dataclass(frozen=True)
class RuleWorld:
    """``n`` examples over ``categories`` categories; example ``i`` has category ``i % categories``.
    """

    n: int = 30
    categories: int = 6
    component: str = "system"

    def examples(self, prefix: str = "ex") -> list[dict[str, Any]]:
        return [
            {"id": f"{prefix}{i}", "category": i % self.categories, "question": f"q{i}"}
            for i in range(self.n)
        ]

    def program(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        rules = {int(m) for m in _RULE.findall(candidate[self.component])}
        return "right" if example["category"] in rules else "wrong"

    def metric(self, example: Mapping[str, Any], output: str) -> Feedback:
        if output == "right":
            return Feedback(1.0, "Correct.")
        return Feedback(0.0, f"Wrong. The instruction must include RULE-{example['category']}.")

    def optimize(
        self,
        *,
        train: int,
        budget: Any,
        reflection_lm: LM | None = None,
        program: Program | Callable[..., Any] | None = None,
        seed: str = "Solve it.",
        **kwargs: Any,
    ) -> Result:
        """``paretext.optimize`` on this world: the first ``train`` examples train, the rest
        validate; the reflection LM defaults to ``rule_reflector(1)``.  ``kwargs`` go through.
        """
        from .api import optimize

        data = self.examples()
        return optimize(
            {self.component: seed},
            self.program if program is None else program,
            self.metric,
            data[:train],
            data[train:],
            reflection_lm=rule_reflector(1) if reflection_lm is None else reflection_lm,
            budget=budget,
            **kwargs,
        )


def rule_reflector(
    max_rules_per_reply: int | None = None,
    *,
    latency: float = 0.0,
    keep_old: int | None = None,
) -> ScriptedLM:
    """A reflection LM that adds the rules named in the prompt's feedback.

    Merges union the rules of the two versions they are shown, syntheses the rules of
    the instruction and of every version they are shown (they are told to keep both).  With
    ``keep_old=k`` it forgets as real LLMs do when they rewrite an instruction:
    only ``k`` of the old rules survive a rewrite, which ones depending on the
    prompt (so two reflections on different examples forget different rules).
    """

    def respond(request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        blocks = _FENCED.findall(prompt)
        current = blocks[0].strip() if blocks else ""
        if "Version A" in prompt:  # a merge: union of both versions' rules
            return _rules_text(r for b in blocks[:2] for r in _RULE.findall(b))
        if "Version 1:" in prompt:  # a synthesis: the original and every version, united
            return _rules_text(r for b in blocks for r in _RULE.findall(b))
        feedback = "\n".join(line for line in prompt.splitlines() if line.startswith("Feedback:"))
        have = sorted({int(m) for m in _RULE.findall(current)})
        if keep_old is not None and len(have) > keep_old:
            have = random.Random(prompt).sample(have, keep_old)
        wanted = [int(m) for m in _RULE.findall(feedback) if int(m) not in have]
        wanted = sorted(set(wanted))[:max_rules_per_reply]
        return _rules_text([*have, *wanted])

    return ScriptedLM(respond, model="scripted-reflector", latency=latency)


def _rules_text(rules: Iterable[int | str]) -> str:
    ordered = sorted({int(r) for r in rules})
    return "```\nSolve it. " + " ".join(f"RULE-{r}" for r in ordered) + "\n```"
