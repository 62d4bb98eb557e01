"""An API key from the environment shows in no exception, repr, traceback, log or record."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import traceback

import pytest
from fake_server import FakeOpenAIServer, Fault

from paretext.errors import LMAuthError, LMError
from paretext.lm import (
    CachedLM,
    ChatRequest,
    LMResponse,
    OpenAIClientLM,
    RetryPolicy,
    Secret,
    resolve_lm,
)
from paretext.lm._secrets import scrub

KEY = "sk-envsecret-9f8e7d6c5b4a3210ZYXW"


class RecordingStore:
    """A response store that keeps everything it is handed, as the run store would write it."""

    def __init__(self) -> None:
        self.rows: list[str] = []

    def get_lm_response(self, key: str) -> LMResponse | None:
        return None

    def put_lm_response(
        self, key: str, request: ChatRequest, response: LMResponse, *, role: str
    ) -> None:
        self.rows.append(json.dumps([key, request.to_json(), repr(response), role]))


def texts_of(error: BaseException) -> list[str]:
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return [str(error), repr(error), rendered, repr(vars(error))]


async def test_env_key_appears_nowhere(
    fake_server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx2's included
    store = RecordingStore()
    lm = resolve_lm("openai/fake", timeout=0.3, max_retries=1, cache=store)
    seen: list[str] = [repr(lm)]

    ok = await lm.chat(ChatRequest.of([{"role": "user", "content": "hello"}]))
    seen.append(repr(ok))
    # The server echoes the key it was sent in its 401 body; the others fail in other ways.
    faults: list[tuple[Fault | str, ...]] = [
        ("unauthorized",),
        ("server_error", "server_error"),
        (Fault("slow", delay=1.0), Fault("slow", delay=1.0)),
        ("malformed", "malformed"),
        ("drop", "drop"),
        ("context",),
    ]
    for i, batch in enumerate(faults):
        fake_server.inject(*batch)
        with pytest.raises(LMError) as info:
            await lm.chat(ChatRequest.of([{"role": "user", "content": f"q{i}"}]))
        seen += texts_of(info.value)
    assert fake_server.outcomes["unauthorized"] == 1
    await lm.aclose()  # type: ignore[attr-defined]

    # A refused connection (nothing listens on the port any more).
    fake_server.stop()
    closed = OpenAIClientLM("openai/fake", timeout=0.5)
    with pytest.raises(LMError) as refused:
        await closed.chat(ChatRequest.of([{"role": "user", "content": "x"}]))
    seen += texts_of(refused.value)

    seen += [record.getMessage() for record in caplog.records]
    seen += [str(record.args) for record in caplog.records]
    seen += store.rows
    assert store.rows, "the successful call was recorded"
    leaks = [text for text in seen if KEY in text]
    assert not leaks, leaks[:3]


async def test_auth_error_is_not_chained_to_the_sdk_exception(
    fake_server: FakeOpenAIServer,
) -> None:
    lm = OpenAIClientLM("openai/fake", base_url=fake_server.base_url, api_key=KEY)
    fake_server.inject("unauthorized")
    with pytest.raises(LMAuthError) as info:
        await lm.chat(ChatRequest.of([{"role": "user", "content": "x"}]))
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert "Incorrect API key provided: ***" in str(info.value)
    await lm.aclose()


async def test_no_exception_in_the_chain_holds_the_key(fake_server: FakeOpenAIServer) -> None:
    """A logger printing the whole chain (``__context__`` included) must not print the key."""
    lm = OpenAIClientLM("openai/fake", base_url=fake_server.base_url, api_key=KEY)
    fake_server.inject("unauthorized")
    with pytest.raises(LMAuthError) as info:
        await lm.chat(ChatRequest.of([{"role": "user", "content": "x"}]))
    await lm.aclose()
    assert info.value.__context__ is None
    chain, exc = [], info.value  # type: ignore[var-annotated]
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    printed = "".join(
        traceback.format_exception(type(info.value), info.value, info.value.__traceback__,
                                   chain=True)
    )
    assert KEY not in printed and all(KEY not in repr(vars(e)) for e in chain)


def test_secret_never_prints_or_pickles() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret) and KEY not in str(secret) and KEY not in f"{secret}"
    assert secret.reveal() == KEY
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_scrub_masks_known_and_key_shaped_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plainvalue-without-shape")
    text = "a plainvalue-without-shape b sk-live-abcdef123456 c Bearer abc.def-123456 d"
    cleaned = scrub(text, [Secret("xyz-secret-1")])
    assert "plainvalue" not in cleaned and "sk-live" not in cleaned and "abc.def" not in cleaned
    assert cleaned.startswith("a *** b")


def test_policy_has_no_secret_fields() -> None:
    assert "key" not in repr(RetryPolicy()).lower()


def test_cached_lm_key_ignores_credentials(fake_server: FakeOpenAIServer) -> None:
    one = OpenAIClientLM("openai/fake", base_url=fake_server.base_url, api_key="sk-one-111111111")
    two = OpenAIClientLM("openai/fake", base_url=fake_server.base_url, api_key="sk-two-222222222")
    store = RecordingStore()
    request = ChatRequest.of([{"role": "user", "content": "same"}])
    assert CachedLM(one, store, role="t").model == CachedLM(two, store, role="t").model
    assert request.cache_key(one.model) == request.cache_key(two.model)
