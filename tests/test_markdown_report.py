"""markdown_report.py: the pull-request summary, built from CaseResult values directly."""

from __future__ import annotations

import datetime as dt

from harness.agent.run import Run
from harness.pipeline.record import CaseResult, RunRecord
from harness.regression.baseline import Entry
from harness.regression.compare import compare_entries
from harness.regression.gate import Verdict, judge_case
from harness.reports.common import suite_scores
from harness.reports.markdown import md, render_markdown

DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
SCRIPT = "<script>alert(1)</script>"
MORE = "more (see the HTML/JSON report artifacts)"


def entry(score: float = 1.0, reply: str = "You have 30 days to return it.",
          error: str | None = None, reason: str = "", **grades: str) -> Entry:
    """An entry where every dimension passes unless given; `reason` overrides every reason."""
    if error:
        return Entry(score=0.0, passed=False, review=True, outcome=None, grades={}, reasons={},
                     reply="", error=error)
    graded = {name: grades.get(name, "pass") for name in DIMENSIONS}
    reasons = {name: reason or f"{name} is {grade}" for name, grade in graded.items()}
    bad = [g for g in graded.values() if g != "pass"]
    return Entry(score=score, passed=not bad, review=graded["accuracy"] == "fail" or len(bad) > 1,
                 outcome="resolve", grades=graded, reasons=reasons, reply=reply)


def result(case_id: str, old: Entry | None, new: Entry | None, *,
           target: bool = False) -> CaseResult:
    comparison = compare_entries(case_id, old, new)
    run = Run(case_id, dt.date(2026, 10, 15), "reference/kb-grounded",
              reply=new.reply if new else "", outcome="resolve")
    return CaseResult(case_id, case_id.split("/")[0], comparison, runs=(run,),
                      verdict=judge_case(comparison, target=target))


GOOD = entry()
DROPPED = entry(0.6, "You have 45 days to return it.", accuracy="fail",
                reason="missing 1 of 1 facts: '30 days' (article returns-policy no longer"
                       " states it)")


def sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_a_passing_run_starts_with_the_verdict():
    text = render_markdown(RunRecord.of([result("core/a", GOOD, entry())], passed=True))
    assert text.splitlines()[0] == "### ✅ Gate passed"
    assert "1 cases: 0 worse, 0 better, 1 same, 0 new, 0 removed" in text
    assert "#### Worse" not in text


def test_a_failing_run_names_what_blocks_in_the_verdict_line():
    results = [
        result("core/a", GOOD, DROPPED), result("core/b", GOOD, DROPPED),
        result("core/c", GOOD, entry(error="fixture names the deleted article kettle-care")),
        result("core/d", None, DROPPED),
        result("core/e", DROPPED, DROPPED, target=True),
        result("core/f", DROPPED, DROPPED),
    ]
    first = render_markdown(RunRecord.of(results, passed=False)).splitlines()[0]
    assert first == ("### ❌ Gate failed: 2 cases got worse, 1 error, 1 target does not pass,"
                     " 1 new case does not pass")


def test_a_worse_case_shows_old_and_new_grade_the_reason_and_the_reply():
    record = RunRecord.of([result("core/returns-window", GOOD, DROPPED)], passed=False)
    text = render_markdown(record)
    assert "#### Worse (1)" in text
    assert "- **core/returns-window**: score 1.00 → 0.60" in text
    assert ("  - accuracy: pass → **fail**: missing 1 of 1 facts: '30 days' (article"
            " returns-policy no longer states it)") in text
    assert "  - reply: “You have 45 days to return it.”" in text
    assert "relevance: pass" not in text  # only the dimensions that dropped


def test_sections_come_in_order_errors_better_new_removed_scores_review():
    results = [
        result("core/worse", GOOD, DROPPED),
        result("core/error", GOOD, entry(error="cannot load: no such article kettle-care")),
        result("core/better", DROPPED, GOOD),
        result("core/new", None, entry(0.8, tone="partial")),
        result("core/removed", GOOD, None),
    ]
    text = render_markdown(RunRecord.of(results, passed=False))
    assert sections(text) == [
        "### ❌ Gate failed: 1 case got worse, 1 error, 1 new case does not pass",
        "#### Worse (1)", "#### Errors (1)",
        "#### Better (1)", "#### New (1)", "#### Removed (1)", "#### Scores now vs baseline (%)",
        "#### Review queue, worst first (2)"]
    assert "- **core/error**: cannot load: no such article kettle-care" in text
    assert "- **core/better**: score 0.60 → 1.00; accuracy fail → pass" in text
    assert "- **core/new**: score 0.80, tone partial: tone is partial" in text
    assert "core/error" not in text.split("#### Errors")[0]  # an error is not also "worse"


