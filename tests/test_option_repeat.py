"""--repeat K: each case is asked K times; pass rates, flaky dimensions, and a comparison that
tells a real drop from sampling noise (docs/repeats.md)."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from fake_openai import FakeOpenAI, Recorded, text
from storekit import case

from harness.grading.rubric import Dimension, Graded
from harness.grading.samples import combine_samples
from harness.regression.baseline import Entry
from harness.regression.compare import compare_entries

KEY = "sk-option-repeat-123456789"
RIGHT = {
    "return": "You can return it within 30 days. - Test Roasters team",
    "express": "Express shipping costs $14.95. - Test Roasters team",
}
WRONG = {  # same topic and sign-off, but without the expected fact
    "return": "You can return it within a few weeks. - Test Roasters team",
    "express": "Express shipping costs a little extra. - Test Roasters team",
}
SUITES = {"core": {
    "returns-window": case("How many days do I have to return an item?",
                           expect={"outcome": "resolve", "facts": ["30 days"]}),
    "express-cost": case("How much does express shipping cost?",
                         expect={"outcome": "resolve", "facts": ["$14.95"]}),
}}
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")


def alternating() -> object:
    """Per question: right, wrong, right, ... whatever order the samples arrive in."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(request: Recorded) -> object:
        question = request.messages[-1]["content"].lower()
        topic = next(word for word in RIGHT if word in question)
        with lock:
            seen[topic] += 1
            n = seen[topic]
        return text((RIGHT if n % 2 else WRONG)[topic])

    return respond


