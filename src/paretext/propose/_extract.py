"""Pulling the new text out of an LM reply, and refusing replies that are not one.

Pure functions, tested on messy replies: fences with or without a language tag,
an unclosed fence, prose around the block, JSON from constrained decoding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ..errors import ReflectionParseError

__all__ = ["extract_text", "truncate_middle"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n?(.*?)```", re.S)
_PREAMBLE = re.compile(r"^\s*(here is|here's|sure|certainly|okay|ok)[^\n]*:\s*\n", re.I)
_ECHO_MARKERS = (
    "please provide the",
    "provide the inputs",
    "here are 3 examples",
    "write an improved instruction",
    "reply with only the new instruction",
    "### example",
    "assistant's answer:",
)


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def _candidates(reply: str) -> list[str]:
    fenced = [m.group(2).strip() for m in _FENCE.finditer(reply)]
    if fenced:
        return sorted(fenced, key=len, reverse=True)
    if reply.count("```") == 1:  # an unclosed fence: take what follows it
        after = reply.split("```", 1)[1]
        first, _, rest = after.partition("\n")
        if rest and re.fullmatch(r"[\w+-]*", first.strip()):
            after = rest
        return [after.strip()]
    return [_PREAMBLE.sub("", reply).strip()]


def extract_text(
    reply: str,
    *,
    current: str,
    structured: bool = False,
    examples: Sequence[str] = (),
    min_chars: int = 8,
) -> str:
    """Return the new text in ``reply`` or raise :class:`ReflectionParseError` saying why."""
    if structured:
        try:
            data = json.loads(reply)
            text = str(data["new_instruction"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise ReflectionParseError(
                f"structured reply is not the expected JSON: {exc}", reply=reply
            ) from None
    else:
        text = _candidates(reply)[0]
    if len(text) < min_chars:
        raise ReflectionParseError(f"reply holds no instruction (got {text!r})", reply=reply)
    squashed = _squash(text)
    if squashed == _squash(current):
        raise ReflectionParseError("reply repeats the current instruction unchanged", reply=reply)
    if any(marker in squashed for marker in _ECHO_MARKERS):
        raise ReflectionParseError(
            "reply echoes the reflection prompt instead of an instruction", reply=reply
        )
    for example in examples:
        ex = _squash(example)
        if len(ex) >= 40 and ex in squashed and len(ex) > 0.6 * len(squashed):
            raise ReflectionParseError(
                "reply copies an example instead of writing an instruction", reply=reply
            )
    return text


def truncate_middle(text: str, limit: int) -> str:
    """Keep the head and tail of ``text`` within ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    marker = "\n[... {} characters omitted ...]\n"
    keep = max(0, limit - len(marker.format(len(text))))
    head = keep * 2 // 3
    tail = keep - head
    omitted = len(text) - head - tail
    return text[:head] + marker.format(omitted) + (text[-tail:] if tail else "")
