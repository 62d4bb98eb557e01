"""A task file for ``paretext optimize``: it defines what to optimize, nothing else.

    paretext optimize docs/example_task.py --budget 400 --run runs/example
    paretext show runs/example
    paretext report runs/example          # runs/example/report.html

Required names: ``seed``, ``program``, ``metric``, ``trainset``.  Optional:
``valset`` (without it, paretext searches on the trainset itself) and
``reflection_lm`` (an LM object or a model string; ``--reflection-lm`` overrides it),
``engine``, ``reflection``, ``merge``, ``stop`` (``paretext.EngineConfig`` and friends)
and ``budget`` (a ``paretext.Budget``).
``resume`` loads this file again, so keep it where it is.

This example is the deterministic RuleWorld from :mod:`paretext.testing`: an
answer is right when the instruction names the rule of the example's category,
and the metric's feedback says which rule was missing.  Swap in a real program
(``paretext.ChatProgram(...)``) and metric to optimize a real prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paretext.testing import RuleWorld, rule_reflector

world = RuleWorld(n=56, categories=8)
data = world.examples()

seed = {"system": "Solve it."}
trainset = data[:24]
valset = data[24:]
metric = world.metric
reflection_lm = rule_reflector(2)


def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
    """The world's program, except that one example always fails (the report lists it)."""
    if example["id"] == "ex31":
        raise ConnectionError("the search tool did not answer for ex31")
    return world.program(candidate, example)
