"""A deterministic LM behind the real protocol, for tests, demos and benchmarks."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from ._base import ChatRequest, LMResponse, Usage

__all__ = ["ScriptedLM"]

Responder = Callable[[ChatRequest], "str | LMResponse | Awaitable[str | LMResponse]"]


class ScriptedLM:
    """Answers each request with ``respond(request)``; optional fixed latency.

    Token usage is estimated as one token per four characters, so budget and
    usage accounting have something real to count.  ``calls`` counts requests.
    """

    def __init__(
        self,
        respond: Responder,
        *,
        model: str = "scripted",
        latency: float = 0.0,
        cost_per_token: float | None = 0.0,
    ) -> None:
        self._respond = respond
        self._model = model
        self.latency = latency
        self.cost_per_token = cost_per_token
        self.calls = 0

    @property
    def model(self) -> str:
        return self._model

    async def chat(self, request: ChatRequest) -> LMResponse:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        answer = self._respond(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, LMResponse):
            return answer
        prompt_chars = sum(len(m.content) for m in request.messages)
        usage = Usage(prompt_tokens=prompt_chars // 4 + 1, completion_tokens=len(answer) // 4 + 1)
        cost = None if self.cost_per_token is None else usage.total_tokens * self.cost_per_token
        return LMResponse(text=answer, model=self._model, usage=usage, cost_usd=cost)
