"""Pulling the new text out of an LM reply, and refusing replies that are not one.

Pure functions, tested on messy replies: fences with or without a language tag,
an unclosed fence, prose around the block, JSON from constrained decoding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from .._sections import truncate_middle
from ..errors import ReflectionParseError

__all__ = ["extract_text", "trim_cut_off", "truncate_middle"]

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


_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")


def trim_cut_off(text: str) -> str:
    """Repair prose that was cut off at ``max_tokens``: each sentence once, no half sentence.

    Small models that run into the token limit usually got there by looping on one
    sentence, and the cut leaves a fragment at the end.  The sentences before the
    loop are a usable instruction, and the call was paid for, so keep them (with the
    line breaks between them).
    """
    parts = _SENTENCE_END.split(text.strip())
    sentences = parts[0::2]  # the separators sit at the odd positions
    separators = ["", *parts[1::2]]
    if len(sentences) > 1 and not sentences[-1].rstrip().endswith((".", "!", "?", "`", ")")):
        sentences.pop()
    seen: set[str] = set()
    kept: list[str] = []
    for separator, sentence in zip(separators, sentences, strict=False):
        key = _squash(sentence)
        if key and key not in seen:
            seen.add(key)
            kept.append((separator if kept else "") + sentence)
    return "".join(kept)


def extract_text(
    reply: str,
    *,
    current: str,
    structured: bool = False,
    examples: Sequence[str] = (),
    min_chars: int = 8,
    cut_off: bool = False,
    known: Callable[[str], bool] | None = None,
) -> str:
    """Return the new text in ``reply`` or raise :class:`ReflectionParseError` saying why.

    ``cut_off`` says the reply hit ``max_tokens``: a reply with no fence at all is
    refused (it is usually reasoning that never reached the answer), and text that
    ran into the cut inside an open fence is repaired by :func:`trim_cut_off`.
    ``known(text)`` says a text was already evaluated: such a reply is refused too.
    """
    if cut_off and not structured and "```" not in reply:
        raise ReflectionParseError("reply was cut off at max_tokens", reply=reply)
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
    if cut_off and not _FENCE.search(reply):  # a closed fence holds the whole text
        text = trim_cut_off(text)
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
    if known is not None and known(text):
        raise ReflectionParseError(
            "reply proposes a text that was already evaluated", reply=reply
        )
    return text
