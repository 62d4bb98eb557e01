"""``resolve_lm``: a model string or an LM becomes one composed, production-ready LM.

The composition, outermost first::

    DefaultsLM     fills temperature / max_tokens the request left unset
    CachedLM       (when a store is given) a recorded request is never paid twice
    RetryingLM     backoff on retryable errors; sleeps outside the limiter
    LimitedLM      concurrency, rpm, tpm: one Limiter per model, shared (no concurrency
                   limit of its own unless given: the run's concurrency bounds every call)
    TimeoutLM      per attempt (not for in-process models, which cannot be interrupted)
    client         OpenAIClientLM | LiteLLMLM | LocalLM | your LM

Defaults sit outside the cache so they are part of its key.
"""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from ._base import LM, ChatRequest, LMResponse
from ._cache import CachedLM, ResponseStore
from ._limits import LimitedLM, Limiter, LimiterPool, shared_limiters
from ._litellm import LiteLLMLM
from ._local import LocalLM, shared_local_lm
from ._models import DEFAULT_MODEL
from ._openai import OpenAIClientLM
from ._retry import RetryingLM, RetryPolicy, TimeoutLM
from ._secrets import Secret

__all__ = ["ComposedLM", "DefaultsLM", "resolve_lm"]

_OPENAI_BARE = ("gpt-", "o1", "o3", "o4", "chatgpt-")


class DefaultsLM:
    """Fills ``temperature`` and ``max_tokens`` where a request leaves them ``None``."""

    def __init__(
        self, inner: LM, *, temperature: float | None = None, max_tokens: int | None = None
    ) -> None:
        self.inner = inner
        self.temperature = temperature
        self.max_tokens = max_tokens

    @property
    def model(self) -> str:
        return self.inner.model

    def __repr__(self) -> str:
        return (
            f"DefaultsLM({self.inner!r}, temperature={self.temperature}, "
            f"max_tokens={self.max_tokens})"
        )

    def apply(self, request: ChatRequest) -> ChatRequest:
        changes: dict[str, object] = {}
        if request.temperature is None and self.temperature is not None:
            changes["temperature"] = self.temperature
        if request.max_tokens is None and self.max_tokens is not None:
            changes["max_tokens"] = self.max_tokens
        return dataclasses.replace(request, **changes) if changes else request  # type: ignore[arg-type]

    async def chat(self, request: ChatRequest) -> LMResponse:
        return await self.inner.chat(self.apply(request))


class ComposedLM:
    """What :func:`resolve_lm` returns: the chain, with handles on its parts for reports."""

    def __init__(self, outer: LM, *, client: LM, limiter: Limiter, retrying: RetryingLM) -> None:
        self._outer = outer
        self.client = client
        self.limiter = limiter
        self.retrying = retrying

    @property
    def model(self) -> str:
        return self.client.model

    def __repr__(self) -> str:
        return f"ComposedLM({self._outer!r})"

    async def chat(self, request: ChatRequest) -> LMResponse:
        return await self._outer.chat(request)

    async def aclose(self) -> None:
        """Close the client's connections, when it has any."""
        if isinstance(self.client, OpenAIClientLM | LocalLM):
            await self.client.aclose()


def _client(
    spec: str,
    *,
    timeout: float | None,
    base_url: str | None,
    api_key: str | Secret | None,
) -> LM:
    spec = spec.strip()
    if spec == "local" or spec.startswith("local/"):
        return shared_local_lm(spec[len("local/") :] if "/" in spec else DEFAULT_MODEL)
    if spec.startswith("openai/") or ("/" not in spec and spec.lower().startswith(_OPENAI_BARE)):
        return OpenAIClientLM(spec, base_url=base_url, api_key=api_key, timeout=timeout)
    if "/" in spec and spec.split("/", 1)[0] and spec.split("/", 1)[1]:
        return LiteLLMLM(spec, base_url=base_url, api_key=api_key, timeout=timeout)
    raise ConfigError(
        f"cannot tell the provider of {spec!r}: write 'openai/<model>', 'local', "
        "'local/<name-or-path>', or a litellm string like 'anthropic/<model>'"
    )


def resolve_lm(
    spec: str | LM,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    concurrency: int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    timeout: float | None = 60,
    max_retries: int = 4,
    base_url: str | None = None,
    api_key: str | Secret | None = None,
    limiter: Limiter | None = None,
    limiters: LimiterPool | None = None,
    cache: ResponseStore | None = None,
    role: str = "task",
) -> LM:
    """Turn ``spec`` into a composed LM (see the module docstring for the layers).

    ``spec``: ``"openai/<model>"`` (OpenAI-compatible, ``base_url``/``api_key`` or
    ``OPENAI_BASE_URL``/``OPENAI_API_KEY``), ``"local"`` (the bundled default),
    ``"local/<bundled-name | path.gguf | org/repo[/file.gguf]>"``, any other
    ``"provider/model"`` (litellm), or an object implementing :class:`LM`.  An LM
    that ``resolve_lm`` already composed is returned as is.  Calls to one model
    share one limiter (from ``limiters``, the process-wide pool by default) unless
    ``limiter`` is given; a second resolution can only tighten its limits.
    ``cache`` puts a :class:`CachedLM` over the store under ``role``.
    """
    if isinstance(spec, ComposedLM):
        return spec
    if max_retries < 0:
        raise ConfigError(f"max_retries must be at least 0, got {max_retries}")
    if isinstance(spec, str):
        client = _client(spec, timeout=timeout, base_url=base_url, api_key=api_key)
        key = f"{client.model}@{base_url or ''}"
    elif isinstance(spec, LM):
        client = spec
        key = client.model
    else:
        raise ConfigError(f"expected a model string or an LM, got {type(spec).__name__}")
    if limiter is None:
        pool = limiters if limiters is not None else shared_limiters
        limiter = pool.get(key, concurrency=concurrency, rpm=rpm, tpm=tpm)
    chain: LM = client
    if timeout is not None and not isinstance(client, LocalLM):
        chain = TimeoutLM(chain, timeout)
    chain = LimitedLM(chain, limiter)
    retrying = RetryingLM(chain, RetryPolicy(max_attempts=max_retries + 1))
    chain = retrying
    if cache is not None:
        chain = CachedLM(chain, cache, role=role)
    if temperature is not None or max_tokens is not None:
        chain = DefaultsLM(chain, temperature=temperature, max_tokens=max_tokens)
    return ComposedLM(chain, client=client, limiter=limiter, retrying=retrying)
