"""Real completions on the smallest bundled model: in-process, and through llama_cpp.server.

Slow (a few seconds each on 2 cores); CI runs them.  Skipped only when llama_cpp
cannot be imported (the ``local`` extra is missing).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretext.errors import ContextWindowExceeded
from paretext.lm import ChatRequest, ComposedLM, LocalLM, install_model, resolve_lm
from paretext.lm._local import _LLAMA_CPP

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _LLAMA_CPP.available(),
        reason="llama_cpp is not importable: install the 'local' extra (make install does)",
    ),
]

SYSTEM = (
    "You are a careful arithmetic assistant. You answer questions about sums and products "
    "of small whole numbers. Think quietly, then reply with the final number only: no words, "
    "no units, no punctuation. " * 3
)


def ask(question: str, **kwargs: object) -> ChatRequest:
    return ChatRequest.of(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        **kwargs,
    )


@pytest.fixture(scope="module")
def model_path() -> Path:
    return install_model()


@pytest.fixture(scope="module")
def local(model_path: Path) -> Iterator[LocalLM]:
    lm = LocalLM(model_path, name="qwen2.5-coder-0.5b", n_ctx=2048, backend="in-process")
    yield lm
    lm.close()


async def test_in_process_completion(local: LocalLM) -> None:
    response = await local.chat(ask("What is 2 + 3?", temperature=0.0, max_tokens=8))
    assert "5" in response.text
    assert response.model == "local/qwen2.5-coder-0.5b"
    assert response.cost_usd == 0.0 and response.finish_reason == "stop"
    assert response.usage.prompt_tokens > 50 and response.usage.completion_tokens >= 1


async def test_json_schema_is_enforced(local: LocalLM) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "unit": {"type": "string"}},
        "required": ["answer", "unit"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "result", "schema": schema}}
    request = ChatRequest.of(
        [{"role": "user", "content": "Two apples plus four apples, as JSON with answer and unit."}],
        temperature=0.0,
        max_tokens=40,
        response_format=fmt,
    )
    reply = json.loads((await local.chat(request)).text)
    assert set(reply) >= {"answer", "unit"} and isinstance(reply["answer"], int)


async def test_a_shared_system_prompt_is_read_once(local: LocalLM, model_path: Path) -> None:
    await local.chat(ask("What is 4 + 4?", temperature=0.0, max_tokens=4))
    before = local.stats.prompt_tokens_evaluated, local.stats.prompt_tokens
    await local.chat(ask("What is 6 + 1?", temperature=0.0, max_tokens=4))
    evaluated = local.stats.prompt_tokens_evaluated - before[0]
    reported = local.stats.prompt_tokens - before[1]
    assert evaluated < reported / 3  # only the new question was read

    cold = LocalLM(model_path, name="cold", n_ctx=2048, prefix_cache=False, backend="in-process")
    try:
        for question in ("What is 4 + 4?", "What is 6 + 1?"):
            await cold.chat(ask(question, temperature=0.0, max_tokens=4))
        assert cold.stats.prompt_tokens_evaluated >= cold.stats.prompt_tokens - 2
    finally:
        cold.close()


async def test_generation_does_not_block_the_event_loop(local: LocalLM) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(
        local.chat(ask("What is 3 * 3?", temperature=0.0, max_tokens=6)),
        local.chat(ask("What is 5 * 2?", temperature=0.0, max_tokens=6)),
    )
    elapsed = time.perf_counter() - started
    task.cancel()
    assert ticks >= 0.3 * elapsed / 0.01  # the loop kept running during both calls


async def test_a_prompt_longer_than_the_context_is_refused(model_path: Path) -> None:
    small = LocalLM(model_path, name="small", n_ctx=128, backend="in-process")
    try:
        with pytest.raises(ContextWindowExceeded):
            await small.chat(ask("add these: " + " + ".join(["1"] * 200), max_tokens=4))
    finally:
        small.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(model_path: Path) -> Iterator[str]:
    pytest.importorskip("uvicorn", reason="llama_cpp.server needs llama-cpp-python[server]")
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path), "--model_alias", "qwen-0.5b",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


async def test_completion_through_llama_cpp_server(llama_server: str) -> None:
    lm = resolve_lm("openai/qwen-0.5b", base_url=llama_server, timeout=120, max_retries=0)
    response = await lm.chat(ask("What is 2 + 3?", temperature=0.0, max_tokens=8))
    assert "5" in response.text
    # A loopback server is not assumed free (it may proxy a paid provider): its price is unknown.
    assert response.usage.prompt_tokens > 50 and response.cost_usd is None
    assert isinstance(lm, ComposedLM)
    await lm.aclose()
