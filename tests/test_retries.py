"""Transient provider faults are retried (429, 5xx, connection errors), the rest are not, and
no retry or final error ever shows the API key."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import math
import socket
import threading

import httpx
import pytest
from fake_openai import FakeOpenAI, Recorded, Reply, error, text
from storekit import case

from harness.agent.loop import Agent
from harness.errors import ModelError
from harness.pipeline.runner import run_cases
from harness.providers.client import CallPolicy, ModelClient, is_transient, retry_after_s
from harness.store.loading import load_store, load_suites

KEY = "sk-retry-secret-9876543210zyx"
MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "How long do I have to return a kettle?"}]


def policy(retries: int = 3) -> CallPolicy:
    return CallPolicy(timeout_s=10, retries=retries, backoff_s=0.001, max_backoff_s=0.01)


@pytest.fixture
def provider(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake_openai


def ask(client: ModelClient):
    return asyncio.run(client.complete(MODEL, MESSAGES, tools=[]))


def client_at(base_url: str, retries: int = 3) -> ModelClient:
    return ModelClient(policy=policy(retries), api_base=base_url)


# -- against the fake server -------------------------------------------------------------------


def test_rate_limit_with_retry_after_is_retried_once(provider: FakeOpenAI):
    provider.push(error(429, "slow down", retry_after=0), text("Thirty days."))
    client = client_at(provider.base_url)
    done = ask(client)
    assert done.content == "Thirty days."
    assert provider.calls == 2
    assert (client.stats.requests, client.stats.retries) == (2, 1)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(provider: FakeOpenAI, status: int):
    provider.push(error(status, "upstream hiccup"), error(status, "again"), text("Recovered."))
    client = client_at(provider.base_url)
    assert ask(client).content == "Recovered."
    assert provider.calls == 3
    assert (client.stats.requests, client.stats.retries) == (3, 2)


@pytest.mark.parametrize("status", [400, 401])
def test_client_errors_are_not_retried(provider: FakeOpenAI, status: int):
    provider.push(error(status, "you sent something wrong"), text("never asked for"))
    client = client_at(provider.base_url)
    with pytest.raises(ModelError, match="after 1 attempt"):
        ask(client)
    assert provider.calls == 1
    assert (client.stats.requests, client.stats.retries) == (1, 0)


def test_retries_stop_after_the_policy_and_the_error_names_the_attempts(provider: FakeOpenAI):
    provider.respond = lambda request: error(503, "overloaded")
    client = client_at(provider.base_url, retries=2)
    with pytest.raises(ModelError, match=r"after 3 attempt\(s\)") as caught:
        ask(client)
    assert provider.calls == 3
    assert (client.stats.requests, client.stats.retries) == (3, 2)
    assert caught.value.args[0].startswith(MODEL)


def test_the_final_error_does_not_contain_the_api_key(provider: FakeOpenAI):
    provider.respond = lambda request: error(
        500, f"upstream failed for key {KEY} (Authorization: Bearer {KEY})")
    client = client_at(provider.base_url, retries=2)
    with pytest.raises(ModelError) as caught:
        ask(client)
    message = str(caught.value)
    assert provider.calls == 3
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in provider.requests)
    assert KEY not in message
    assert "9876543210zyx" not in message
    assert "Bearer sk-" not in message
    assert "after 3 attempt(s)" in message


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_connection_refused_is_retried_then_an_error_naming_the_attempts(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = client_at(f"http://127.0.0.1:{closed_port()}/v1", retries=2)
    with pytest.raises(ModelError, match=r"after 3 attempt\(s\)") as caught:
        ask(client)
    assert (client.stats.requests, client.stats.retries) == (3, 2)
    assert KEY not in str(caught.value)


# -- retry_after_s and is_transient ------------------------------------------------------------


def with_headers(headers: dict[str, str]) -> Exception:
    exc = Exception("rate limited")
    exc.response = httpx.Response(429, headers=headers)  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize("value, seconds", [
    ("0", 0.0), ("3", 3.0), ("1.5", 1.5), ("  7 ", 7.0), ("-4", 0.0),
])
def test_retry_after_in_seconds(value: str, seconds: float):
    assert retry_after_s(with_headers({"Retry-After": value})) == seconds


def test_retry_after_as_an_http_date():
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    waited = retry_after_s(with_headers({"Retry-After": email.utils.format_datetime(later,
                                                                                    usegmt=True)}))
    assert waited is not None and 100 < waited <= 120
    past = email.utils.format_datetime(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), usegmt=True)
    assert retry_after_s(with_headers({"Retry-After": past})) == 0.0


@pytest.mark.parametrize("past", [
    "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate, the preferred form
    "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850 form: recipients must accept it (RFC 9110)
    "Sun Nov  6 08:49:37 1994",  # asctime form: likewise, and it carries no zone
    "Sun, 06 Nov 1994 08:49:37 -0000",  # RFC 5322 "zone unknown"
])
def test_retry_after_accepts_every_http_date_form(past: str):
    assert retry_after_s(with_headers({"Retry-After": past})) == 0.0


def test_retry_after_is_never_infinite():
    for value in ("inf", "Infinity", "1e400"):
        waited = retry_after_s(with_headers({"Retry-After": value}))
        assert waited is None or math.isfinite(waited), (value, waited)


def test_a_rate_limit_with_an_asctime_retry_after_is_still_retried(provider: FakeOpenAI):
    provider.push(error(429, "slow down", headers={"Retry-After": "Sun Nov  6 08:49:37 1994"}),
                  text("Thirty days."))
    client = client_at(provider.base_url)
    assert ask(client).content == "Thirty days."
    assert provider.calls == 2
    assert client.stats.retries == 1


@pytest.mark.parametrize("headers", [{}, {"Retry-After": ""}, {"Retry-After": "soon"}])
def test_retry_after_absent_or_unreadable_is_none(headers):
    assert retry_after_s(with_headers(headers)) is None


def test_retry_after_from_litellm_response_headers_and_without_any():
    exc = Exception("rate limited")
    exc.litellm_response_headers = {"retry-after": "2"}  # type: ignore[attr-defined]
    assert retry_after_s(exc) == 2.0
    assert retry_after_s(ValueError("no response at all")) is None


def status(code: int) -> Exception:
    exc = Exception(f"HTTP {code}")
    exc.status_code = code  # type: ignore[attr-defined]
    return exc


class APIConnectionError(Exception):
    pass


class APITimeoutError(Exception):
    pass


class LooksLikeARateLimit(Exception):
    pass


@pytest.mark.parametrize("exc, transient", [
    (status(408), True), (status(409), True), (status(429), True), (status(500), True),
    (status(502), True), (status(503), True), (status(504), True), (status(529), True),
    (status(400), False), (status(401), False), (status(403), False), (status(404), False),
    (status(422), False),
    (APIConnectionError("refused"), True), (APITimeoutError("slow"), True),
    (TimeoutError(), True),
    (httpx.ConnectError("refused"), True), (httpx.ReadTimeout("slow"), True),
    (httpx.RemoteProtocolError("dropped"), True),
    (ValueError("bad"), False), (KeyError("x"), False), (LooksLikeARateLimit(), False),
])
def test_is_transient(exc: Exception, transient: bool):
    assert is_transient(exc) is transient


def test_real_litellm_exceptions_are_classified(provider: FakeOpenAI):
    from harness.providers.client import litellm_module

    litellm = litellm_module()
    response = httpx.Response(429, request=httpx.Request("POST", provider.base_url))
    limited = litellm.RateLimitError("slow down", llm_provider="openai", model=MODEL,
                                     response=response)
    denied = litellm.AuthenticationError("bad key", llm_provider="openai", model=MODEL)
    assert is_transient(limited) is True
    assert is_transient(denied) is False


# -- a long run against a flaky provider -------------------------------------------------------


def flaky_responder() -> tuple[object, dict[str, int]]:
    """Every third request fails, alternately with 429 (Retry-After: 0) and 500."""
    counter, lock, failures = itertools.count(1), threading.Lock(), {"429": 0, "500": 0}

    def respond(request: Recorded) -> Reply:
        with lock:
            n = next(counter)
        if n % 3 == 0:
            code = 429 if (n // 3) % 2 else 500
            failures[str(code)] += 1
            return error(code, "flaky", retry_after=0)
        return text("You can return it within 30 days. - Test Roasters team")

    return respond, failures


def test_a_flaky_provider_still_answers_every_case_of_a_long_run(make_store, provider):
    questions = {f"q{n:02d}": case(f"How many days do I have to return item number {n}?")
                 for n in range(30)}
    root = make_store(agent={"model": MODEL}, suites={"core": questions})
    store = load_store(root)
    cases, broken = load_suites(store)
    assert (len(cases), broken) == (30, [])
    provider.respond, failures = flaky_responder()
    client = ModelClient(policy=policy(retries=6), api_base=provider.base_url)
    agent = Agent(store, today=dt.date(2026, 11, 27), client=client)
    runs = run_cases(agent, cases, concurrency=8)
    assert len(runs) == 30
    errors = {cid: samples[0].error for cid, samples in runs.items() if samples[0].error}
    assert errors == {}
    assert all(s[0].decided_by == "model" and "30 days" in s[0].reply for s in runs.values())
    # 30 successes need requests 1..44 (every third of them fails): 14 retries, whatever the order
    assert provider.calls == client.stats.requests == 44
    assert client.stats.retries == 14
    assert failures == {"429": 7, "500": 7}
