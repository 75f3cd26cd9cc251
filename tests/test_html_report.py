"""reports/html.py: one self-contained page, every input escaped, built from CaseResult values."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from harness.agent.run import Retrieved, Run
from harness.cli import main
from harness.pipeline.record import CaseResult, RunRecord
from harness.regression.baseline import Entry, Provenance, render_baseline
from harness.regression.compare import compare_entries
from harness.regression.gate import judge_case
from harness.reports.html import render_html, render_html_from_report, word_diff

DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SYSTEM = "You are the support agent of Kettle & Crema. SYSTEM-PROMPT-TEXT"


def entry(score: float = 1.0, reply: str = "You have 30 days to return it.",
          error: str | None = None, **grades: str) -> Entry:
    if error:
        return Entry(score=0.0, passed=False, review=True, outcome=None, grades={}, reasons={},
                     reply="", error=error)
    graded = {name: grades.get(name, "pass") for name in DIMENSIONS}
    reasons = {name: f"{name} is {grade}" for name, grade in graded.items()}
    bad = [g for g in graded.values() if g != "pass"]
    return Entry(score=score, passed=not bad, review=graded["accuracy"] == "fail" or len(bad) > 1,
                 outcome="resolve", grades=graded, reasons=reasons, reply=reply)


def result(case_id: str, old: Entry | None, new: Entry | None, *, customer: str = "",
           target: bool = False) -> CaseResult:
    """A case; with `customer`, its run records the messages sent (system prompt first)."""
    messages = ({"role": "system", "content": SYSTEM}, {"role": "user", "content": customer})
    run = Run(case_id, dt.date(2026, 10, 15), "reference/kb-grounded",
              retrieved=(Retrieved("returns-policy", 0.82, 3.1), Retrieved("refunds", 0.4, 1.2)),
              served=("refunds", "returns-policy", "shipping"), reply=new.reply if new else "",
              outcome="resolve", why="the model answered",
              messages=messages if customer else ())
    comparison = compare_entries(case_id, old, new)
    return CaseResult(case_id, case_id.split("/")[0], comparison, runs=(run,),
                      verdict=judge_case(comparison, target=target))


GOOD = entry()
DROPPED = entry(0.6, "You have 45 days to return it.", accuracy="fail")
RESULTS = [
    result("core/returns-window", GOOD, DROPPED, customer="How long do I have to return it?"),
    result("core/same", GOOD, entry(), customer="Same question?"),
    result("core/new-xss", None, entry(0.8, f"Sure! {SCRIPT}", tone="partial"),
           customer=f"Hi {SCRIPT} <img src=x onerror=alert(2)>"),
    result("core/gone", GOOD, None),
    result("core/broken", GOOD, entry(error=f"cannot load: {SCRIPT}")),
]


def page() -> str:
    return render_html(RunRecord.of(RESULTS, passed=False))


def card(text: str, case_id: str) -> str:
    start = text.index(f"<code>{case_id}</code>")
    return text[start: text.find("<details class=case", start)]


def test_the_page_is_self_contained():
    text = page()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(?!#)""", text.replace(
        "&lt;img src=x", ""))  # the only src= is the escaped one in the customer's turn
    assert "<link" not in text and text.count("<style>") == 1
    assert "default-src 'none'" in text  # the browser may fetch nothing either


def test_the_csp_allows_exactly_the_pages_own_script():
    text = page()
    script = re.search(r"<script>(.*?)</script>", text, re.S)
    assert script is not None and text.count("<script>") == 1
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in text


def test_script_in_a_reply_a_customer_turn_and_an_error_is_shown_as_text():
    text = page()
    xss = card(text, "core/new-xss")
    assert f'<div class="turn customer"><b>customer:</b> Hi {ESCAPED} &lt;img src=x' in xss
    assert f"Sure! {ESCAPED}" in xss
    assert f"cannot run: cannot load: {ESCAPED}" in card(text, "core/broken")
    assert "onerror=alert(2)>" not in text


def test_the_header_gives_the_verdict_and_the_scores_per_suite_and_dimension():
    text = page()
    header = text[text.index("<header"): text.index("</header>")]
    assert 'class="fail"' in header
    assert ("Gate failed: 1 case got worse, 1 error, 1 new case does not pass" in header)
    assert "5 cases: 2 worse, 0 better, 1 new, 1 removed, 1 same" in header
    scores = text[text.index("<table class=scores>"): text.index("</table>")]
    assert "<th>accuracy</th>" in scores and "<th>resolution</th>" in scores
    # 4 cases now (one removed), 1 passes; mean score 60.0 now, 100.0 in the baseline
    assert ("<th>core</th><td>4</td><td>1</td><td class=down>60.0 <small>(100.0)</small></td>"
            in scores)


