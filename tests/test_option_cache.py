"""--cache on|off|replay: the response cache of `pytest suites/` against a provider."""

from __future__ import annotations

import re
import shutil

import pytest
from fake_openai import FakeOpenAI, Recorded, text
from storekit import case

KEY = "sk-option-cache-123456789"
ANSWERS = {
    "return": "You can return it within 30 days. - Test Roasters team",
    "express": "Express shipping costs $14.95. - Test Roasters team",
    "warranty": "Every grinder has a 2-year warranty. - Test Roasters team",
}
SUITES = {"core": {
    "returns-window": case("How many days do I have to return an item?",
                           expect={"outcome": "resolve", "facts": ["30 days"]}),
    "express-cost": case("How much does express shipping cost?",
                         expect={"outcome": "resolve", "facts": ["$14.95"]}),
    "grinder-warranty": case("How long is the warranty on a grinder?",
                             expect={"outcome": "resolve", "facts": ["2-year warranty"]}),
}}
CASES = 3


def answer(request: Recorded) -> object:
    question = request.messages[-1]["content"].lower()
    return text(next(reply for word, reply in ANSWERS.items() if word in question))


@pytest.fixture
def store(make_store, pytester, monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = answer
    make_store(root=pytester.path, agent={"model": "openai/gpt-4o-mini", "retries": 0},
               suites=SUITES)
    return fake_openai


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-v", *args)


def case_lines(result: pytest.RunResult) -> list[str]:
    """The harness's per-case lines (case, outcome, score, change, grades, reply)."""
    return sorted(line for line in result.outlines if re.match(r"^core/\S+\s", line))


def gate_line(result: pytest.RunResult) -> str:
    (line,) = [line for line in result.outlines if line.startswith("GATE ")]
    return line


def test_on_caches_off_bypasses_and_replay_never_calls(pytester, store):
    first = run(pytester, "--cache", "on")
    assert store.calls == CASES
    first.assert_outcomes(passed=CASES)
    first.stdout.fnmatch_lines([f"model calls: {CASES} provider requests, 0 cache hits, *"])
    assert (pytester.path / ".harness-cache" / ".gitignore").is_file()

    second = run(pytester, "--cache", "on")  # every reply from the cache: no new request
    assert store.calls == CASES
    assert second.ret == first.ret == pytest.ExitCode.OK
    second.assert_outcomes(passed=CASES)
    second.stdout.fnmatch_lines([f"model calls: 0 provider requests, {CASES} cache hits, *"])
    assert gate_line(second) == gate_line(first)
    assert case_lines(second) == case_lines(first)
    assert len(case_lines(first)) == CASES

    off = run(pytester, "--cache", "off")  # a full cache, ignored: the provider is asked again
    assert store.calls == 2 * CASES
    assert off.ret == pytest.ExitCode.OK
    off.stdout.fnmatch_lines([f"model calls: {CASES} provider requests, 0 cache hits, *"])

    shutil.rmtree(pytester.path / ".harness-cache")
    replay = run(pytester, "--cache", "replay")
    assert store.calls == 2 * CASES  # replay never calls a provider
    assert replay.ret == pytest.ExitCode.TESTS_FAILED
    out = replay.stdout.str()
    assert f"errors ({CASES};" in out
    errors = [line for line in out.split(f"errors ({CASES};", 1)[1].splitlines()[1:]
              if line.startswith("  core/")][:CASES]
    assert sorted(line.split(":", 1)[0].strip() for line in errors) == sorted(
        f"core/{stem}" for stem in SUITES["core"])
    assert out.count("no cached reply for this request") >= CASES
    assert gate_line(replay).startswith(f"GATE FAIL: {CASES} cases, {CASES} blocking")
    assert f"{CASES} errors" in gate_line(replay)
    replay.stdout.fnmatch_lines(["model calls: 0 provider requests, 0 cache hits, *"])
    assert KEY not in out


def test_an_unknown_cache_mode_is_a_usage_error(pytester, store):
    result = run(pytester, "--cache", "sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'sometimes'" in result.stderr.str()
    assert store.calls == 0
