"""The single mapping from provider failures to paretext.errors, litellm included (with fakes)."""

from __future__ import annotations

import subprocess
import sys
import types
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from paretext.errors import (
    ConfigError,
    ContextWindowExceeded,
    LMAuthError,
    LMBadRequestError,
    LMError,
    LMRateLimitError,
    LMTransportError,
)
from paretext.lm import ChatRequest, LiteLLMLM, Usage
from paretext.lm._errors import error_for_status, from_litellm, parse_retry_after
from paretext.lm._lazy import LazyImport


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (None, "connection refused", LMTransportError),
        (401, "bad key", LMAuthError),
        (403, "forbidden", LMAuthError),
        (408, "request timeout", LMTransportError),
        (409, "conflict", LMTransportError),
        (429, "slow down", LMRateLimitError),
        (400, "Requested tokens (9000) exceed context window of 4096", ContextWindowExceeded),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", ContextWindowExceeded),
        (413, "input is too long for requested model", ContextWindowExceeded),
        (400, "Invalid value for 'temperature'", LMBadRequestError),
        (404, "model not found", LMBadRequestError),
        (422, "unprocessable", LMBadRequestError),
        (500, "oops", LMTransportError),
        (503, "overloaded", LMTransportError),
    ],
)
def test_status_mapping(status: int | None, message: str, expected: type[LMError]) -> None:
    error = error_for_status(status, message, model="openai/m", retry_after=3.0)
    assert type(error) is expected
    assert error.model == "openai/m" and error.status == status
    assert message in str(error)
    assert error.retryable == (expected in (LMTransportError, LMRateLimitError))


def test_context_code_wins_over_wording() -> None:
    error = error_for_status(400, "bad", model="m", code="context_length_exceeded")
    assert isinstance(error, ContextWindowExceeded)


def test_rate_limit_carries_retry_after() -> None:
    error = error_for_status(429, "x", model="m", retry_after=2.5, request_id="r1")
    assert isinstance(error, LMRateLimitError)
    assert error.retry_after == 2.5 and error.request_id == "r1"


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    when = datetime(2030, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    now = datetime(2030, 1, 1, 0, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after({"retry-after": format_datetime(when, usegmt=True)}, now=now) == 10
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_messages_are_scrubbed_and_capped() -> None:
    secret = "sk-proj-abcdefghijklmnop1234"
    error = error_for_status(401, f"Incorrect API key provided: {secret}" + "x" * 2000, model="m")
    assert secret not in str(error)
    assert len(str(error)) < 600


# --- litellm, imitated: same class names, module "litellm.exceptions" ------------------------


def _litellm_error(name: str, *, status: int | None = None, base: type = Exception) -> type:
    def init(self: Any, message: str, headers: dict[str, str] | None = None) -> None:
        Exception.__init__(self, message)
        self.message = message
        if status is not None:
            self.status_code = status
        self.response = types.SimpleNamespace(headers=headers or {})

    return type(name, (base,), {"__module__": "litellm.exceptions", "__init__": init})


BadRequest = _litellm_error("BadRequestError", status=400)
ContextWindow = _litellm_error("ContextWindowExceededError", status=400, base=BadRequest)
Auth = _litellm_error("AuthenticationError", status=401)
RateLimit = _litellm_error("RateLimitError", status=429)
Timeout = _litellm_error("Timeout", status=408)
Connection = _litellm_error("APIConnectionError", status=500)
Unavailable = _litellm_error("ServiceUnavailableError", status=503)
Generic = _litellm_error("APIError", status=502)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ContextWindow("prompt too long"), ContextWindowExceeded),
        (BadRequest("maximum context length is 8192 tokens"), ContextWindowExceeded),
        (BadRequest("invalid temperature"), LMBadRequestError),
        (Auth("invalid x-api-key"), LMAuthError),
        (RateLimit("overloaded", {"retry-after": "4"}), LMRateLimitError),
        (Timeout("timed out"), LMTransportError),
        (Connection("reset"), LMTransportError),
        (Unavailable("try later"), LMTransportError),
        (Generic("bad gateway"), LMTransportError),
    ],
)
def test_litellm_mapping(exc: Exception, expected: type[LMError]) -> None:
    error = from_litellm(exc, model="anthropic/claude-x")
    assert type(error) is expected
    assert error is not None and error.model == "anthropic/claude-x"
    if isinstance(error, LMRateLimitError):
        assert error.retry_after == 4.0


def test_non_litellm_exceptions_are_not_mapped() -> None:
    assert from_litellm(KeyError("bug"), model="m") is None


def fake_litellm(behaviour: Exception | None = None) -> Any:
    calls: list[dict[str, Any]] = []

    async def acompletion(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if behaviour is not None:
            raise behaviour
        message = types.SimpleNamespace(content="bonjour")
        return types.SimpleNamespace(
            choices=[types.SimpleNamespace(message=message, finish_reason="stop")],
            usage=types.SimpleNamespace(prompt_tokens=10, completion_tokens=2),
        )

    def completion_cost(completion_response: Any) -> float:
        raise ValueError("model not in litellm's table")

    return types.SimpleNamespace(
        acompletion=acompletion, completion_cost=completion_cost, calls=calls
    )


def ask(**kwargs: Any) -> ChatRequest:
    return ChatRequest.of([{"role": "user", "content": "hello"}], **kwargs)


async def test_litellm_client_sends_parameters_and_prices() -> None:
    module = fake_litellm()
    lm = LiteLLMLM("anthropic/claude-sonnet-4-5", api_key="sk-ant-secret-1234567", litellm=module)
    response = await lm.chat(ask(temperature=0.0, max_tokens=9, seed=1, sample=2))
    assert response.text == "bonjour" and response.usage == Usage(10, 2)
    assert response.cost_usd == pytest.approx((10 * 3.0 + 2 * 15.0) / 1e6)
    (call,) = module.calls
    assert call["model"] == "anthropic/claude-sonnet-4-5"
    assert (call["temperature"], call["max_tokens"], call["seed"]) == (0.0, 9, 1)
    assert call["num_retries"] == 0 and call["drop_params"] is True
    assert "sample" not in call
    assert "sk-ant-secret-1234567" not in repr(lm)


async def test_litellm_unknown_price_is_none() -> None:
    lm = LiteLLMLM("gemini/some-new-model", litellm=fake_litellm())
    assert (await lm.chat(ask())).cost_usd is None


async def test_litellm_errors_are_mapped_without_the_key() -> None:
    key = "sk-ant-secret-7654321abc"
    lm = LiteLLMLM("anthropic/m", api_key=key, litellm=fake_litellm(Auth(f"invalid key {key}")))
    with pytest.raises(LMAuthError) as info:
        await lm.chat(ask())
    assert key not in str(info.value) and info.value.__cause__ is None


def test_missing_extra_names_the_install_command() -> None:
    lazy = LazyImport("paretext_no_such_module", "needs it: pip install 'paretext[litellm]'")
    with pytest.raises(ConfigError, match=r"pip install 'paretext\[litellm\]'"):
        lazy.get()
    assert not lazy.available()


def test_resolving_a_litellm_model_without_litellm_fails_early() -> None:
    # litellm may be installed (the dspy extra brings it): hide it from a fresh interpreter.
    code = (
        "import sys; sys.modules['litellm'] = None\n"
        "from paretext.lm import resolve_lm\n"
        "try:\n    resolve_lm('anthropic/claude-sonnet-4-5')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.startswith("ConfigError") and "paretext[litellm]" in done.stdout, done
