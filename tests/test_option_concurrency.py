"""--concurrency N: how many model calls are in flight at once (else agent.yaml's, else 8)."""

from __future__ import annotations

import datetime as dt

import pytest
from fake_openai import FakeOpenAI, Recorded, text
from storekit import case

from harness.agent.loop import Agent
from harness.pipeline.runner import run_cases
from harness.providers.client import CallPolicy, ModelClient
from harness.store.loading import load_store, load_suites

KEY = "sk-option-concurrency-123456789"
MODEL = "openai/gpt-4o-mini"
CASES = 6
DELAY_S = 0.25  # long enough that calls started together overlap on the server
SUITES = {"core": {f"q{n}": case(f"How many days do I have to return item number {n}?")
                   for n in range(CASES)}}


def slow(request: Recorded) -> object:
    return text("You can return it within 30 days. - Test Roasters team", delay_s=DELAY_S)


@pytest.fixture
def provider(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = slow
    return fake_openai


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "--cache", "off",
                                         *args)


def test_option_caps_calls_in_flight(make_store, pytester, provider):
    make_store(root=pytester.path, agent={"model": MODEL, "concurrency": 1}, suites=SUITES)
    result = run(pytester, "--concurrency", "4")  # the option wins over agent.yaml's 1
    assert provider.calls == CASES
    result.assert_outcomes(passed=CASES)
    assert 1 < provider.max_in_flight <= 4


def test_agent_yaml_concurrency_applies_without_the_option(make_store, pytester, provider):
    make_store(root=pytester.path, agent={"model": MODEL, "concurrency": 2}, suites=SUITES)
    result = run(pytester)
    assert provider.calls == CASES
    result.assert_outcomes(passed=CASES)
    assert provider.max_in_flight == 2


def test_concurrency_below_one_is_a_usage_error(make_store, pytester, provider):
    make_store(root=pytester.path, agent={"model": MODEL}, suites=SUITES)
    result = run(pytester, "--concurrency", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--concurrency: expected a whole number of 1 or more" in result.stderr.str()
    assert provider.calls == 0


def test_run_cases_bounds_calls_in_flight(make_store, provider):
    root = make_store(agent={"model": MODEL}, suites=SUITES)
    store = load_store(root)
    cases, _ = load_suites(store)
    policy = CallPolicy(timeout_s=10, retries=0, backoff_s=0.001, max_backoff_s=0.01)
    agent = Agent(store, today=dt.date(2026, 11, 27),
                  client=ModelClient(policy=policy, api_base=provider.base_url))
    runs = run_cases(agent, cases, concurrency=3)
    assert [r[0].error for r in runs.values()] == [None] * CASES
    assert provider.calls == CASES
    assert 1 < provider.max_in_flight <= 3
