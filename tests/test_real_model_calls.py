"""Calls that suit real servers: max_tokens and agent.yaml's model parameters reach the
provider, a reply cut off at max_tokens is recorded and reported as such, the judge has its own
server, and Ctrl-C (or SIGTERM) mid-run leaves a report of the cases finished so far."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, text
from storekit import case

from harness.agent.loop import Agent
from harness.providers.client import _openai_compatible
from harness.store.loading import load_case, load_store

KEY = "sk-test-123456789"
TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def provider_env(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake_openai


def one_run(make_store, agent: dict) -> object:
    root = make_store(agent={"model": "openai/gpt-4o-mini", **agent},
                      suites={"core": {"q": case("How long do I have to return it?")}})
    store = load_store(root)
    fixture = load_case(root / "suites" / "core" / "q.yaml", store, {})
    return asyncio.run(Agent(store, today=TODAY).run(fixture))


def test_max_tokens_and_model_parameters_reach_the_server(make_store, provider_env):
    provider_env.push(text("Thirty days."), text("Thirty days."))
    one_run(make_store, {})
    assert provider_env.requests[0].body["max_tokens"] == 1024  # the default: no runaway reply
    one_run(make_store, {"max_tokens": 200, "params": {"seed": 7, "top_p": 0.9,
                                                         "stop": ["\n\n\n"]}})
    body = provider_env.requests[1].body
    assert (body["max_tokens"], body["seed"], body["top_p"], body["stop"]) == (
        200, 7, 0.9, ["\n\n\n"])


def test_an_unknown_model_parameter_is_a_load_error(make_store):
    root = make_store(agent={"params": {"temprature": 0.3}})
    with pytest.raises(Exception, match="unknown model parameter"):
        load_store(root)


def test_a_reply_cut_off_at_max_tokens_is_recorded(make_store, provider_env):
    provider_env.push(text("You can return it within thirty days of", finish_reason="length"))
    run = one_run(make_store, {"max_tokens": 8})
    assert run.finish_reason == "length" and run.truncated


def test_the_environment_base_url_only_reaches_openai_compatible_models():
    assert _openai_compatible("openai/gpt-4o-mini") and _openai_compatible("gpt-4o")
    assert not _openai_compatible("anthropic/claude-3-5-haiku-latest")
    assert not _openai_compatible("reference/kb-grounded")


def test_the_judge_is_asked_on_its_own_server(make_store, provider_env, pytester):
    verdict = json.dumps({d: {"grade": "pass", "reason": "ok"}
                          for d in ("accuracy", "relevance", "tone", "resolution")})
    with FakeOpenAI(text(verdict)) as judge_server:
        provider_env.push(text("You can return it within 30 days. - Test Roasters team"))
        make_store(root=pytester.path, agent={
            "model": "openai/gpt-4o-mini",
            "judge": {"model": "openai/judge-model", "api_base": judge_server.base_url}},
            suites={"core": {"q": case("How long do I have to return it?")}})
        result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider",
                                               "--cache", "off")
        assert judge_server.calls == 1 and provider_env.calls == 1, result.stdout.str()
        assert judge_server.requests[0].body["model"] == "judge-model"
        assert judge_server.requests[0].body["max_tokens"] == 800


def slow_store(make_store) -> Path:
    """30 cases that all reach the model (no escalation rule), two calls in flight at a time."""
    questions = {f"q{i:02d}": case(f"How many days do I have to return order {i}?")
                 for i in range(30)}
    return make_store(agent={"model": "openai/gpt-4o-mini", "concurrency": 2,
                             "escalation": {"min_confidence": 0}}, suites={"core": questions})


def test_ctrl_c_mid_run_leaves_a_report_of_the_cases_finished(make_store, provider_env,
                                                              tmp_path: Path):
    provider_env.respond = lambda request: text("Thirty days. - Test Roasters team",
                                                delay_s=0.4)
    root = slow_store(make_store)
    report = tmp_path / "run.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
         "--harness-report", str(report)],
        cwd=root, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    deadline = time.monotonic() + 60
    while provider_env.calls < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == pytest.ExitCode.INTERRUPTED, out
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["interrupted"] is True and document["gate"] == "fail"
    assert 2 <= len(document["cases"]) < 30
    assert "interrupted" in out
    assert not (root / "suites" / "core" / "baseline.json").exists()


def test_sigterm_stops_the_run_like_ctrl_c(make_store, provider_env, tmp_path: Path):
    provider_env.respond = lambda request: text("Thirty days.", delay_s=0.4)
    root = slow_store(make_store)
    report = tmp_path / "run.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
         "--harness-report", str(report)], cwd=root, env=os.environ.copy(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while provider_env.calls < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=60)
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["interrupted"] is True, out
    assert 2 <= len(document["cases"]) < 30


def test_a_one_slot_server_is_sent_fewer_calls_after_its_first_timeouts(make_store, provider_env,
                                                                         pytester):
    """A server that answers one request at a time (llama.cpp's default): the first wave
    overflows its queue and times out; the client halves the calls in flight, and the tries
    after that wait for a slot before their timeout starts, so every case completes."""
    slot = threading.Lock()

    def one_at_a_time(request):
        with slot:
            time.sleep(0.5)
        return text("You can return it within 30 days. - Test Roasters team")

    provider_env.respond = one_at_a_time
    questions = {f"q{i:02d}": case(f"How many days do I have to return order {i}?")
                 for i in range(12)}
    make_store(root=pytester.path, agent={
        "model": "openai/gpt-4o-mini", "concurrency": 12, "timeout": 3,
        "escalation": {"min_confidence": 0}}, suites={"core": questions})
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "--cache", "off",
                                           "--harness-report", "run.json")
    document = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    errors = [c["id"] for c in document["cases"] if c["error"]]
    assert errors == [], result.stdout.str()
    assert document["usage"]["retries"] >= 1  # it did time out first
