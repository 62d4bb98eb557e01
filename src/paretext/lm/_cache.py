"""A response cache wrapper: a recorded request is never paid twice."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Protocol

from .._flight import SingleFlight
from ._base import ChatRequest, LMResponse

__all__ = ["CachedLM", "ResponseStore"]


class ResponseStore(Protocol):
    """Where responses are kept: the run store implements this."""

    def get_lm_response(self, key: str) -> LMResponse | None: ...

    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None: ...


class CachedLM:
    """Serves a request from ``store`` when recorded there, else calls ``inner`` and records it.

    Identical requests in flight at the same time share one call.  A hit keeps
    the recorded usage and cost (so replayed accounting is exact) and is marked
    ``cache_hit=True``; usage reports count hits apart from paid calls.
    """

    def __init__(self, inner: object, store: ResponseStore, *, role: str, enabled: bool = True):
        from ._base import LM

        if not isinstance(inner, LM):
            raise TypeError(f"{inner!r} does not implement the LM protocol")
        self.inner: LM = inner
        self._store = store
        self._role = role
        self._enabled = enabled
        self._flights: SingleFlight[str, LMResponse] = SingleFlight()

    @property
    def model(self) -> str:
        return self.inner.model

    async def chat(self, request: ChatRequest) -> LMResponse:
        if not self._enabled:
            return await self.inner.chat(request)
        key = request.cache_key(self.inner.model)

        async def recorded_or_called() -> LMResponse:
            recorded = await asyncio.to_thread(self._store.get_lm_response, key)
            if recorded is not None:
                return dataclasses.replace(recorded, cache_hit=True)
            response = await self.inner.chat(request)
            await asyncio.to_thread(
                self._store.put_lm_response, key, request, response, role=self._role
            )
            return response

        response, shared = await self._flights.run(key, recorded_or_called)
        return dataclasses.replace(response, cache_hit=True) if shared else response
