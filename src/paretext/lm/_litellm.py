"""Other providers (Anthropic, Gemini, Bedrock, Mistral, …) through litellm (extra ``litellm``).

litellm is heavy, so it is imported on first use, once, with its own retries
and telemetry chatter turned off; without it, building a ``LiteLLMLM`` raises
:class:`~paretext.errors.ConfigError` naming the extra.  Its exceptions are
mapped in :func:`._errors.from_litellm`, the same tree as the OpenAI client's.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError, LMTransportError
from ._base import ChatRequest, LMResponse, Usage
from ._errors import from_litellm
from ._lazy import LazyImport
from ._pricing import get_price
from ._secrets import Secret

__all__ = ["LiteLLMLM", "get_litellm"]

INSTALL_HINT = "pip install 'paretext[litellm]'"


def _prepare() -> None:
    # litellm fetches its price map from the internet at import unless told not to;
    # paretext prices come from its own table first, so the bundled copy is enough.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _configure(module: Any) -> None:
    module.suppress_debug_info = True  # no banners on stdout
    module.telemetry = False


_LITELLM = LazyImport(
    "litellm", f"this model needs litellm: {INSTALL_HINT}", _configure, prepare=_prepare
)


def get_litellm() -> Any:
    """The litellm module, imported and configured once."""
    return _LITELLM.get()


class LiteLLMLM:
    """A chat model reached through ``litellm.acompletion``; ``model`` is litellm's own string.

    Parameters a provider does not support (``seed`` on Anthropic, say) are
    dropped by litellm rather than failing the call.  Cost comes from paretext's
    price table first, then litellm's own table, else ``None``.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        litellm: Any = None,
    ) -> None:
        if "/" not in model:
            raise ConfigError(f"litellm model strings look like 'provider/model', got {model!r}")
        self._litellm = litellm if litellm is not None else get_litellm()
        self._model = model
        self._key = Secret(api_key) if isinstance(api_key, str) else api_key
        self.base_url = base_url
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens

    @property
    def model(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"LiteLLMLM(model={self._model!r}, base_url={self.base_url!r})"

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._model,
            "messages": [m.to_dict() for m in request.messages],
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        temperature = request.temperature if request.temperature is not None else self.temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        optional = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": request.seed,
            "stop": list(request.stop) if request.stop else None,
            "response_format": dict(request.response_format) if request.response_format else None,
            "timeout": self.timeout,
            "api_base": self.base_url,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        if self._key is not None:
            params["api_key"] = self._key.reveal()
        return params

    async def chat(self, request: ChatRequest) -> LMResponse:
        try:
            reply = await self._litellm.acompletion(**self._params(request))
        except Exception as exc:
            mapped = from_litellm(exc, model=self._model, secrets=[self._key])
            if mapped is None:
                raise
        else:
            return self._response(reply)
        # Raised outside the handler, so neither __cause__ nor __context__ keeps the SDK's
        # exception (whose request carries the key) for a logger that prints the chain.
        raise mapped

    def _response(self, reply: Any) -> LMResponse:
        try:
            choice = reply.choices[0]
            text = choice.message.content or ""
            finish_reason = choice.finish_reason
        except (AttributeError, IndexError, TypeError):
            raise LMTransportError(
                f"{self._model}: the reply is not a chat completion", model=self._model
            ) from None
        reported = getattr(reply, "usage", None)
        usage = Usage(
            prompt_tokens=int(getattr(reported, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(reported, "completion_tokens", 0) or 0),
        )
        return LMResponse(
            text=text,
            model=self._model,
            usage=usage,
            finish_reason=finish_reason,
            cost_usd=self._cost(reply, usage) if reported is not None else None,
        )

    def _cost(self, reply: Any, usage: Usage) -> float | None:
        price = get_price(self._model)
        if price is not None:
            return price.cost(usage)
        try:
            cost = self._litellm.completion_cost(completion_response=reply)
        except Exception:  # litellm raises for models missing from its table: unknown, not free
            return None
        return float(cost) if cost is not None else None