def test_a_worse_case_shows_grades_reasons_outcome_articles_and_the_reply_diff():
    worse = card(page(), "core/returns-window")
    assert '<span class="badge c-worse">worse</span>' in worse and "v-fail" in worse
    assert ('<tr class=drop><th>accuracy</th><td class="g-pass">pass</td>'
            '<td class="g-fail">fail</td><td>accuracy is fail</td></tr>') in worse
    assert "gate:</b> fail: worse than the baseline" in worse
    assert "outcome:</b> resolve: the model answered" in worse
    assert "returns-policy (0.82), refunds (0.40)" in worse
    assert ("served as of 2026-10-15: 3 articles</summary>refunds, returns-policy, shipping"
            in worse)
    assert ('<div class="turn customer"><b>customer:</b> How long do I have to return it?'
            in worse)
    assert SYSTEM.split()[-1] not in page()  # the system prompt is not a turn
    assert "<h4>baseline reply</h4>" in worse and "<h4>reply now</h4>" in worse
    assert "You have <del>30</del> days" in worse and "You have <ins>45</ins> days" in worse
    assert "score 0.60 (was 1.00)" in worse
    assert 'data-review="1" open><summary><code>core/returns-window' in page()


def test_an_unchanged_reply_is_shown_once_without_diff_marks():
    same = card(page(), "core/same")
    assert "<del>" not in same and "<ins>" not in same and "baseline reply" not in same
    assert '<h4>reply</h4><div class="turn agent">You have 30 days to return it.</div>' in same


def test_a_run_without_messages_shows_just_the_reply_and_a_removed_case_its_baseline():
    text = render_html(RunRecord.of([result("core/plain", GOOD, entry()),
                                     result("core/gone", GOOD, None)], passed=True))
    assert "turn customer" not in text and "Gate passed" in text
    gone = card(text, "core/gone")
    assert "c-removed" in gone and "<h4>baseline reply</h4>" in gone


def test_filter_controls_and_the_data_they_filter_on():
    text = page()
    for change in ("worse", "better", "new", "removed", "same"):
        assert f'<input type=checkbox name=change value="{change}" checked>' in text
    assert "<select name=grade>" in text and '<option value="fail">' in text
    assert "<input type=checkbox name=review>" in text
    assert 'data-change="worse" data-grade="fail" data-review="1"' in text
    assert 'data-change="new" data-grade="partial" data-review="0"' in text
    assert 'data-change="worse" data-grade="error"' in text
    assert "card.hidden = !keep" in text


def test_word_diff_marks_words_and_escapes_them():
    old, new = word_diff("Returns within 30 days <b>.", "Returns within 45 days <i>.")
    assert old == "Returns within <del>30</del> days <del>&lt;b&gt;.</del>"
    assert new == "Returns within <ins>45</ins> days <ins>&lt;i&gt;.</ins>"
    assert word_diff("same", "same") == ("same", "same")


def test_from_the_json_report_with_baselines_it_shows_the_same_verdict_and_diff():
    document = json.loads(json.dumps(RunRecord.of(RESULTS, passed=False).to_json()))
    baselines = {r.case_id: r.comparison.old for r in RESULTS if r.comparison.old}
    text = render_html_from_report(document, baselines=baselines, title="PR #12")
    assert "<title>PR #12</title>" in text
    assert "Gate failed: 1 case got worse, 1 error, 1 new case does not pass" in text
    worse = card(text, "core/returns-window")
    assert "<del>30</del>" in worse and "<ins>45</ins>" in worse
    assert "gate:</b> fail: worse than the baseline" in worse
    assert "returns-policy (0.82), refunds (0.40)" in worse  # the report keeps confidences
    assert ESCAPED in text and SCRIPT not in text
    assert "http://" not in text and "https://" not in text


def test_from_the_json_report_alone_it_shows_the_baseline_it_was_judged_against():
    document = RunRecord.of(RESULTS[:1], passed=True).to_json()
    worse = card(render_html_from_report(document), "core/returns-window")
    assert "Gate passed" in render_html_from_report(document)
    assert '<td class="g-pass">pass</td><td class="g-fail">fail</td>' in worse
    assert "<del>30</del>" in worse


def test_an_old_json_report_without_baselines_shows_grades_alone():
    document = RunRecord.of(RESULTS[:1], passed=True).to_json()
    for case in document["cases"]:
        case.pop("baseline")
    worse = card(render_html_from_report(document), "core/returns-window")
    assert '<td>-</td><td class="g-fail">fail</td>' in worse and "<del>" not in worse


def test_the_command_renders_a_report_file_with_the_stores_baselines(tmp_path: Path, capsys):
    report = tmp_path / "run.json"
    report.write_text(json.dumps(RunRecord.of(RESULTS, passed=False).to_json()), encoding="utf-8")
    made = Provenance(harness="0.1.0", model="m", prompt="p" * 16, kb="k" * 16)
    (tmp_path / "suites" / "core").mkdir(parents=True)
    (tmp_path / "suites" / "core" / "baseline.json").write_text(
        render_baseline("core", made, {"core/returns-window": GOOD}), encoding="utf-8")
    assert main(["report", str(report), "--baselines", str(tmp_path)]) == 0
    text = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert "<del>30</del>" in text
    assert main(["report", str(tmp_path / "missing.json")]) == 1
    assert capsys.readouterr().err.startswith("Error: ")
