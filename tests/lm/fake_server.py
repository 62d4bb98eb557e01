"""A small OpenAI-compatible chat server on 127.0.0.1 that fails on request.

It speaks just enough of ``POST /v1/chat/completions`` for the real ``openai``
SDK, answers deterministically (``echo: <last user message>``) and counts
tokens as whitespace-separated words, so tests can check usage exactly.
Faults are queued with :meth:`FakeOpenAIServer.inject` and consumed one per
request, or drawn at ``transient_fault_rate`` from a seeded generator.

Use the ``fake_server`` fixture, or ``with FakeOpenAIServer(...) as server``.
Only the loopback address is ever bound.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeOpenAIServer", "Fault", "fake_server", "words"]

FAULT_KINDS = (
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "slow",  # answers after ``delay`` seconds (past the client's timeout)
    "length",  # 200, truncated: finish_reason "length"
    "malformed",  # 200 with a body that is not valid JSON
    "unauthorized",  # 401 echoing the key it was sent (as some providers do)
    "context",  # 400 context_length_exceeded
    "bad_request",  # 400 invalid parameter
    "drop",  # closes the connection without answering
)


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: float | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}")


def words(text: str) -> int:
    """The fake tokenizer: one token per whitespace-separated word."""
    return len(text.split())


Responder = Callable[[dict[str, Any]], str]


def _echo(body: dict[str, Any]) -> str:
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    return f"echo: {users[-1] if users else ''}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait out a 40 ms delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        owner = self.server.owner
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "request body is not JSON"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        fault = owner._record(body, {k.lower(): v for k, v in self.headers.items()})
        if owner.latency:
            time.sleep(owner.latency)
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if owner.api_key is not None and key != owner.api_key and fault is None:
            fault = Fault("unauthorized")
        if fault is None:
            self._complete(body, truncated=False)
        else:
            self._fail(fault, body, key)

    def _fail(self, fault: Fault, body: dict[str, Any], key: str) -> None:
        owner = self.server.owner
        owner._count(fault.kind)
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            error = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}
            self._json(429, {"error": error}, headers)
        elif fault.kind == "server_error":
            self._json(500, {"error": {"message": "The server had an error", "type": "server"}})
        elif fault.kind == "slow":
            time.sleep(fault.delay)
            self._complete(body, truncated=False, count=False)
        elif fault.kind == "length":
            self._complete(body, truncated=True)
        elif fault.kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-1", "choices": [{"index": 0, "message": ', {})
        elif fault.kind == "unauthorized":
            error = {
                "message": f"Incorrect API key provided: {key}.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            self._json(401, {"error": error})
        elif fault.kind == "context":
            error = {
                "message": "This model's maximum context length is 8192 tokens. "
                "However, your messages resulted in 9000 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
            self._json(400, {"error": error})
        elif fault.kind == "bad_request":
            error = {
                "message": "Invalid value for 'temperature': must be at most 2.",
                "type": "invalid_request_error",
                "code": "invalid_value",
            }
            self._json(400, {"error": error})
        elif fault.kind == "drop":
            self.close_connection = True

    def _complete(self, body: dict[str, Any], *, truncated: bool, count: bool = True) -> None:
        owner = self.server.owner
        text = owner.responder(body)
        if truncated:
            text = " ".join(text.split()[: max(1, int(body.get("max_tokens") or 2))])
        prompt = sum(words(m.get("content", "")) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": words(text),
            "total_tokens": prompt + words(text),
        }
        if count:
            owner._count("ok" if not truncated else "length")
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "length" if truncated else "stop",
            "logprobs": None,
        }
        reply = {
            "id": f"chatcmpl-{owner.total_requests}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [choice],
            "usage": usage,
        }
        self._json(200, reply, {"x-request-id": f"req-{owner.total_requests}"})

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers or {})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    owner: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # client hang-ups
        pass


class FakeOpenAIServer:
    """The server; ``base_url`` is what an OpenAI client needs."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str | None = None,
        transient_fault_rate: float = 0.0,
        seed: int = 0,
        responder: Responder = _echo,
    ) -> None:
        self.latency = latency
        self.api_key = api_key
        self.transient_fault_rate = transient_fault_rate
        self.responder = responder
        self._rng = random.Random(seed)
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.outcomes: Counter[str] = Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def total_requests(self) -> int:
        return len(self.requests)

    def inject(self, *faults: Fault | str) -> None:
        """Queue faults for the next requests, one each, in order."""
        with self._lock:
            self._faults.extend(f if isinstance(f, Fault) else Fault(f) for f in faults)

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> Fault | None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self._faults:
                return self._faults.popleft()
            if self.transient_fault_rate and self._rng.random() < self.transient_fault_rate:
                kind = self._rng.choice(("rate_limit", "server_error", "malformed", "drop"))
                return Fault(kind, retry_after=0.01 if kind == "rate_limit" else None)
            return None

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1

    def start(self) -> FakeOpenAIServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    """A started :class:`FakeOpenAIServer`, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
