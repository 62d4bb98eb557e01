"""The one place where provider errors become :mod:`paretext.errors`.

Every client funnels its failures through :func:`error_for_status`, so the
retry policy sees one vocabulary whatever the provider: 401/403 →
``LMAuthError``; 429 → ``LMRateLimitError`` with ``retry_after``; 408/409,
5xx, timeouts, dropped connections and unreadable replies →
``LMTransportError``; a prompt too long → ``ContextWindowExceeded``; any other
4xx → ``LMBadRequestError``.  Messages are scrubbed of credentials, and the
mapped error is raised ``from None`` so the SDK's exception (whose request
carries the ``Authorization`` header) is not chained into tracebacks.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import openai

from ..errors import (
    ContextWindowExceeded,
    LMAuthError,
    LMBadRequestError,
    LMError,
    LMRateLimitError,
    LMTransportError,
)
from ._secrets import Secret, scrub

__all__ = [
    "error_for_status",
    "from_litellm",
    "from_openai",
    "is_context_overflow",
    "parse_retry_after",
]

_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length", "context_window_exceeded"}
_CONTEXT_TEXT = re.compile(
    r"context[ _-]?(length|window)|maximum context|prompt is too long|too many (input )?tokens"
    r"|exceeds? (the )?(model'?s? )?(context|max(imum)? (input )?tokens)|input is too long"
    r"|exceeds the available context size",  # llama.cpp's server
    re.IGNORECASE,
)
_MAX_MESSAGE = 500


def is_context_overflow(message: str, code: str | None = None) -> bool:
    """Whether a provider refusal means "the prompt does not fit"."""
    return (code or "") in _CONTEXT_CODES or bool(_CONTEXT_TEXT.search(message))


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def error_for_status(
    status: int | None,
    message: str,
    *,
    model: str,
    code: str | None = None,
    retry_after: float | None = None,
    request_id: str | None = None,
    secrets: Iterable[str | Secret | None] = (),
) -> LMError:
    """The paretext error for an HTTP-like failure; ``status=None`` means no reply came back."""
    text = scrub(message, secrets)[:_MAX_MESSAGE]
    where = f"{model}: HTTP {status}" if status is not None else model
    full = f"{where}: {text}"
    common: dict[str, Any] = {"model": model, "status": status, "request_id": request_id}
    if status is None or status in (408, 409) or status >= 500:
        return LMTransportError(full, **common)
    if status == 429:
        if is_context_overflow(text, code):  # some providers report "too many tokens" as 429
            return ContextWindowExceeded(full, **common)
        return LMRateLimitError(full, retry_after=retry_after, **common)
    if status in (401, 403):
        return LMAuthError(full, **common)
    if is_context_overflow(text, code):
        return ContextWindowExceeded(full, **common)
    return LMBadRequestError(full, **common)


def _body_message(body: object, fallback: str) -> tuple[str, str | None]:
    """The provider's own words and error code from an error body, when it has them."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            code = inner.get("code") or inner.get("type")
            if isinstance(message, str):
                return message, str(code) if code is not None else None
        elif isinstance(inner, str):
            return inner, None
    if isinstance(body, str) and body.strip():
        return body, None
    return fallback, None


def from_openai(
    exc: BaseException, *, model: str, secrets: Iterable[str | Secret | None] = ()
) -> LMError | None:
    """Map an ``openai`` SDK failure; ``None`` for anything that is not one (a bug: let it rise)."""
    if isinstance(exc, openai.APITimeoutError):
        return LMTransportError(f"{model}: request timed out", model=model)
    if isinstance(exc, openai.APIConnectionError):
        return error_for_status(
            None, f"connection failed: {exc.message}", model=model, secrets=secrets
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return LMTransportError(
            f"{model}: HTTP {exc.status_code}: the reply does not have the expected shape",
            model=model,
            status=exc.status_code,
        )
    if isinstance(exc, openai.APIStatusError):
        message, code = _body_message(exc.body, exc.message)
        return error_for_status(
            exc.status_code,
            message,
            model=model,
            code=code or exc.code,
            retry_after=parse_retry_after(exc.response.headers),
            request_id=exc.request_id,
            secrets=secrets,
        )
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return LMTransportError(f"{model}: the reply is not valid JSON", model=model)
    if isinstance(exc, openai.OpenAIError):
        return LMError(f"{model}: {scrub(str(exc), secrets)[:_MAX_MESSAGE]}", model=model)
    return None


# litellm exception class names -> what they mean.  Matched by name along the MRO so
# that this module never imports litellm (and tests can imitate it with fakes).
_LITELLM_NAMES: tuple[tuple[str, int | None], ...] = (
    ("ContextWindowExceededError", 400),
    ("AuthenticationError", 401),
    ("PermissionDeniedError", 403),
    ("RateLimitError", 429),
    ("Timeout", None),
    ("APIConnectionError", None),
    ("ServiceUnavailableError", 503),
    ("InternalServerError", 500),
    ("BadGatewayError", 502),
    ("NotFoundError", 404),
    ("UnprocessableEntityError", 422),
    ("UnsupportedParamsError", 400),
    ("ContentPolicyViolationError", 400),
    ("BadRequestError", 400),
)


def from_litellm(
    exc: BaseException, *, model: str, secrets: Iterable[str | Secret | None] = ()
) -> LMError | None:
    """Map a litellm failure; ``None`` for an exception that does not come from litellm."""
    if not type(exc).__module__.startswith("litellm"):
        return None
    names = [cls.__name__ for cls in type(exc).__mro__]
    status: int | None = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", "") or exc)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    retry_after = parse_retry_after(dict(headers) if headers else None)
    for name, implied in _LITELLM_NAMES:
        if name not in names:
            continue
        if name == "ContextWindowExceededError":
            return ContextWindowExceeded(
                f"{model}: {scrub(message, secrets)[:_MAX_MESSAGE]}", model=model, status=status
            )
        if implied is None:  # timeouts and connection failures: no reply
            return error_for_status(None, message, model=model, secrets=secrets)
        code = implied if not isinstance(status, int) or status < 400 else status
        return error_for_status(
            code, message, model=model, retry_after=retry_after, secrets=secrets
        )
    if isinstance(status, int) and status >= 400:
        return error_for_status(
            status, message, model=model, retry_after=retry_after, secrets=secrets
        )
    return LMError(f"{model}: {scrub(message, secrets)[:_MAX_MESSAGE]}", model=model, status=status)
