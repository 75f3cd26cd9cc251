"""The LLM judge: its JSON answer, unscored when unreadable, and a grade it can only lower."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from fake_openai import FakeOpenAI, Recorded, error, text
from storekit import case

from harness.agent.run import Retrieved, Run
from harness.grading.judge import JUDGE_INSTRUCTIONS, judge_run, parse_verdicts
from harness.grading.rubric import Dimension, with_judge
from harness.providers.client import CallPolicy, ModelClient
from harness.store.loading import load_case, load_store

KEY = "sk-judge-test-123456789"
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
JUDGE = "openai/judge-model"


def verdicts(**grades: str) -> dict[str, dict[str, str]]:
    return {name: {"grade": grades.get(name, "pass"), "reason": f"{name} reason"}
            for name in DIMENSIONS}


GOOD = json.dumps(verdicts(tone="partial"))
PARSED = {"accuracy": ("pass", "accuracy reason"), "relevance": ("pass", "relevance reason"),
          "tone": ("partial", "tone reason"), "resolution": ("pass", "resolution reason")}


# -- parse_verdicts ----------------------------------------------------------------------------


def test_parse_verdicts_reads_the_exact_json():
    assert parse_verdicts(GOOD) == PARSED


@pytest.mark.parametrize("wrapped", [
    f"```json\n{GOOD}\n```",
    f"```\n{GOOD}\n```",
    f"Here are my grades:\n```json\n{json.dumps(verdicts(tone='partial'), indent=2)}\n```\n",
])
def test_parse_verdicts_reads_json_inside_a_fence(wrapped: str):
    assert parse_verdicts(wrapped) == PARSED


def without(name: str) -> str:
    data = verdicts()
    del data[name]
    return json.dumps(data)


@pytest.mark.parametrize("answer", [
    without("tone"),
    without("accuracy"),
    json.dumps({**verdicts(), "helpfulness": {"grade": "pass", "reason": "x"}}),
    json.dumps({**verdicts(), "tone": {"grade": "pass", "reason": "x", "score": 1}}),
    json.dumps({**verdicts(), "tone": {"grade": "pass"}}),
    json.dumps(verdicts(tone="good")),
    json.dumps(verdicts(tone="unscored")),
    json.dumps(verdicts(accuracy="PASS")),
    json.dumps({**verdicts(), "tone": "pass"}),
    "The reply looks fine to me.",
    "{accuracy: pass}",
    "[]",
    "",
    None,
])
def test_parse_verdicts_rejects_any_other_shape(answer):
    assert parse_verdicts(answer) is None


# -- judge_run through a provider --------------------------------------------------------------


@pytest.fixture
def provider(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake_openai


def judged(make_store, api: FakeOpenAI, *, reply: str = "You have 30 days. - Test Roasters team",
           run_error: str | None = None):
    root = make_store(suites={"core": {"q": case("How many days do I have to return an item?",
                                                 expect={"outcome": "resolve",
                                                         "facts": ["30 days"]})}})
    store = load_store(root)
    fixture = load_case(root / "suites" / "core" / "q.yaml", store, {})
    run = Run(case_id="core/q", as_of=dt.date(2026, 11, 27), model="openai/gpt-4o-mini",
              retrieved=(Retrieved("returns-policy", 0.9, 3.2),), reply=reply,
              outcome=None if run_error else "resolve", error=run_error)
    client = ModelClient(policy=CallPolicy(timeout_s=10, retries=0, backoff_s=0.001,
                                           max_backoff_s=0.01), api_base=api.base_url)
    return asyncio.run(judge_run(client, JUDGE, fixture, run, store))


def test_judge_run_returns_the_judges_grades_and_usage(make_store, provider):
    provider.push(text(GOOD))
    result = judged(make_store, provider)
    assert result.grades == PARSED
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    (request,) = provider.requests
    assert request.body["model"] == "judge-model"
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.messages
    assert system == {"role": "system", "content": JUDGE_INSTRUCTIONS}
    assert "How many days do I have to return an item?" in user["content"]
    assert "You have 30 days. - Test Roasters team" in user["content"]
    assert "You can return most items within 30 days" in user["content"]  # the article served


@pytest.mark.parametrize("answer", ["Looks good to me!", without("tone"),
                                    json.dumps(verdicts(tone="excellent"))])
def test_an_unreadable_answer_is_unscored_on_every_dimension(make_store, provider, answer):
    provider.push(text(answer))
    result = judged(make_store, provider)
    assert set(result.grades) == set(DIMENSIONS)
    assert {grade for grade, _ in result.grades.values()} == {"unscored"}
    assert all("not the JSON asked for" in why for _, why in result.grades.values())
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)  # it still cost tokens


def test_a_failed_judge_call_is_unscored(make_store, provider):
    provider.push(error(400, "model not found"))
    result = judged(make_store, provider)
    assert {grade for grade, _ in result.grades.values()} == {"unscored"}
    assert all("could not be asked" in why for _, why in result.grades.values())
    assert provider.calls == 1


def test_a_run_that_errored_is_not_judged(make_store, provider):
    result = judged(make_store, provider, reply="", run_error="provider down")
    assert result.grades == {}
    assert provider.calls == 0


# -- with_judge --------------------------------------------------------------------------------


RULE_REASON = "states every expected fact"


@pytest.mark.parametrize("rule, judge, final", [
    ("pass", "fail", "fail"),
    ("pass", "partial", "partial"),
    ("partial", "fail", "fail"),
    ("pass", "pass", "pass"),
    ("fail", "pass", "fail"),
    ("fail", "partial", "fail"),
    ("partial", "pass", "partial"),
])
def test_the_judge_can_lower_a_grade_never_raise_it(rule: str, judge: str, final: str):
    combined = with_judge(Dimension(rule, RULE_REASON, "the excerpt"), (judge, "judge says so"))
    assert combined.grade == final
    assert RULE_REASON in combined.reason
    assert f"judge: {judge}: judge says so" in combined.reason
    assert combined.excerpt == "the excerpt"


@pytest.mark.parametrize("rule", ["pass", "partial", "fail"])
def test_an_unscored_judge_keeps_the_rule_grade(rule: str):
    combined = with_judge(Dimension(rule, RULE_REASON), ("unscored", "answer was not JSON"))
    assert combined.grade == rule
    assert "judge unscored: answer was not JSON" in combined.reason


def test_no_judge_changes_nothing():
    rule = Dimension("partial", RULE_REASON, "x")
    assert with_judge(rule, None) == rule


# -- end to end: pytest suites/ with a judge model ---------------------------------------------

STRICT_ON_TONE = "How much does express shipping cost?"


def agent_or_judge(request: Recorded) -> object:
    messages = request.messages
    if str(messages[0].get("content", "")).startswith("You grade one reply"):
        if STRICT_ON_TONE in messages[-1]["content"]:
            return text(json.dumps(verdicts(tone="fail")))
        return text(f"```json\n{json.dumps(verdicts())}\n```")
    if "express" in messages[-1]["content"]:
        return text("Express shipping costs $14.95. - Test Roasters team")
    return text("You can return it within 30 days. - Test Roasters team")


def test_pytest_run_with_a_judge_reports_and_caches_its_grades(make_store, pytester,
                                                                monkeypatch, provider):
    monkeypatch.setenv("OPENAI_API_BASE", provider.base_url)
    provider.respond = agent_or_judge
    make_store(root=pytester.path,
               agent={"model": "openai/gpt-4o-mini", "retries": 0, "judge": {"model": JUDGE}},
               suites={"core": {
                   "returns-window": case("How many days do I have to return an item?",
                                          expect={"outcome": "resolve", "facts": ["30 days"]}),
                   "express-cost": case(STRICT_ON_TONE,
                                        expect={"outcome": "resolve", "facts": ["$14.95"]}),
               }})
    args = ("suites/", "-p", "no:cacheprovider", "--harness-report", "report.json")
    first = pytester.runpytest_subprocess(*args)
    assert provider.calls == 4  # two agent calls, two judge calls
    judge_calls = [r for r in provider.requests if r.body["model"] == "judge-model"]
    assert len(judge_calls) == 2
    assert all(r.body["response_format"] == {"type": "json_object"} for r in judge_calls)
    first.stdout.fnmatch_lines(["judge: 22 prompt + 14 completion tokens, cost *"])

    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    cases = {c["id"]: c for c in report["cases"]}
    assert cases["core/returns-window"]["judge"] == dict.fromkeys(DIMENSIONS, "pass")
    assert cases["core/returns-window"]["grades"] == dict.fromkeys(DIMENSIONS, "pass")
    strict = cases["core/express-cost"]
    assert strict["judge"] == {**dict.fromkeys(DIMENSIONS, "pass"), "tone": "fail"}
    assert strict["grades"]["tone"] == "fail"  # the rules passed it; the judge lowered it
    assert "judge: fail: tone reason" in strict["reasons"]["tone"]
    assert report["usage"]["judge"]["prompt_tokens"] == 22
    assert report["usage"]["judge"]["completion_tokens"] == 14
    assert report["usage"]["agent"]["prompt_tokens"] == 22
    assert first.ret == pytest.ExitCode.TESTS_FAILED  # a new case that fails blocks

    second = pytester.runpytest_subprocess(*args)
    assert provider.calls == 4  # agent and judge replies both came from the cache
    assert second.ret == first.ret
    second.stdout.fnmatch_lines(["model calls: 0 provider requests, 4 cache hits, *"])
    again = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    assert [(c["id"], c["grades"], c["judge"]) for c in again["cases"]] == [
        (c["id"], c["grades"], c["judge"]) for c in report["cases"]]
