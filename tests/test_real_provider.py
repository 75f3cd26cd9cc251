"""The real-provider HTTP path: `model: openai/gpt-4o-mini` in agent.yaml, an API key in the
environment, and litellm talking HTTP to an OpenAI-compatible server (here a local fake)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from fake_openai import FakeOpenAI, Recorded, error, text, tool_call
from storekit import case

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.store.loading import load_case, load_store

KEY = "sk-test-123456789"
MODEL = {"model": "openai/gpt-4o-mini"}
TODAY = dt.date(2026, 11, 27)
CONVERSATION = (("customer", "Hi, I ordered a Burr Grinder S2 last week."),
                ("agent", "Thanks for your order! How can I help?"))
QUESTION = "How many days do I have to return it?"


@pytest.fixture
def provider_env(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # never through a proxy
    return fake_openai


def run_case(make_store, customer: str = QUESTION, *earlier, agent=None) -> Run:
    root = make_store(agent={**MODEL, **(agent or {})},
                      suites={"core": {"q": case(customer, *earlier)}})
    store = load_store(root)
    fixture = load_case(root / "suites" / "core" / "q.yaml", store, {})
    return asyncio.run(Agent(store, today=TODAY).run(fixture))


def test_reply_comes_from_the_server(make_store, provider_env):
    provider_env.push(text("You have 30 days from delivery. - Test Roasters team"))
    result = run_case(make_store, QUESTION, *CONVERSATION)
    assert result.error is None
    assert result.outcome == "resolve"
    assert result.decided_by == "model"
    assert result.reply == "You have 30 days from delivery. - Test Roasters team"
    assert "gpt-4o-mini" in result.model
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    assert provider_env.calls == 1


def test_the_request_litellm_sends(make_store, provider_env):
    provider_env.push(text("Thirty days."))
    run_case(make_store, QUESTION, *CONVERSATION)
    (request,) = provider_env.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    system, *turns = body["messages"]
    assert system["role"] == "system"
    assert "Test Roasters" in system["content"]
    assert "You can return most items within 30 days of delivery" in system["content"]
    assert '<article id="returns-policy"' in system["content"]
    assert 'name="Burr Grinder S2"' in system["content"]  # the product the customer named
    assert turns == [
        {"role": "user", "content": "Hi, I ordered a Burr Grinder S2 last week."},
        {"role": "assistant", "content": "Thanks for your order! How can I help?"},
        {"role": "user", "content": QUESTION},
    ]
    (tool,) = body["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "escalate_to_human"
    parameters = tool["function"]["parameters"]
    assert parameters["type"] == "object"
    assert parameters["required"] == ["topic", "reason"]
    assert parameters["properties"]["topic"]["enum"] == ["payment-dispute", "other"]


def test_a_tool_call_is_a_model_escalation(make_store, provider_env):
    provider_env.push(tool_call("escalate_to_human",
                                {"topic": "other", "reason": "Asks about a custom order."}))
    result = run_case(make_store)
    assert result.error is None
    assert result.outcome == "escalate"
    assert result.decided_by == "model"
    assert "Asks about a custom order." in result.why
    assert result.reply.startswith("I'm passing this conversation")


def test_a_tool_call_with_bad_json_still_escalates(make_store, provider_env):
    provider_env.push(tool_call("escalate_to_human", "{topic: other"))
    result = run_case(make_store)
    assert (result.outcome, result.decided_by, result.error) == ("escalate", "model", None)


def test_rules_escalate_without_calling_the_server(make_store, provider_env):
    result = run_case(make_store, "I want to talk to a human about a chargeback")
    assert (result.outcome, result.decided_by) == ("escalate", "on_request")
    assert provider_env.calls == 0


def test_server_error_is_an_error_on_the_run_without_the_key(make_store, provider_env):
    provider_env.respond = lambda request: error(
        500, f"upstream failed for key {KEY}", retry_after=0.01)
    result = run_case(make_store)
    assert result.outcome is None
    assert result.error is not None
    assert "InternalServerError" in result.error
    assert KEY not in result.error
    assert "123456789" not in result.error
    assert provider_env.calls >= 1
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in provider_env.requests)


def test_auth_error_echoing_any_key_shape_is_redacted(make_store, provider_env, monkeypatch):
    secret = "local-secret-abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    provider_env.respond = lambda request: error(
        401, f"Incorrect API key provided: {secret}.")
    result = run_case(make_store)
    assert result.outcome is None
    assert result.error is not None
    assert secret not in result.error
    assert provider_env.requests[0].headers["authorization"] == f"Bearer {secret}"


def test_rate_limit_with_retry_after_is_retried(make_store, provider_env):
    provider_env.push(error(429, "slow down", retry_after=0.01), text("Thirty days."))
    result = run_case(make_store)
    assert result.error is None
    assert result.reply == "Thirty days."
    assert provider_env.calls == 2


# -- through pytest ----------------------------------------------------------------------------


def test_pytest_suites_runs_each_fixture_against_the_server(make_store, pytester,
                                                             provider_env):
    def respond(request: Recorded) -> object:
        question = request.messages[-1]["content"]
        if "return" in question:
            return text("You can return it within 30 days. - Test Roasters team")
        return text("Express shipping costs $14.95. - Test Roasters team")

    provider_env.respond = respond
    make_store(root=pytester.path, agent=MODEL, suites={"core": {
        "returns-window": case("How many days do I have to return an item?",
                               expect={"outcome": "resolve", "facts": ["30 days"],
                                       "articles": ["returns-policy"]}),
        "express-cost": case("How much does express shipping cost?",
                             expect={"outcome": "resolve", "facts": ["$14.95"],
                                     "articles": ["shipping"]}),
    }})
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-v")
    out = result.stdout.str()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random([
        "suites/core/express-cost.yaml::express-cost PASSED*",
        "suites/core/returns-window.yaml::returns-window PASSED*",
    ])
    for case_id in ("core/returns-window", "core/express-cost"):  # the harness's case lines
        lines = [line for line in out.splitlines() if case_id in line and "resolve" in line]
        assert lines, f"no outcome line for {case_id}"
    assert "You can return it within 30 days." in out
    assert provider_env.calls == 2
    asked = sorted(r.messages[-1]["content"] for r in provider_env.requests)
    assert asked == ["How many days do I have to return an item?",
                     "How much does express shipping cost?"]
    assert {r.headers["authorization"] for r in provider_env.requests} == {f"Bearer {KEY}"}
    assert KEY not in out


