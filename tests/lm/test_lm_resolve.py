"""resolve_lm: dispatch by model string, composition order, shared limiters, defaults; prices."""

from __future__ import annotations

import pytest
from fake_server import FakeOpenAIServer

from paretext.errors import ConfigError
from paretext.lm import (
    LM,
    CachedLM,
    ChatRequest,
    ComposedLM,
    DefaultsLM,
    LimitedLM,
    LMResponse,
    OpenAIClientLM,
    RetryingLM,
    ScriptedLM,
    TimeoutLM,
    Usage,
    cost_usd,
    get_price,
    register_price,
    resolve_lm,
    shared_limiters,
)
from paretext.lm._local import _LLAMA_CPP, LocalLM
from paretext.lm._pricing import _prices


def layers(lm: LM) -> list[type]:
    """The wrapper types from the outside in."""
    assert isinstance(lm, ComposedLM)
    found: list[type] = []
    current: object = lm._outer
    while True:
        found.append(type(current))
        inner = getattr(current, "inner", None)
        if inner is None:
            return found
        current = inner


def test_openai_string_composes_every_layer(fake_server: FakeOpenAIServer) -> None:
    lm = resolve_lm("openai/fake", base_url=fake_server.base_url, temperature=0.0, cache=Store())
    assert layers(lm) == [DefaultsLM, CachedLM, RetryingLM, LimitedLM, TimeoutLM, OpenAIClientLM]
    assert lm.model == "openai/fake"
    assert isinstance(lm, ComposedLM) and isinstance(lm.client, OpenAIClientLM)
    assert lm.retrying.policy.max_attempts == 5


def test_bare_openai_names_and_unknown_strings() -> None:
    lm = resolve_lm("gpt-4.1-mini", api_key="sk-test-abcdefgh")
    assert isinstance(lm, ComposedLM) and lm.client.model == "openai/gpt-4.1-mini"
    with pytest.raises(ConfigError, match="cannot tell the provider"):
        resolve_lm("claude-sonnet")


def test_an_lm_instance_is_wrapped_and_a_composed_one_returned_as_is() -> None:
    scripted = ScriptedLM(lambda r: "ok", model="scripted")
    lm = resolve_lm(scripted, timeout=None)
    assert layers(lm) == [RetryingLM, LimitedLM, ScriptedLM]
    assert resolve_lm(lm) is lm
    with pytest.raises(ConfigError):
        resolve_lm(42)  # type: ignore[arg-type]


def test_same_model_shares_one_limiter_that_only_tightens(fake_server: FakeOpenAIServer) -> None:
    task = resolve_lm("openai/fake", base_url=fake_server.base_url, concurrency=32, rpm=100)
    reflection = resolve_lm("openai/fake", base_url=fake_server.base_url, concurrency=8)
    other = resolve_lm("openai/other", base_url=fake_server.base_url)
    assert isinstance(task, ComposedLM) and isinstance(reflection, ComposedLM)
    assert isinstance(other, ComposedLM)
    assert task.limiter is reflection.limiter is not other.limiter
    assert (task.limiter.concurrency, task.limiter.rpm) == (8, 100)
    assert len(shared_limiters._limiters) == 2


async def test_defaults_fill_only_what_the_request_leaves_unset() -> None:
    seen: list[ChatRequest] = []

    def record(request: ChatRequest) -> str:
        seen.append(request)
        return "ok"

    lm = resolve_lm(ScriptedLM(record, model="s"), temperature=0.7, max_tokens=64)
    await lm.chat(ChatRequest.of([{"role": "user", "content": "a"}]))
    await lm.chat(ChatRequest.of([{"role": "user", "content": "b"}], temperature=0.0))
    assert (seen[0].temperature, seen[0].max_tokens) == (0.7, 64)
    assert (seen[1].temperature, seen[1].max_tokens) == (0.0, 64)


async def test_cache_key_includes_the_defaults() -> None:
    store = Store()
    calls = 0

    def answer(request: ChatRequest) -> str:
        nonlocal calls
        calls += 1
        return f"t={request.temperature}"

    inner = ScriptedLM(answer, model="s")
    request = ChatRequest.of([{"role": "user", "content": "q"}])
    cold = resolve_lm(inner, temperature=0.0, cache=store, limiter=None)
    hot = resolve_lm(inner, temperature=1.0, cache=store)
    assert (await cold.chat(request)).text == "t=0.0"
    assert (await hot.chat(request)).text == "t=1.0"  # not served from the t=0.0 entry
    assert (await cold.chat(request)).cache_hit
    assert calls == 2


def test_local_strings_resolve_to_the_in_process_model() -> None:
    if not _LLAMA_CPP.available():
        with pytest.raises(ConfigError, match=r"paretext\[local\]"):
            resolve_lm("local")
        return
    lm = resolve_lm("local")
    assert isinstance(lm, ComposedLM) and isinstance(lm.client, LocalLM)
    assert lm.model == "local/qwen2.5-coder-0.5b"
    assert TimeoutLM not in layers(lm)  # an in-process call cannot be interrupted
    assert resolve_lm("local/qwen2.5-coder-0.5b").client is lm.client  # type: ignore[attr-defined]
    named = resolve_lm("local/./models/tiny.gguf")
    assert named.model == "local/tiny"


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ConfigError):
        resolve_lm(ScriptedLM(lambda r: "x"), max_retries=-1)


class Store:
    """An in-memory ResponseStore."""

    def __init__(self) -> None:
        self.rows: dict[str, LMResponse] = {}

    def get_lm_response(self, key: str) -> LMResponse | None:
        return self.rows.get(key)

    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None:
        self.rows[key] = response


# --- prices ---------------------------------------------------------------------------------


def test_price_lookup_ignores_prefix_case_and_snapshot_dates() -> None:
    price = get_price("openai/GPT-4.1-mini-2025-04-14")
    assert price is not None and price.input_per_million == 0.40
    assert get_price("anthropic/claude-sonnet-4-5-20250929") == get_price("claude-sonnet-4-5")
    assert get_price("openai/never-heard-of-it") is None
    assert cost_usd("openai/never-heard-of-it", Usage(10, 10)) is None


def test_register_price_extends_and_overrides() -> None:
    saved = dict(_prices)
    try:
        register_price("mistral/mistral-small", 0.1, 0.3)
        assert cost_usd("mistral/mistral-small", Usage(1_000_000, 1_000_000)) == pytest.approx(0.4)
        register_price("gpt-4.1-mini", 1.0, 1.0)
        assert cost_usd("openai/gpt-4.1-mini", Usage(500_000, 500_000)) == pytest.approx(1.0)
        with pytest.raises(ConfigError):
            register_price("x", -1, 0)
    finally:
        _prices.clear()
        _prices.update(saved)


def test_default_aliases_share_one_local_model() -> None:
    from paretext.lm._local import shared_local_lm
    from paretext.lm._models import DEFAULT_MODEL

    lm = shared_local_lm(DEFAULT_MODEL)  # built lazily: no weights are loaded here
    assert shared_local_lm("default") is lm and shared_local_lm("") is lm
    assert shared_local_lm("default").model == f"local/{DEFAULT_MODEL}"
