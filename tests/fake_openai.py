"""A scripted OpenAI-compatible chat-completions server for tests (127.0.0.1 only).

    with FakeOpenAI(text("Hello!"), tool_call("escalate_to_human", {"topic": "other"})) as api:
        ...  # point the client at api.base_url ("http://127.0.0.1:<port>/v1")
        api.requests[0].body["messages"]

It answers POST /v1/chat/completions and /chat/completions. Each request takes the next reply
of the queue (`api.push(...)` adds more); when the queue is empty, `respond(request)` decides
(a function of the recorded request); without one, the server answers 500 "no scripted reply
left", so an unexpected call fails loudly. A reply is plain content, a tool call, or an HTTP
error with an optional Retry-After header, each with an optional delay before answering.

Every request is recorded (path, headers, JSON body), in arrival order, and `max_in_flight`
counts the most requests the server was answering at once (for concurrency tests).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeOpenAI", "Recorded", "Reply", "error", "fake_openai", "text", "tool_call"]

PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    content: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    status: int = 200
    error_message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str | None = None  # default: "tool_calls" or "stop"


def text(content: str, *, delay_s: float = 0.0, finish_reason: str | None = None) -> Reply:
    """An assistant message with plain content."""
    return Reply(content=content, delay_s=delay_s, finish_reason=finish_reason)


def tool_call(
    name: str, arguments: Mapping[str, Any] | str, *, content: str | None = None,
    delay_s: float = 0.0,
) -> Reply:
    """An assistant message calling one tool; `arguments` is a dict (sent as JSON) or raw text."""
    raw = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
    call = {"id": "call_fake_0", "type": "function", "function": {"name": name, "arguments": raw}}
    return Reply(content=content, tool_calls=(call,), delay_s=delay_s)


def error(
    status: int, message: str = "fake server error", *, retry_after: float | None = None,
    headers: Mapping[str, str] | None = None, delay_s: float = 0.0,
) -> Reply:
    """An HTTP error in OpenAI's error shape, with an optional Retry-After (seconds)."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = f"{retry_after:g}"
    return Reply(status=status, error_message=message, headers=all_headers, delay_s=delay_s)


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []


Responder = Callable[[Recorded], Reply]


class FakeOpenAI:
    """The server; a context manager that starts it on an OS-chosen port and stops it."""

    def __init__(self, *replies: Reply, respond: Responder | None = None) -> None:
        self.respond = respond
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._queue: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting and inspection ------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def calls(self) -> int:
        return len(self.requests)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-openai", daemon=True,
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

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- answering (called from the server's threads) ----------------------------------------

    def _answer(self, request: Recorded) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            reply = self._queue.popleft() if self._queue else None
        try:
            if reply is None:
                reply = (self.respond(request) if self.respond
                         else error(500, "fake server: no scripted reply left"))
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.status >= 400:
                body = {"error": {"message": reply.error_message, "type": "server_error",
                                  "param": None, "code": str(reply.status)}}
                return reply.status, dict(reply.headers), body
            return 200, dict(reply.headers), self._completion(request, reply)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _completion(self, request: Recorded, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [dict(call) for call in reply.tool_calls]
        model = request.body.get("model", "fake") if isinstance(request.body, dict) else "fake"
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason or (
                    "tool_calls" if reply.tool_calls else "stop"),
            }],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
        timeout = 10  # an idle keep-alive connection is dropped after this

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path not in PATHS:
                self._send(404, {}, {"error": {"message": f"no route {path}", "type": "invalid"}})
                return
            try:
                body: Any = json.loads(raw or b"null")
            except json.JSONDecodeError:
                self._send(400, {}, {"error": {"message": "body is not JSON", "type": "invalid"}})
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra, payload = fake._answer(Recorded(path, headers, body))
            self._send(status, extra, payload)

        def _send(self, status: int, headers: Mapping[str, str], payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running, empty-scripted server; script it with `fake_openai.push(...)`."""
    with FakeOpenAI() as server:
        yield server
