"""Reflection and merge prompts.

Two reflection templates: ``short`` is direct and small (small local models
answer it coherently; a long meta-prompt makes them echo instructions back),
``full`` asks a frontier model for a more thorough analysis.
"""

from __future__ import annotations

import re

__all__ = [
    "MERGE",
    "REFLECTION_FULL",
    "REFLECTION_SHORT",
    "RETRY",
    "SYNTHESIS",
    "SYSTEM",
    "pick_template",
]

SYSTEM = "You improve the instructions given to an AI assistant. You reply with the new instruction only."

REFLECTION_SHORT = """Here is the current instruction:
```
{current}
```

Here are {count} examples of the assistant following it, with feedback on each answer:

{examples}
{rejected}
Write an improved instruction that fixes the problems the feedback points out. Keep what works and add the rules and facts the feedback reveals. The instruction will be used on new inputs unlike these examples, so state general rules and do not mention the details of these particular examples. Reply with only the new instruction inside ``` fences."""

REFLECTION_FULL = """I gave an assistant the following instruction to carry out a task:
```
{current}
```

Below are {count} examples of inputs, the assistant's outputs, and feedback on how each output could be better:

{examples}
{rejected}
Your task is to write a new instruction for the assistant.

Read the inputs carefully and identify the input format and infer the detailed task description.
Read all the outputs and the feedback. Identify every niche or domain-specific fact the feedback reveals, and include it in the instruction: the assistant will not see these examples or the feedback later. If an output used a generalisable strategy that worked, keep it in the instruction as well.

Reply with the new instruction inside ``` fences."""

RETRY = """That reply could not be used: {problem}. Write a new, different instruction. Reply with only the new instruction inside ``` fences."""

REJECTED = """These rewrites were already tried from the same instruction and did not help; do something different:
{items}
"""

MERGE = """Two versions of an instruction for the same task were improved separately, and each learned something the other did not.

Version A (best on these examples: {a_wins}):
```
{a}
```

Version B (best on these examples: {b_wins}):
```
{b}
```
{ancestor}
Create a SINGLE unified instruction that incorporates the key insights of BOTH versions. Preserve their specific strategies and rules. Resolve contradictions thoughtfully. Do not simply concatenate them: synthesise coherent guidance. Reply with only the merged instruction inside ``` fences."""

SYNTHESIS = """One instruction for an assistant was improved {count} times separately, each time from different examples of the assistant's mistakes, so each version learned something the others did not.

The instruction they all started from:
```
{original}
```

{versions}

Create a SINGLE unified instruction that keeps what the instruction they started from got right and incorporates the rules and facts that EVERY version added. Do not drop a rule because only one version has it. Do not simply concatenate them: write one coherent instruction. Reply with only the new instruction inside ``` fences."""

_SMALL = re.compile(r"(?<![\d.])(0\.\d+|1\.5|[1-3])b\b|\b\d{2,3}m\b|smollm|gemma-3-270m|tiny", re.I)


def pick_template(template: str, model: str) -> str:
    """``auto`` picks ``short`` for small models (3B parameters or fewer), else ``full``."""
    if template == "auto":
        template = "short" if _SMALL.search(model) else "full"
    return REFLECTION_SHORT if template == "short" else REFLECTION_FULL
