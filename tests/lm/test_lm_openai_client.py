"""OpenAIClientLM against the fake server and through the httpx2 transport seam."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx2
import pytest
from fake_server import FakeOpenAIServer, Fault

from paretext.errors import ConfigError, LMRateLimitError, LMTransportError
from paretext.lm import ChatRequest, OpenAIClientLM, Usage, register_price
from paretext.lm._pricing import _prices

KEY = "sk-test-0123456789abcdef"


def request(text: str = "two plus two", **kwargs: object) -> ChatRequest:
    return ChatRequest.of(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        **kwargs,
    )


@pytest.fixture
async def lm(fake_server: FakeOpenAIServer) -> AsyncIterator[OpenAIClientLM]:
    client = OpenAIClientLM("openai/fake-model", base_url=fake_server.base_url, api_key=KEY)
    yield client
    await client.aclose()


async def test_completion_passes_every_parameter_but_sample(
    lm: OpenAIClientLM, fake_server: FakeOpenAIServer
) -> None:
    req = request(
        temperature=0.3,
        max_tokens=20,
        seed=7,
        stop=("\n\n",),
        response_format={"type": "json_object"},
        sample=3,
    )
    response = await lm.chat(req)
    assert response.text == "echo: two plus two"
    assert response.usage == Usage(prompt_tokens=5, completion_tokens=4)
    assert response.finish_reason == "stop"
    assert response.model == "openai/fake-model"
    assert response.cost_usd is None  # a loopback server is free only when said so (free=True)
    body = fake_server.requests[-1]
    assert body["model"] == "fake-model"
    assert body["messages"][1] == {"role": "user", "content": "two plus two"}
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 20, 7)
    assert body["stop"] == ["\n\n"]
    assert body["response_format"] == {"type": "json_object"}
    assert "sample" not in body
    assert fake_server.headers[-1]["authorization"] == f"Bearer {KEY}"


async def test_unset_parameters_are_not_sent(
    lm: OpenAIClientLM, fake_server: FakeOpenAIServer
) -> None:
    await lm.chat(request())
    body = fake_server.requests[-1]
    assert set(body) == {"model", "messages"}


async def test_base_url_and_key_come_from_the_environment(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    lm = OpenAIClientLM("fake-model")
    assert lm.model == "openai/fake-model"
    response = await lm.chat(request())
    assert response.text.startswith("echo:")
    assert fake_server.headers[-1]["authorization"] == f"Bearer {KEY}"
    await lm.aclose()


def test_no_key_for_the_official_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIClientLM("openai/gpt-4.1-mini")


async def test_a_local_server_needs_no_key(fake_server: FakeOpenAIServer) -> None:
    lm = OpenAIClientLM("openai/fake-model", base_url=fake_server.base_url)
    assert (await lm.chat(request())).text
    await lm.aclose()


async def test_cost_from_the_price_table_and_unknown_price_is_none(
    fake_server: FakeOpenAIServer,
) -> None:
    saved = dict(_prices)
    try:
        register_price("openai/priced-model", 1.0, 2.0)
        priced = OpenAIClientLM(
            "openai/priced-model", base_url=fake_server.base_url, api_key=KEY, free=False
        )
        response = await priced.chat(request())
        assert response.cost_usd == pytest.approx((5 * 1.0 + 4 * 2.0) / 1e6)
        unknown = OpenAIClientLM(
            "openai/unpriced-model", base_url=fake_server.base_url, api_key=KEY, free=False
        )
        assert (await unknown.chat(request())).cost_usd is None
        await priced.aclose()
        await unknown.aclose()
    finally:
        _prices.clear()
        _prices.update(saved)


async def test_sdk_timeout_is_a_transport_error(fake_server: FakeOpenAIServer) -> None:
    lm = OpenAIClientLM("openai/m", base_url=fake_server.base_url, api_key=KEY, timeout=0.2)
    fake_server.inject(Fault("slow", delay=1.0))
    with pytest.raises(LMTransportError, match="timed out"):
        await lm.chat(request())
    await lm.aclose()


def test_repr_shows_no_key(fake_server: FakeOpenAIServer) -> None:
    lm = OpenAIClientLM("openai/m", base_url=fake_server.base_url, api_key=KEY)
    assert KEY not in repr(lm)
    assert KEY not in repr(vars(lm))


# --- the transport seam: an httpx2.AsyncClient with a mock transport, no server -----------------


def _mock(handler: httpx2.MockTransport) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=handler)


def _completion(content: str = "hi") -> dict[str, object]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


async def test_official_endpoint_gets_max_completion_tokens_and_a_price() -> None:
    seen: list[httpx2.Request] = []

    def handler(req: httpx2.Request) -> httpx2.Response:
        seen.append(req)
        return httpx2.Response(200, json=_completion())

    async with _mock(httpx2.MockTransport(handler)) as http:
        lm = OpenAIClientLM("openai/gpt-4.1-mini", api_key=KEY, http_client=http)
        response = await lm.chat(request(max_tokens=5))
    body = json.loads(seen[0].content)
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body
    assert seen[0].url.host == "api.openai.com"
    assert response.cost_usd == pytest.approx((3 * 0.40 + 1 * 1.60) / 1e6)


async def test_retry_after_ms_header_reaches_the_error() -> None:
    def handler(req: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            429, json={"error": {"message": "slow down"}}, headers={"retry-after-ms": "1500"}
        )

    async with _mock(httpx2.MockTransport(handler)) as http:
        lm = OpenAIClientLM("openai/m", base_url="http://127.0.0.1:9/v1", http_client=http)
        with pytest.raises(LMRateLimitError) as info:
            await lm.chat(request())
    assert info.value.retry_after == 1.5
    assert info.value.status == 429
    assert info.value.model == "openai/m"
    assert "slow down" in str(info.value)


async def test_a_non_json_reply_is_a_transport_error() -> None:
    def handler(req: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, text="<html>proxy error</html>", headers={"content-type": "text/html"}
        )

    async with _mock(httpx2.MockTransport(handler)) as http:
        lm = OpenAIClientLM("openai/m", base_url="http://127.0.0.1:9/v1", http_client=http)
        with pytest.raises(LMTransportError, match="not a chat completion"):
            await lm.chat(request())
