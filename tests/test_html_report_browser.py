"""The HTML report in a real headless browser: the filters work, nothing errors, nothing injected
runs. Needs Debian's chromium and the playwright package (never `playwright install`):

    apt-get install -y chromium && pip install playwright
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.agent.run import Run
from harness.pipeline.record import CaseResult, RunRecord
from harness.regression.baseline import Entry
from harness.regression.compare import compare_entries
from harness.regression.gate import judge_case
from harness.reports.html import render_html

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="needs the playwright package (pip install playwright)")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
                                  " (apt-get install -y chromium)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"


def entry(score: float, reply: str, **grades: str) -> Entry:
    graded = {name: grades.get(name, "pass") for name in DIMENSIONS}
    bad = [g for g in graded.values() if g != "pass"]
    return Entry(score=score, passed=not bad, review=graded["accuracy"] == "fail" or len(bad) > 1,
                 outcome="resolve", grades=graded, reasons=dict.fromkeys(graded, "why"),
                 reply=reply)


def result(case_id: str, old: Entry | None, new: Entry, customer: str) -> CaseResult:
    messages = ({"role": "system", "content": "system"}, {"role": "user", "content": customer})
    run = Run(case_id, dt.date(2026, 10, 15), "m", reply=new.reply, outcome="resolve",
              messages=messages)
    comparison = compare_entries(case_id, old, new)
    return CaseResult(case_id, "core", comparison, runs=(run,),
                      verdict=judge_case(comparison, target=False))


GOOD = entry(1.0, "You have 30 days to return it.")
RESULTS = [
    result("core/worse", GOOD, entry(0.6, f"You have 45 days. {SCRIPT}", accuracy="fail"),
           f"How long? {SCRIPT} {IMAGE}"),
    result("core/same-1", GOOD, GOOD, "How long?"),
    result("core/same-2", GOOD, GOOD, "And how long again?"),
    result("core/new", None, entry(0.9, "Hello.", tone="partial"), "Hi"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def opened(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """The page loaded from a file:// URL, and what went wrong: console errors, dialogs."""
    path = tmp_path / "report.html"
    path.write_text(render_html(RunRecord.of(RESULTS, passed=False)), encoding="utf-8")
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                      dialog.dismiss()))
    page.goto(path.as_uri())
    yield page, problems
    page.close()


def visible(page: Any) -> list[str]:
    return [card.locator("summary code").inner_text()
            for card in page.locator("details.case").all() if card.is_visible()]


def test_the_page_loads_without_errors_and_injected_markup_stays_text(opened):
    page, problems = opened
    worse = page.locator("details.case[data-change=worse]")
    assert SCRIPT in worse.locator(".turn.agent").last.inner_text()
    assert f"{SCRIPT} {IMAGE}" in worse.locator(".turn.customer").inner_text()
    assert page.locator("#cases script, #cases img").count() == 0
    page.wait_for_timeout(200)  # let an onerror handler fire if one had been injected
    assert problems == []
    assert page.locator("#shown").inner_text() == "4"


def test_unchecking_a_change_hides_those_cases(opened):
    page, problems = opened
    page.locator("input[name=change][value=same]").uncheck()
    assert visible(page) == ["core/worse", "core/new"]
    assert page.locator("details.case[data-change=same]").first.get_attribute("hidden") == ""
    assert page.locator("#shown").inner_text() == "2"
    page.locator("input[name=change][value=same]").check()
    assert len(visible(page)) == 4
    assert problems == []


def test_the_grade_and_review_filters_narrow_the_cases(opened):
    page, problems = opened
    page.locator("select[name=grade]").select_option("partial")
    assert visible(page) == ["core/new"]
    page.locator("select[name=grade]").select_option("any")
    page.locator("input[name=review]").check()
    assert visible(page) == ["core/worse"]
    assert problems == []