def test_scores_are_a_table_per_suite_now_vs_baseline():
    results = [result("core/a", GOOD, DROPPED), result("core/b", GOOD, entry()),
               result("faq/c", GOOD, entry())]
    text = render_markdown(RunRecord.of(results, passed=False))
    assert "**core**: 2 cases, 1 pass" in text and "**faq**: 1 cases, 1 pass" in text
    assert "| score | 80.0 | 100.0 | **-20.0** |" in text
    assert "| accuracy | 50.0 | 100.0 | **-50.0** |" in text
    assert "| tone | 100.0 | 100.0 |  |" in text


def test_suite_scores_count_an_error_as_zero_and_skip_removed_cases():
    scores = suite_scores([result("core/a", GOOD, entry(error="boom")),
                           result("core/b", GOOD, GOOD), result("core/c", GOOD, None)])
    assert (scores[0].cases, scores[0].passed) == (2, 1)
    assert scores[0].now["accuracy"] == 50.0 and scores[0].before["accuracy"] == 100.0


def test_the_review_queue_is_worst_first():
    results = [result("core/a", None, entry(0.6, accuracy="fail")),
               result("core/b", None, entry(0.35, accuracy="fail", relevance="fail")),
               result("core/c", None, entry(error="boom"))]
    review = render_markdown(RunRecord.of(results, passed=False)).split("#### Review queue")[1]
    assert [line.split("**")[1] for line in review.splitlines() if line.startswith("- ")] == [
        "core/c", "core/b", "core/a"]
    assert "- **core/c** 0.00: error: boom" in review


def test_long_lists_are_capped_with_a_pointer_to_the_artifacts():
    results = [result(f"core/w{i:04}", GOOD, DROPPED) for i in range(1000)]
    text = render_markdown(RunRecord.of(results, passed=False), limit=15)
    worse = text.split("#### Worse (1000)")[1].split("####")[0]
    assert sum(line.startswith("- **") for line in worse.splitlines()) == 15
    assert f"- ... and 985 {MORE}" in worse
    assert text.count(f"and 985 {MORE}") == 2  # the review queue too
    assert len(text.splitlines()) < 120 and len(text) < 15_000  # fits a PR comment


def test_customer_text_cannot_open_html_break_a_cell_or_format_the_comment():
    reply = f"Call *now* | {SCRIPT} costs $49 or $59 [x](http://evil) @octocat & `code`"
    bad = entry(0.6, reply, accuracy="fail", reason=f"states '{SCRIPT}' | `x` _y_")
    text = render_markdown(RunRecord.of([result("core/a", GOOD, bad)], passed=False,
                                         warnings=(f"model {SCRIPT}",)))
    assert "<script" not in text and "</script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Call \\*now\\* \\| &lt;script&gt;" in text
    assert "costs \\$49 or \\$59 \\[x\\](http://evil)" in text
    assert "@\u200boctocat &amp; \\`code\\`" in text
    assert "states '&lt;script&gt;alert(1)&lt;/script&gt;' \\| \\`x\\` \\_y\\_" in text
    assert "> ⚠️ model &lt;script&gt;" in text


def test_md_keeps_text_on_one_line_and_cuts_it():
    assert md("a\n\n# heading\n- item") == "a \\# heading - item"
    assert md("x" * 200, 20) == "x" * 17 + "..."
    assert md("a|b\\c") == "a\\|b\\\\c"


def test_a_case_without_a_verdict_does_not_block_the_headline():
    comparison = compare_entries("core/a", GOOD, DROPPED)
    known = CaseResult("core/a", "core", comparison,
                       verdict=Verdict("core/a", "known-failure", "failed in the baseline too"))
    record = RunRecord.of([known, CaseResult("core/b", "core", comparison)], passed=False)
    text = render_markdown(record)
    assert text.splitlines()[0] == "### ❌ Gate failed"
    assert "known failures: 1" in text
