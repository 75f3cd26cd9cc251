"""The environment's API keys reach no file (issue 15, item 4), whatever path they took.

A gateway on 127.0.0.1 echoes the key it was sent in its reply (and in a tool call's reason);
a template includes a symlink to /proc/self/environ. Every file the run writes (baselines, the
response cache, the history database, the JSON, Markdown and HTML reports, the terminal output)
is then searched for the key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, text, tool_call

from harness.text.secrets import redact_secrets, secret_values

KEY = "sk-planted-" + "q7Zr4Lm9Xw2Pv8Ns" * 2
OTHER = "tok-" + "Hb3Ke8Wq" * 3  # a non-provider name ending in _TOKEN, in no key shape


def _echo(request):
    sent = request.headers.get("authorization", "").removeprefix("Bearer ")
    question = request.messages[-1]["content"].lower()
    if "beans" in question:
        return tool_call("escalate_to_human", {"topic": "other", "reason": f"key {sent}"})
    return text(f"Your 30 days start now. Debug: key={sent} other={OTHER} raw {sent[::-1][::-1]}")


SUITES = {"core": {
    "returns-window": {"conversation": [{"customer": "How many days do I have to return?"}],
                       "expect": {"outcome": "resolve", "facts": ["30 days"]}},
    "wants-person": {"conversation": [{"customer": "How many days to return opened beans?"}],
                     "expect": {"outcome": "escalate"}},
}}


def _files_holding(root: Path, *secrets: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(s.encode() in data for s in secrets):
                found.append(str(path.relative_to(root)))
    return found


@pytest.fixture
def gateway(make_store, pytester, monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("SUPPORT_DESK_TOKEN", OTHER)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = _echo
    make_store(root=pytester.path, agent={"model": "openai/gpt-4o-mini", "retries": 0},
               suites=SUITES)
    return fake_openai


def _run_everything(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "suites/", "-p", "no:cacheprovider", "-v", "--update-baseline", "--accept-failing",
        "--harness-report", "out/run.json", "--harness-markdown", "out/run.md",
        "--harness-html", "out/run.html", "--history")


def test_a_gateway_echoing_the_key_puts_it_in_no_file(pytester, gateway):
    result = _run_everything(pytester)
    assert gateway.calls >= 2, result.stdout.str()
    assert (pytester.path / "suites" / "core" / "baseline.json").is_file()
    assert (pytester.path / ".harness-cache" / "responses.sqlite3").is_file()
    assert "[redacted]" in (pytester.path / "suites" / "core" / "baseline.json").read_text()
    assert _files_holding(pytester.path, KEY, OTHER) == []
    assert KEY not in result.stdout.str() + result.stderr.str()
    replay = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-v",
                                           "--cache", "replay")
    assert KEY not in replay.stdout.str()


def test_a_template_symlink_to_the_environment_is_refused_and_leaks_nothing(pytester, gateway):
    os.symlink("/proc/self/environ", pytester.path / "prompts" / "env.txt")
    template = pytester.path / "prompts" / "system.md.j2"
    template.write_text('{% include "env.txt" %}\n' + template.read_text(), encoding="utf-8")
    result = _run_everything(pytester)
    out = result.stdout.str()
    assert "leads outside prompts/" in out
    assert result.ret == 1 and "INTERNALERROR" not in out
    assert _files_holding(pytester.path, KEY, OTHER) == []


def test_secret_values_by_name(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_KEY", "abcdefgh1234")
    monkeypatch.setenv("SHORT_TOKEN", "abc")
    monkeypatch.setenv("HOME_COLOR", "blue-green-long")
    found = secret_values()
    assert "abcdefgh1234" in found and "abc" not in found and "blue-green-long" not in found
    assert redact_secrets("x abcdefgh1234 y") == "x [redacted] y"
