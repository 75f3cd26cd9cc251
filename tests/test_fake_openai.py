"""The test server itself (tests/fake_openai.py): shapes, scripting and recording."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from fake_openai import FakeOpenAI, Recorded, error, text, tool_call

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def post(url: str, body: object, headers: dict[str, str] | None = None):
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with DIRECT.open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, dict(failure.headers), json.loads(failure.read())


def ask(api: FakeOpenAI, content: str = "hi", path: str = "/v1/chat/completions", **headers):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
    return post(api.url + path, body, headers)


def test_plain_content_in_openai_shape():
    with FakeOpenAI(text("Hello!")) as api:
        status, _, body = ask(api, Authorization="Bearer sk-x")
        assert api.base_url.startswith("http://127.0.0.1:") and api.base_url.endswith("/v1")
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["id"] and isinstance(body["created"], int)
    assert body["model"] == "gpt-4o-mini"
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "Hello!"}
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_tool_call_reply():
    with FakeOpenAI(tool_call("escalate_to_human", {"topic": "other", "reason": "r"})) as api:
        _, _, body = ask(api)
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    (call,) = message["tool_calls"]
    assert call["type"] == "function" and call["id"]
    assert call["function"]["name"] == "escalate_to_human"
    assert json.loads(call["function"]["arguments"]) == {"topic": "other", "reason": "r"}


def test_error_with_retry_after_then_queue_then_respond_then_default_500():
    with FakeOpenAI(error(429, "slow down", retry_after=2), text("one")) as api:
        status, headers, body = ask(api)
        assert status == 429
        assert headers["Retry-After"] == "2"
        assert body["error"]["message"] == "slow down"
        assert ask(api, path="/chat/completions")[2]["choices"][0]["message"]["content"] == "one"
        status, _, body = ask(api)
        assert status == 500 and "no scripted reply" in body["error"]["message"]
        api.respond = lambda request: text(f"echo {request.messages[-1]['content']}")
        assert ask(api, "ping")[2]["choices"][0]["message"]["content"] == "echo ping"
        api.push(text("queued first"))
        assert ask(api)[2]["choices"][0]["message"]["content"] == "queued first"


def test_records_every_request():
    with FakeOpenAI(text("a"), text("b")) as api:
        ask(api, "first", Authorization="Bearer one")
        ask(api, "second", path="/chat/completions")
        status, _, _ = post(api.url + "/v1/embeddings", {"input": "x"})
    assert status == 404
    assert api.calls == 2
    first, second = api.requests
    assert isinstance(first, Recorded)
    assert first.path == "/v1/chat/completions" and second.path == "/chat/completions"
    assert first.headers["authorization"] == "Bearer one"
    assert first.body["model"] == "gpt-4o-mini"
    assert [r.messages[-1]["content"] for r in api.requests] == ["first", "second"]


def test_answers_concurrently_and_counts_requests_in_flight():
    both_arrived = threading.Barrier(2, timeout=10)

    def respond(request: Recorded):
        both_arrived.wait()  # only returns once two requests are being answered at once
        return text("together")

    with FakeOpenAI(respond=respond) as api, ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: ask(api, str(i)), range(2)))
    assert [status for status, _, _ in results] == [200, 200]
    assert api.max_in_flight == 2


def test_stopped_server_refuses_connections():
    api = FakeOpenAI(text("x")).start()
    url = api.url
    api.stop()
    with pytest.raises(OSError):
        post(url + "/v1/chat/completions", {})
