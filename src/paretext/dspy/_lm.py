"""A ``dspy.LM`` behind paretext's :class:`~paretext.lm.LM` protocol (for reflection).

The call goes through DSPy itself (its engine, retries and cache, as the user
set them); paretext's wrappers (the run store's record of every reply, usage,
limits) sit on top, as for any LM.  DSPy's errors become paretext's through the
LM layer's one status-to-error rule (``paretext.lm.error_for_status``).
"""

from __future__ import annotations

from typing import Any

from dspy.lm15 import Config, Message, Request
from dspy.utils import exceptions as dx

from ..errors import LMError
from ..lm import ChatRequest, LMResponse, Usage, cost_usd, error_for_status

__all__ = ["DspyLM"]


def _mapped(exc: Exception, model: str) -> LMError:
    """DSPy's error as paretext's, through the one status-to-error rule (its class names a
    status where the provider gave none)."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int):
        by_class = [
            (dx.LMRateLimitError, 429),
            (dx.LMAuthError, 401),
            (dx.LMBillingError, 402),
            (dx.ContextWindowExceededError, 400),
            (dx.LMInvalidRequestError, 400),
            (dx.LMConfigurationError, 400),
            (dx.LMServerError, 500),
        ]
        status = next((code for cls, code in by_class if isinstance(exc, cls)), None)
    code = "context_length_exceeded" if isinstance(exc, dx.ContextWindowExceededError) else None
    retry_after = getattr(exc, "retry_after", None)
    return error_for_status(
        status,
        f"{type(exc).__name__}: {exc}",
        model=model,
        code=code,
        retry_after=retry_after if isinstance(retry_after, int | float) else None,
    )


class DspyLM:
    """Adapts a ``dspy.LM`` (``dspy.LM("openai/gpt-5", temperature=1.0)``) to the LM protocol.

    The request's temperature and max_tokens win; where it leaves them unset, the
    ``dspy.LM``'s own defaults apply, as they would inside DSPy.
    """

    def __init__(self, lm: Any) -> None:
        self._lm = lm

    @property
    def model(self) -> str:
        return str(self._lm.model)

    @property
    def dspy_lm(self) -> Any:
        return self._lm

    async def chat(self, request: ChatRequest) -> LMResponse:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        turns = tuple(
            Message.assistant(m.content) if m.role == "assistant" else Message.user(m.content)
            for m in request.messages
            if m.role != "system"
        )
        defaults = self._lm.kwargs
        temperature = request.temperature
        if temperature is None:
            temperature = defaults.get("temperature")
        config = Config(
            temperature=temperature,
            max_tokens=request.max_tokens or defaults.get("max_tokens"),
            stop=tuple(request.stop or ()),
            response_format=dict(request.response_format) if request.response_format else None,
            seed=request.seed,
        )
        call = Request(model=self.model, system=system or None, messages=turns, config=config)
        try:
            response = await self._lm.acall(call)
        except dx.LMError as exc:
            raise _mapped(exc, self.model) from exc
        usage = Usage(response.usage.input_tokens or 0, response.usage.output_tokens or 0)
        return LMResponse(
            text=response.text or "",
            model=self.model,
            usage=usage,
            finish_reason=response.finish_reason,
            cost_usd=cost_usd(self.model, usage),
        )
