"""A response cache wrapper: a recorded request is never paid twice."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Protocol

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
        self._pending: dict[str, asyncio.Future[LMResponse]] = {}

    @property
    def model(self) -> str:
        return self.inner.model

    async def chat(self, request: ChatRequest) -> LMResponse:
        if not self._enabled:
            return await self.inner.chat(request)
        key = request.cache_key(self.inner.model)
        pending = self._pending.get(key)
        if pending is not None:
            return dataclasses.replace(await asyncio.shield(pending), cache_hit=True)
        # Registered before the first await, so concurrent identical requests share one call.
        future: asyncio.Future[LMResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            recorded = await asyncio.to_thread(self._store.get_lm_response, key)
            if recorded is not None:
                response = dataclasses.replace(recorded, cache_hit=True)
            else:
                response = await self.inner.chat(request)
                await asyncio.to_thread(
                    self._store.put_lm_response, key, request, response, role=self._role
                )
            future.set_result(response)
            return response
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._pending[key]