@pytest.fixture
def store(make_store, pytester, monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = alternating()
    make_store(root=pytester.path, agent={"model": "openai/gpt-4o-mini", "retries": 0},
               suites=SUITES)
    return fake_openai


def test_repeat_grades_pass_rates_and_lists_flaky_cases(pytester, store):
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "--repeat", "3",
                                           "--harness-report", "report.json")
    asked = Counter(r.messages[-1]["content"] for r in store.requests)
    assert asked == {"How many days do I have to return an item?": 3,
                     "How much does express shipping cost?": 3}

    out = result.stdout.str()
    assert "flaky (2;" in out
    flaky = out.split("flaky (2;", 1)[1].splitlines()[1:3]
    assert sorted(line.split(":", 1)[0].strip() for line in flaky) == [
        "core/express-cost", "core/returns-window"]
    assert all("accuracy 67% pass" in line for line in flaky)
    assert all("pass^1 67%, pass^3 0%" in line for line in flaky)  # pass^k per case

    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    cases = {c["id"]: c for c in report["cases"]}
    assert set(cases) == {"core/returns-window", "core/express-cost"}
    for entry in cases.values():
        assert entry["samples"] == 3
        assert entry["error"] is None
        assert set(entry["pass_rates"]) == set(DIMENSIONS)
        assert entry["pass_rates"]["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
        assert entry["pass_rates"]["resolution"] == 1.0
        assert "accuracy" in entry["flaky"]
        assert entry["grades"]["accuracy"] == "pass"  # the most common grade: 2 of 3
        assert "(2/3 samples pass)" in entry["reasons"]["accuracy"]
        assert entry["tokens"] == {"prompt": 3 * 11, "completion": 3 * 7}
        assert entry["pass_hat"] == pytest.approx({"1": 2 / 3, "2": 1 / 3, "3": 0.0})
    assert report["usage"]["requests"] == 6


def test_pass_hat_of_an_entry_needs_repeats():
    entry = Entry(score=1.0, passed=True, review=False, outcome="resolve", grades={},
                  reasons={}, reply="", samples=5, case_passes=4)
    assert entry.pass_hat(1) == pytest.approx(0.8)
    assert entry.pass_hat(5) == 0.0  # one sample of five failed: not every one passes
    assert entry.pass_hat(6) is None
    single = Entry(score=1.0, passed=True, review=False, outcome="resolve", grades={},
                   reasons={}, reply="")
    assert single.pass_hat(1) is None


def test_repeat_below_one_is_a_usage_error(pytester, store):
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider",
                                           "--repeat", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--repeat: expected a whole number of 1 or more" in result.stderr.str()
    assert store.calls == 0


# -- comparing repeated results ----------------------------------------------------------------


def entry(accuracy_rate: float, samples: int = 5) -> Entry:
    grade = "pass" if accuracy_rate >= 0.5 else "fail"
    grades = {"accuracy": grade, "relevance": "pass", "tone": "pass", "resolution": "pass"}
    rates = {"accuracy": accuracy_rate, "relevance": 1.0, "tone": 1.0, "resolution": 1.0}
    return Entry(score=0.6 + 0.4 * accuracy_rate, passed=grade == "pass", review=grade == "fail",
                 outcome="resolve", grades=grades, reasons=dict.fromkeys(grades, "r"),
                 reply="...", samples=samples, pass_rates=rates)


def test_a_drop_within_the_noise_is_not_worse():
    comparison = compare_entries("core/x", entry(1.0), entry(0.6))  # 5/5 -> 3/5
    assert comparison.change != "worse"
    assert comparison.worse == ()


def test_a_drop_beyond_the_noise_is_worse():
    comparison = compare_entries("core/x", entry(1.0), entry(0.0))  # 5/5 -> 0/5
    assert comparison.change == "worse"
    (step,) = comparison.worse
    assert (step.field, step.old, step.new) == ("accuracy", "5/5 pass", "0/5 pass")


def test_a_drop_that_five_samples_cannot_tell_from_noise_is_not_worse():
    """5/5 -> 1/5: p = 0.024 for the dimension, above 1% a case (docs/repeats.md)."""
    assert compare_entries("core/x", entry(1.0), entry(0.2)).change == "same"
    assert compare_entries("core/x", entry(0.2), entry(0.0)).change == "same"  # 1/5 -> 0/5


def test_a_rise_beyond_the_noise_is_better():
    comparison = compare_entries("core/x", entry(0.0), entry(1.0))  # 0/5 -> 5/5
    assert comparison.change == "better"
    assert [s.field for s in comparison.better] == ["accuracy"]


def test_single_sample_comparison_stays_strict():
    one = compare_entries("core/x", entry(1.0, samples=1), entry(0.0, samples=1))
    assert one.change == "worse"


def graded(accuracy: str, score: float) -> Graded:
    grades = {"accuracy": Dimension(accuracy, f"accuracy {accuracy}"),
              "relevance": Dimension("pass", "ok"), "tone": Dimension("pass", "ok"),
              "resolution": Dimension("pass", "ok")}
    return Graded("core/x", grades, score)


def test_combine_samples_takes_the_common_grade_the_lower_on_a_tie():
    weights = {"accuracy": 40, "relevance": 25, "tone": 20, "resolution": 15}
    three = combine_samples([graded("pass", 1.0), graded("fail", 0.6), graded("pass", 1.0)],
                            weights)
    assert three.samples == 3
    assert three.grades["accuracy"].grade == "pass"
    assert three.pass_rates["accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert three.flaky == ("accuracy",)
    assert three.score == pytest.approx(0.8667, abs=1e-4)
    tie = combine_samples([graded("pass", 1.0), graded("fail", 0.6)], weights)
    assert tie.grades["accuracy"].grade == "fail"
    steady = combine_samples([graded("partial", 0.8), graded("pass", 1.0)], weights)
    assert steady.flaky == ()  # partial and pass: not a pass/fail flip


def test_an_unchanged_noisy_store_passes_and_a_collapse_is_caught(pytester, store):
    """Recorded with --repeat 5 against a model that is right every other time, the same noise
    is no regression; a model that is now always wrong is."""
    run = ("suites/", "-p", "no:cacheprovider", "--repeat", "5")
    recorded = pytester.runpytest_subprocess(*run, "--update-baseline")
    assert recorded.ret == pytest.ExitCode.OK, recorded.stdout.str()
    again = pytester.runpytest_subprocess(*run, "--cache", "off")  # fresh samples: 2/5 now
    assert again.ret == pytest.ExitCode.OK, again.stdout.str()
    again.stdout.no_fnmatch_line("worse (*")

    store.respond = lambda request: text(RIGHT["return"] if "return" in request.messages[-1][
        "content"].lower() else RIGHT["express"])
    pytester.runpytest_subprocess(*run, "--update-baseline", "--cache", "off")
    store.respond = lambda request: text(WRONG["return"] if "return" in request.messages[-1][
        "content"].lower() else WRONG["express"])
    collapsed = pytester.runpytest_subprocess(*run, "--cache", "off")
    assert collapsed.ret == pytest.ExitCode.TESTS_FAILED, collapsed.stdout.str()
    collapsed.stdout.fnmatch_lines(["worse (2):", "  core/*: accuracy 5/5 pass -> 0/5 pass*"])
