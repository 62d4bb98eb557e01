"""OpenAI-compatible chat models through the official ``openai`` SDK.

One wire client reaches OpenAI, Azure's OpenAI-compatible endpoint, vLLM,
Ollama, llama.cpp's server, LM Studio and OpenRouter: only ``base_url`` and the
key differ.  The SDK's own retries are off (``RetryingLM`` owns that policy) and
its errors are mapped once, in :mod:`._errors`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion

from ..errors import ConfigError, LMTransportError
from ._base import ChatRequest, LMResponse, Usage
from ._errors import from_openai
from ._pricing import cost_usd
from ._secrets import Secret

if TYPE_CHECKING:
    import httpx2

__all__ = ["OpenAIClientLM", "close_loop_clients"]

_PREFIX = "openai/"
_OFFICIAL_HOST = "api.openai.com"
TokenParam = Literal["max_tokens", "max_completion_tokens"]


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url).hostname if url else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: The clients each loop opened, closed there by :func:`close_loop_clients`.
_OPEN: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakSet[OpenAIClientLM]
] = weakref.WeakKeyDictionary()
_STALE: list[openai.AsyncOpenAI] = []


async def close_loop_clients() -> None:
    """Close every SDK client opened on the running loop, on it (before the loop ends)."""
    for lm in list(_OPEN.pop(asyncio.get_running_loop(), ())):
        await lm.aclose()


class OpenAIClientLM:
    """A chat model behind an OpenAI-compatible endpoint.

    ``model`` is ``"openai/<name>"`` (the prefix is optional); ``<name>`` is what the
    server sees.  ``base_url`` and ``api_key`` default to ``OPENAI_BASE_URL`` and
    ``OPENAI_API_KEY``.  Cost comes from the price table and is ``None`` when the
    model has no price, on a loopback server too (a local server may be a proxy to
    a paid provider): say ``free=True`` or ``register_price(model, 0, 0)`` when it is
    free.  ``http_client`` is the transport seam: tests hand in an
    ``httpx2.AsyncClient`` with a mock transport.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | Secret | None = None,
        timeout: float | None = 60.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        http_client: httpx2.AsyncClient | None = None,
        free: bool = False,
        token_param: TokenParam | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._model = model if model.startswith(_PREFIX) else _PREFIX + model
        self.wire_model = self._model[len(_PREFIX) :]
        if not self.wire_model:
            raise ConfigError(f"no model name in {model!r}: use 'openai/<model>'")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url is None:
                raise ConfigError(
                    f"{self._model}: no API key; set OPENAI_API_KEY or pass api_key=, "
                    "or point base_url/OPENAI_BASE_URL at a server that needs none"
                )
            key = "no-key"  # local servers ignore it, the SDK insists on one
        self._key = key if isinstance(key, Secret) else Secret(key)
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.free = free
        official = self.base_url is None or urlsplit(self.base_url).hostname == _OFFICIAL_HOST
        self.token_param: TokenParam = token_param or (
            "max_completion_tokens" if official else "max_tokens"
        )
        self._http_client = http_client
        self._default_headers = dict(default_headers or {})
        self._bound: tuple[asyncio.AbstractEventLoop | None, openai.AsyncOpenAI] | None = None

    @property
    def model(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"OpenAIClientLM(model={self._model!r}, base_url={self.base_url!r})"

    def _client(self) -> openai.AsyncOpenAI:
        """One SDK client per event loop: pooled connections must not outlive their loop."""
        loop = None if self._http_client is not None else asyncio.get_running_loop()
        if self._bound is None or self._bound[0] is not loop:
            client = openai.AsyncOpenAI(
                api_key=self._key.reveal(),
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
                http_client=self._http_client,
                default_headers=self._default_headers or None,
            )
            if self._bound is not None and self._bound[0] is not None:
                # Its loop has ended: closing it now would schedule work on that dead loop
                # ("Event loop is closed"), so it is kept until the interpreter exits.
                _STALE.append(self._bound[1])
            self._bound = (loop, client)
            if loop is not None:
                _OPEN.setdefault(loop, weakref.WeakSet()).add(self)
        return self._bound[1]

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        """The SDK arguments for ``request``: ``sample`` is a cache-key field and is never sent."""
        params: dict[str, Any] = {
            "model": self.wire_model,
            "messages": [m.to_dict() for m in request.messages],
        }
        temperature = request.temperature if request.temperature is not None else self.temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params[self.token_param] = max_tokens
        if request.seed is not None:
            params["seed"] = request.seed
        if request.stop:
            params["stop"] = list(request.stop)
        if request.response_format is not None:
            params["response_format"] = dict(request.response_format)
        return params

    async def chat(self, request: ChatRequest) -> LMResponse:
        try:
            completion = await self._client().chat.completions.create(**self._params(request))
        except Exception as exc:
            mapped = from_openai(exc, model=self._model, secrets=[self._key])
            if mapped is None:
                raise
        else:
            return self._response(completion)
        # Raised outside the handler, so neither __cause__ nor __context__ keeps the SDK's
        # exception (whose request carries the key) for a logger that prints the chain.
        raise mapped

    def _response(self, completion: object) -> LMResponse:
        if not isinstance(completion, ChatCompletion) or not completion.choices:
            raise LMTransportError(
                f"{self._model}: the reply is not a chat completion", model=self._model
            )
        choice = completion.choices[0]
        reported = completion.usage
        usage = Usage(
            prompt_tokens=(reported.prompt_tokens or 0) if reported else 0,
            completion_tokens=(reported.completion_tokens or 0) if reported else 0,
        )
        if self.free:
            cost: float | None = 0.0
        elif reported is None:
            cost = None
        else:
            cost = cost_usd(self._model, usage)
        return LMResponse(
            text=(choice.message.content or "") if choice.message else "",
            model=self._model,
            usage=usage,
            finish_reason=choice.finish_reason,
            cost_usd=cost,
        )

    async def aclose(self) -> None:
        """Close the SDK clients this object opened (an injected ``http_client`` stays open)."""
        bound, self._bound = self._bound, None
        if bound is not None and self._http_client is None:
            await bound[1].close()
