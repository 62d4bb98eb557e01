"""A local GGUF model: llama.cpp's server as a child process, or llama-cpp-python in process.

With the ``llama-server`` binary available (``make llama-server``), a
:class:`LocalLM` starts it on 127.0.0.1 with ``parallel`` slots and sends
requests over its OpenAI-compatible API: concurrent requests are decoded in one
batch, which on a CPU multiplies the generated tokens per second (see
:mod:`._llama_server`).  Without it, the model runs in process through
llama-cpp-python (extra ``local``), one request at a time.

In process, llama.cpp's context is not thread-safe, so each
:class:`LocalLM` owns one worker thread: calls queue there in arrival order and
the event loop never blocks.  Consecutive prompts that share a prefix (a fixed
system prompt, few-shot examples) reuse its key/value cache instead of
re-reading it.  llama-cpp-python's ``LlamaRAMCache`` is deliberately not used:
each saved state copies a 512 x vocabulary logits array (80 MB for Qwen) that
its capacity accounting does not count, so memory grows without bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, ContextWindowExceeded, LMBadRequestError, LMError
from ._base import ChatRequest, LMResponse, Usage
from ._errors import is_context_overflow
from ._lazy import LazyImport
from ._llama_server import LlamaServer, find_llama_server
from ._models import (
    BUNDLED_MODELS,
    DEFAULT_MODEL,
    ModelInstaller,
    canonical_source,
    resolve_model_file,
)
from ._openai import OpenAIClientLM

__all__ = ["Backend", "LocalLM", "LocalStats", "get_llama_cpp"]

#: ``auto``: the server when its binary is found, else in process.
Backend = Literal["auto", "server", "in-process"]

_LLAMA_CPP = LazyImport(
    "llama_cpp",
    "local models need llama-cpp-python: pip install 'paretext[local]' "
    "(where a native build crashes, see the README for CMAKE_ARGS)",
)


def get_llama_cpp() -> Any:
    """The llama_cpp module, imported once, or a ConfigError naming the extra."""
    return _LLAMA_CPP.get()


@dataclass(slots=True)
class LocalStats:
    """Counters for benchmarks: how much prompt was really evaluated, and how fast."""

    calls: int = 0
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    prompt_seconds: float = 0.0
    completion_tokens: int = 0
    generation_seconds: float = 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.prompt_tokens_evaluated / self.prompt_seconds if self.prompt_seconds else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        return self.completion_tokens / self.generation_seconds if self.generation_seconds else 0.0


def _llama_response_format(request: ChatRequest) -> dict[str, Any] | None:
    """OpenAI's ``response_format`` in llama-cpp's dialect (a JSON schema becomes a grammar)."""
    fmt = request.response_format
    if fmt is None or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return dict(fmt)
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return (
            {"type": "json_object", "schema": dict(schema)} if schema else {"type": "json_object"}
        )
    raise LMBadRequestError(f"response_format type {fmt.get('type')!r} is not supported locally")


class LocalLM:
    """A GGUF chat model run in this process.

    ``source`` is a bundled model name (default: the smallest), a ``.gguf`` path or a
    Hugging Face ``org/repo[/file.gguf]``; it is resolved and loaded on first use.
    ``backend`` picks llama.cpp's server (``parallel`` slots of ``n_ctx`` tokens,
    requests batched together) or llama-cpp-python in process; ``auto`` takes the
    server when :func:`find_llama_server` finds its binary.  ``prefix_cache=False``
    forgets the previous prompt before each call (in process only, for
    measurements; the server's slots always reuse a shared prefix).  Without a
    request seed, ``seed + request.sample`` is used, so outputs are reproducible
    and deliberate re-samples differ.  Cost is always 0.
    """

    def __init__(
        self,
        source: str | Path = DEFAULT_MODEL,
        *,
        name: str | None = None,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        prefix_cache: bool = True,
        seed: int = 0,
        temperature: float | None = None,
        max_tokens: int = 1024,
        chat_format: str | None = None,
        installer: ModelInstaller | None = None,
        backend: Backend = "auto",
        parallel: int = 4,
    ) -> None:
        if backend not in ("auto", "server", "in-process"):
            raise ConfigError(f"backend must be 'auto', 'server' or 'in-process', not {backend!r}")
        if parallel < 1:
            raise ConfigError(f"parallel must be at least 1, got {parallel}")
        self._binary = find_llama_server() if backend != "in-process" else None
        if backend == "server" and self._binary is None:
            raise ConfigError(
                "no llama-server binary: build it with `make llama-server`, or set "
                "PARETEXT_LLAMA_SERVER to its path"
            )
        self.backend: Literal["server", "in-process"] = (
            "server" if self._binary is not None else "in-process"
        )
        if self.backend == "in-process":
            get_llama_cpp()
        self.parallel = parallel
        self.source = source
        self._name = name or _default_name(source)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _default_threads()
        self.prefix_cache = prefix_cache
        self.seed = seed
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.chat_format = chat_format
        self._installer = installer
        self._llm: Any = None
        self._server: LlamaServer | None = None
        self._client: OpenAIClientLM | None = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paretext-llama")
        self.stats = LocalStats()
        self.path: Path | None = None

    @property
    def model(self) -> str:
        return f"local/{self._name}"

    def __repr__(self) -> str:
        return f"LocalLM({self.model!r}, n_ctx={self.n_ctx}, backend={self.backend!r})"

    def _resolve_path(self) -> Path:
        if isinstance(self.source, Path):
            return self.source
        return resolve_model_file(self.source, installer=self._installer)

    def load(self) -> Any:
        """Resolve the file and load the weights, or start the server (idempotent; the first
        call does it anyway).  Returns the llama-cpp ``Llama`` or the server's ``/v1`` URL.
        """
        if self.backend == "server":
            return self._start_server()
        with self._load_lock:
            if self._llm is None:
                llama_cpp = get_llama_cpp()
                path = self._resolve_path()
                try:
                    llm = llama_cpp.Llama(
                        model_path=str(path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        seed=self.seed,
                        chat_format=self.chat_format,
                        verbose=False,
                    )
                except (ValueError, RuntimeError, OSError) as exc:
                    raise ConfigError(f"{self.model}: cannot load {path}: {exc}") from None
                self.path, self._llm = Path(path), llm
            return self._llm

    def _start_server(self) -> str:
        with self._load_lock:
            if self._server is None or not self._server.alive():
                assert self._binary is not None
                path = self._resolve_path()
                server = LlamaServer(
                    path, binary=self._binary, parallel=self.parallel, n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                )
                server.start()
                self.path, self._server = path, server
                self._client = OpenAIClientLM(
                    f"openai/{self._name}", base_url=server.base_url, timeout=None, free=True
                )
            return self._server.base_url

    async def chat(self, request: ChatRequest) -> LMResponse:
        loop = asyncio.get_running_loop()
        if self.backend == "in-process":
            return await loop.run_in_executor(self._executor, self._complete, request)
        if self._client is None or self._server is None or not self._server.alive():
            await loop.run_in_executor(self._executor, self._start_server)
        assert self._client is not None
        changes: dict[str, Any] = {"seed": request.seed if request.seed is not None
                                   else self.seed + request.sample}
        if request.temperature is None:
            # llama-cpp-python's default, so that both backends sample alike
            changes["temperature"] = 0.2 if self.temperature is None else self.temperature
        if request.max_tokens is None:
            changes["max_tokens"] = self.max_tokens
        try:
            response = await self._client.chat(dataclasses.replace(request, **changes))
        except LMError as exc:  # name this model, not the wire client, in the error
            exc.args = (str(exc).replace(self._client.model, self.model, 1),)
            exc.model = self.model
            raise
        stats = self.stats
        stats.calls += 1
        stats.prompt_tokens += response.usage.prompt_tokens
        stats.completion_tokens += response.usage.completion_tokens
        return dataclasses.replace(response, model=self.model)

    def _complete(self, request: ChatRequest) -> LMResponse:
        llm = self.load()
        if not self.prefix_cache:
            llm.reset()
        temperature = request.temperature if request.temperature is not None else self.temperature
        kwargs: dict[str, Any] = {
            "messages": [m.to_dict() for m in request.messages],
            "max_tokens": request.max_tokens if request.max_tokens is not None else self.max_tokens,
            "seed": request.seed if request.seed is not None else self.seed + request.sample,
            "stop": list(request.stop) if request.stop else None,
            "response_format": _llama_response_format(request),
        }
        if temperature is not None:
            kwargs["temperature"] = temperature
        before = _perf(llm)
        try:
            out = llm.create_chat_completion(**kwargs)
        except ValueError as exc:
            if is_context_overflow(str(exc)):
                raise ContextWindowExceeded(f"{self.model}: {exc}", model=self.model) from None
            raise LMBadRequestError(f"{self.model}: {exc}", model=self.model) from None
        except RuntimeError as exc:
            raise LMError(f"{self.model}: {exc}", model=self.model) from None
        return self._response(out, before, _perf(llm))

    def _response(
        self,
        out: Mapping[str, Any],
        before: tuple[int, float, int, float] | None,
        after: tuple[int, float, int, float] | None,
    ) -> LMResponse:
        choice = out["choices"][0]
        reported = out.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(reported.get("prompt_tokens", 0)),
            completion_tokens=int(reported.get("completion_tokens", 0)),
        )
        stats = self.stats
        stats.calls += 1
        stats.prompt_tokens += usage.prompt_tokens
        stats.completion_tokens += usage.completion_tokens
        if before is not None and after is not None:
            stats.prompt_tokens_evaluated += after[0] - before[0]
            stats.prompt_seconds += (after[1] - before[1]) / 1000
            stats.generation_seconds += (after[3] - before[3]) / 1000
        return LMResponse(
            text=choice["message"].get("content") or "",
            model=self.model,
            usage=usage,
            finish_reason=choice.get("finish_reason"),
            cost_usd=0.0,
        )

    def close(self) -> None:
        """Stop the worker thread and the server, and free the weights."""
        self._executor.shutdown(wait=True)
        with self._load_lock:
            llm, self._llm = self._llm, None
            server, self._server, self._client = self._server, None, None
        if llm is not None:
            llm.close()
        if server is not None:
            server.stop()

    async def aclose(self) -> None:
        """Close the HTTP connections to the server (it keeps running until :meth:`close`)."""
        if self._client is not None:
            await self._client.aclose()


def _default_threads() -> int:
    """``$PARETEXT_LLAMA_THREADS``, else one thread per CPU.

    On a machine busy with other work, fewer threads than CPUs is faster: llama.cpp's
    threads meet at a barrier after every operation, so one descheduled thread stalls all.
    """
    configured = os.environ.get("PARETEXT_LLAMA_THREADS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ConfigError(
                f"PARETEXT_LLAMA_THREADS must be a positive integer, not {configured!r}"
            )
        return int(configured)
    return os.cpu_count() or 1


def _perf(llm: Any) -> tuple[int, float, int, float] | None:
    """llama.cpp's cumulative (prompt tokens, prompt ms, generated tokens, generation ms)."""
    try:
        data = get_llama_cpp().llama_perf_context(llm._ctx.ctx)
    except (AttributeError, TypeError):
        return None
    return int(data.n_p_eval), float(data.t_p_eval_ms), int(data.n_eval), float(data.t_eval_ms)


def _default_name(source: str | Path) -> str:
    text = canonical_source(source)
    if text in BUNDLED_MODELS:
        return text
    if text.endswith(".gguf"):
        return Path(text).stem
    return text


_shared: weakref.WeakValueDictionary[tuple[str, int, bool], LocalLM] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def shared_local_lm(
    source: str | Path = DEFAULT_MODEL, *, n_ctx: int = 8192, prefix_cache: bool = True
) -> LocalLM:
    """One :class:`LocalLM` per model file and settings: the weights are loaded once per process."""
    key = (canonical_source(source), n_ctx, prefix_cache)
    with _shared_lock:
        lm = _shared.get(key)
        if lm is None:
            lm = LocalLM(source, n_ctx=n_ctx, prefix_cache=prefix_cache)
            _shared[key] = lm
        return lm
