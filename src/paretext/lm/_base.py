"""The LM protocol: the one seam between paretext and any language model.

An LM takes a :class:`ChatRequest` and returns an :class:`LMResponse`.  Clients
know nothing about GEPA; wrappers (cache, limits, retries, usage) take an LM
and are an LM, so they compose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from .._ids import canonical_json

__all__ = ["LM", "ChatRequest", "LMResponse", "Message", "Usage"]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat completion request, independent of provider and credentials.

    ``sample`` distinguishes deliberate re-samples of the same prompt: it is part
    of the cache key and is never sent to the provider.
    """

    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    response_format: Mapping[str, Any] | None = None
    sample: int = 0

    @classmethod
    def of(cls, messages: Sequence[Message | Mapping[str, str]], **kwargs: Any) -> ChatRequest:
        msgs = tuple(
            m if isinstance(m, Message) else Message(m["role"], m["content"])  # type: ignore[arg-type]
            for m in messages
        )
        return cls(messages=msgs, **kwargs)

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": list(self.stop) if self.stop else None,
            "response_format": dict(self.response_format) if self.response_format else None,
            "sample": self.sample,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChatRequest:
        """The inverse of :meth:`to_json` (a recorded request, copied between run stores)."""
        stop = data.get("stop")
        return cls.of(
            data["messages"],
            temperature=data.get("temperature"),
            max_tokens=data.get("max_tokens"),
            seed=data.get("seed"),
            stop=tuple(stop) if stop else None,
            response_format=data.get("response_format"),
            sample=int(data.get("sample", 0)),
        )

    def cache_key(self, model: str) -> str:
        """sha256 of the canonical request and model name; never includes credentials."""
        payload = canonical_json({"model": model, **self.to_json()})
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class LMResponse:
    """A completion.  ``cost_usd`` is ``None`` when the price is unknown (never a silent 0)."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = "stop"
    cost_usd: float | None = None
    cache_hit: bool = False

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@runtime_checkable
class LM(Protocol):
    """Anything that answers a chat request asynchronously."""

    @property
    def model(self) -> str: ...

    async def chat(self, request: ChatRequest) -> LMResponse: ...
