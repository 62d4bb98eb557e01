"""LocalLM on llama.cpp's own server: batched requests give the serial path's answers.

The slow tests start the real ``llama-server`` (built by ``make llama-server``,
part of ``make install``) on the bundled 0.5B model; CI runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretext.errors import ConfigError, ContextWindowExceeded
from paretext.lm import ChatRequest, LocalLM, install_model
from paretext.lm._llama_server import LlamaServer, find_llama_server
from paretext.lm._local import _LLAMA_CPP

BINARY = find_llama_server()
needs_server = pytest.mark.skipif(
    BINARY is None or not _LLAMA_CPP.available(),
    reason="no llama-server binary (make llama-server) or no llama_cpp (the 'local' extra)",
)

SYSTEM = "You are a careful assistant. Reply with the final answer only: no words, no units."
QUESTIONS = [f"What is {a} + {b}?" for a, b in ((2, 3), (17, 25), (40, 2), (99, 1),
                                                  (7, 8), (120, 30), (13, 13), (64, 36))]
CODE = [f"Write a Python function that returns the {w} of a list of numbers. Code only."
        for w in ("sum", "maximum", "mean", "median")]


def ask(question: str, max_tokens: int) -> ChatRequest:
    return ChatRequest.of(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        temperature=0.0, max_tokens=max_tokens,
    )


async def answers(lm: LocalLM, requests: list[ChatRequest], concurrency: int) -> list[str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(request: ChatRequest) -> str:
        async with gate:
            return (await lm.chat(request)).text

    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        await lm.aclose()  # its connections belong to this test's event loop


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARETEXT_LLAMA_SERVER", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="PARETEXT_LLAMA_SERVER"):
        find_llama_server()
    with pytest.raises(ConfigError, match="PARETEXT_LLAMA_SERVER"):
        LocalLM(tmp_path / "model.gguf", backend="server")
    with pytest.raises(ConfigError, match="backend"):
        LocalLM(tmp_path / "model.gguf", backend="gpu")  # type: ignore[arg-type]


@needs_server
def test_a_bad_model_file_fails_with_the_server_log(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    assert BINARY is not None
    server = LlamaServer(bad, binary=BINARY, parallel=2, n_ctx=512, n_threads=1)
    with pytest.raises(ConfigError, match="did not start"):
        server.start()
    assert not server.alive()


@pytest.fixture(scope="module")
def model_path() -> Path:
    return install_model()


@pytest.fixture(scope="module")
def serial(model_path: Path) -> Iterator[LocalLM]:
    lm = LocalLM(model_path, n_ctx=2048, backend="in-process")
    yield lm
    lm.close()


@pytest.fixture(scope="module")
def batched(model_path: Path) -> Iterator[LocalLM]:
    lm = LocalLM(model_path, n_ctx=2048, backend="server", parallel=4)
    yield lm
    lm.close()


@pytest.mark.slow
@needs_server
async def test_batched_answers_equal_the_serial_ones(serial: LocalLM, batched: LocalLM) -> None:
    requests = [ask(q, 12) for q in QUESTIONS]
    one_at_a_time = await answers(serial, requests, 1)
    four_at_a_time = await answers(batched, requests, 4)
    assert four_at_a_time == one_at_a_time
    assert one_at_a_time[0].strip() == "5"  # a real answer, not an empty or error text
    assert batched.model == serial.model and batched.stats.calls == len(QUESTIONS)


@pytest.mark.slow
@needs_server
async def test_one_request_at_a_time_gives_the_in_process_tokens_exactly(
    serial: LocalLM, batched: LocalLM
) -> None:
    # Long generations too: same chat template, same kernels for one sequence.  (Decoding
    # several sequences in one batch uses other matrix kernels whose rounding can flip a
    # near-tie late in a long reply; benchmarks/lm_throughput.py counts how often.)
    requests = [ask(q, 64) for q in CODE]
    assert await answers(batched, requests, 1) == await answers(serial, requests, 1)


@pytest.mark.slow
@needs_server
async def test_a_prompt_too_long_for_a_slot_is_a_context_error(model_path: Path) -> None:
    lm = LocalLM(model_path, n_ctx=256, backend="server", parallel=1)
    try:
        with pytest.raises(ContextWindowExceeded, match=r"local/qwen2\.5-coder"):
            await lm.chat(ask("word " * 400, 4))
        await lm.aclose()
    finally:
        lm.close()


@pytest.mark.slow
@needs_server
def test_close_stops_the_server(model_path: Path) -> None:
    lm = LocalLM(model_path, n_ctx=512, backend="server", parallel=2)
    url = lm.load()
    assert url.startswith("http://127.0.0.1:") and lm._server is not None
    proc = lm._server._proc
    assert proc is not None and proc.poll() is None
    lm.close()
    assert proc.poll() is not None and lm._server is None
