"""Keeping API keys out of reprs, messages and logs.

A key lives in a :class:`Secret` whose ``repr``/``str`` never shows it, and any
provider text that reaches an exception or a log line goes through :func:`scrub`
first: providers sometimes echo the key they rejected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["KEY_ENV_VARS", "Secret", "scrub"]

#: Environment variables whose values are always scrubbed from provider text.
KEY_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "HF_TOKEN",
)

# Shapes of keys we may not know about: OpenAI/Anthropic style and bearer tokens.
_KEY_SHAPES = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{6,}|\bBearer\s+[A-Za-z0-9._\-~+/]{6,}=*|\bAIza[0-9A-Za-z_\-]{20,})"
)
_MASK = "***"


class Secret:
    """A credential that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The raw value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled: it would write the key to disk")


def scrub(text: str, secrets: Iterable[str | Secret | None] = ()) -> str:
    """``text`` with the given secrets, env-var keys and key-shaped tokens masked."""
    values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
    values.update(os.environ.get(name) for name in KEY_ENV_VARS)
    for value in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, _MASK)
    return _KEY_SHAPES.sub(_MASK, text)
