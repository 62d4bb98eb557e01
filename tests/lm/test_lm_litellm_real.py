"""LiteLLMLM through the real litellm against the fake server (skipped without the extra)."""

from __future__ import annotations

import pytest
from fake_server import FakeOpenAIServer, Fault

from paretext.errors import LMAuthError, LMRateLimitError, LMTransportError
from paretext.lm import ChatRequest, LiteLLMLM, Usage
from paretext.lm._litellm import _LITELLM

pytestmark = [
    pytest.mark.skipif(
        not _LITELLM.available(),
        reason="litellm is not installed (pip install 'paretext[litellm]')",
    ),
    # litellm's own imports trip pydantic and deprecation warnings: not ours to fix.
    pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning"),
]

KEY = "sk-litellm-0123456789abcdef"


def ask() -> ChatRequest:
    return ChatRequest.of([{"role": "user", "content": "say hi"}], max_tokens=8)


async def test_completion_and_error_mapping_through_litellm(fake_server: FakeOpenAIServer) -> None:
    lm = LiteLLMLM("openai/fake", base_url=fake_server.base_url, api_key=KEY, timeout=2.0)
    response = await lm.chat(ask())
    assert response.text == "echo: say hi" and response.usage == Usage(2, 3)
    assert fake_server.requests[-1]["max_tokens"] == 8
    fake_server.inject(Fault("rate_limit", retry_after=3))
    with pytest.raises(LMRateLimitError) as limited:
        await lm.chat(ask())
    assert limited.value.retry_after == 3.0
    fake_server.inject("server_error")
    with pytest.raises(LMTransportError):
        await lm.chat(ask())
    fake_server.inject("unauthorized")
    with pytest.raises(LMAuthError) as denied:
        await lm.chat(ask())
    assert KEY not in str(denied.value) and KEY not in repr(denied.value)
