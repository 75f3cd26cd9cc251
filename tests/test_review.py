"""`harness review --week`: the weekly coaching review, as Markdown and self-contained HTML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

from harness.cli import main
from harness.coach.review import build_review, parse_week
from harness.coach.review_page import render_html, render_markdown
from harness.errors import HarnessError
from harness.history import ConversationRecord, History, open_history
from harness.regression.baseline import Provenance
from harness.store.loading import load_store

W48 = dt.date(2026, 11, 23)  # the Monday of 2026-W48
PASSING = {"accuracy": "pass", "relevance": "pass", "tone": "pass", "resolution": "pass"}


def record(cid: str, day: dt.date, *, automated: bool = True, text: str = "How long?",
           gaps: tuple = (), **grades: str) -> ConversationRecord:
    graded = {**PASSING, **grades}
    if not automated:
        graded["resolution"] = "fail"
    values = {"pass": 1.0, "partial": 0.5, "fail": 0.0}
    weights = {"accuracy": 40, "relevance": 25, "tone": 20, "resolution": 15}
    score = sum(weights[n] * values[g] for n, g in graded.items()) / 100
    return ConversationRecord(
        id=cid, started_at=dt.datetime.combine(day, dt.time(10)), customer=f"c-{cid}",
        channel="chat", topic="returns", csat=None, outcome="resolve", automated=automated,
        handoff=None, score=score, review=score < 0.7, grades=graded,
        reasons={n: f"{n} was {g}" for n, g in graded.items()}, gaps=gaps,
        messages=({"role": "customer", "text": text},),
    )


def week(monday: dt.date, prefix: str, count: int = 50, *, not_automated: int = 0,
         **fails: int) -> list[ConversationRecord]:
    """`count` conversations of the week of `monday`; `fails`: dimension -> how many fail."""
    rows = []
    for i in range(count):
        grades = {name: "fail" for name, n in fails.items() if i < n}
        rows.append(record(f"{prefix}-{i}", monday + dt.timedelta(days=i % 7),
                           automated=i >= not_automated, **grades))
    return rows


@pytest.fixture
def history(make_store) -> History:
    store = load_store(make_store())
    return open_history(None, store.root)


def fill(history: History, *weeks: list[ConversationRecord]) -> None:
    made_with = Provenance(harness="0.1.0", model="reference/kb-grounded", prompt="p", kb="k")
    run = history.start_run("score", "test", made_with)
    for rows in weeks:
        history.record_conversations(run, rows)


# -- the flags -------------------------------------------------------------------------------


@pytest.mark.parametrize(("unresolved_now", "alert"), [(6, False), (7, True)])
def test_automated_resolution_is_flagged_when_it_drops_more_than_2_points(
    history, unresolved_now, alert
):
    fill(history, week(W48 - dt.timedelta(days=7), "w47", not_automated=5),  # 90%
         week(W48, "w48", not_automated=unresolved_now))  # 88% (-2.0) or 86% (-4.0)

    review = build_review(history, W48)

    assert review.resolution.before == 90.0
    assert review.resolution.alert is alert
    assert ("ALERT: automated resolution dropped" in render_markdown(review)) is alert


def test_a_dimension_more_than_3_points_below_its_4_week_average_is_flagged(history):
    earlier = [week(W48 - dt.timedelta(days=7 * back), f"w{48 - back}") for back in (1, 2, 3, 4)]
    fill(history, *earlier, week(W48, "w48", accuracy=2, tone=1))  # 96% and 98% vs 100%

    review = build_review(history, W48)

    trends = {t.name: t for t in review.dimensions}
    assert trends["accuracy"].before == 100.0 and trends["accuracy"].weeks == 4
    assert trends["accuracy"].change == pytest.approx(-4.0) and trends["accuracy"].alert
    assert trends["tone"].change == pytest.approx(-2.0) and not trends["tone"].alert
    markdown = render_markdown(review)
    assert "ALERT: accuracy is 4.0 points below its 4-week average" in markdown
    assert "ALERT: tone" not in markdown


def test_the_rolling_average_leaves_out_weeks_without_data(history):
    fill(history, week(W48 - dt.timedelta(days=14), "w46"), week(W48, "w48", accuracy=5))

    trend = next(t for t in build_review(history, W48).dimensions if t.name == "accuracy")

    assert (trend.before, trend.weeks, trend.now) == (100.0, 1, 90.0)


def test_the_review_lists_the_worst_conversations_with_why_and_the_kb_gaps(history):
    gap = ({"question": "Do you sell oat milk?", "confidence": 0.12, "article": "shipping"},)
    fill(history, [record("bad", W48, accuracy="fail", text="Is it 14 days?"),
                   record("meh", W48, tone="partial"), record("fine", W48),
                   record("gap", W48, gaps=gap, relevance="fail")])

    review = build_review(history, W48)

    assert [row["id"] for row in review.worst] == ["bad", "gap", "meh"]  # "fine" scored 1.0
    assert review.worst[0]["why"] == "accuracy fail: accuracy was fail"
    assert review.gaps_total == 1 and review.gaps[0]["conversation"] == "gap"
    markdown = render_markdown(review)
    assert "1. **bad** (2026-11-23, returns, score 0.60): accuracy fail" in markdown
    assert "> customer: Is it 14 days?" in markdown
    assert "| Do you sell oat milk? | 0.12 | shipping | gap |" in markdown


def test_html_escapes_conversation_text(history):
    attack = "<script>alert('x')</script> where is my order?"
    gap = ({"question": attack, "confidence": 0.1, "article": None},)
    fill(history, [record("xss", W48, accuracy="fail", text=attack, gaps=gap)])

    page = render_html(build_review(history, W48))

    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 2
    assert "<script>" not in render_markdown(build_review(history, W48))


def test_a_week_without_scored_conversations_is_an_error(history):
    with pytest.raises(HarnessError, match="no scored conversation of 2026-W48"):
        build_review(history, W48)


@pytest.mark.parametrize("text", ["2026-48", "2026-W54", "W48", "2026-W00"])
def test_a_bad_week_is_refused(text):
    with pytest.raises(HarnessError, match="expected an ISO week like 2026-W48"):
        parse_week(text)


def test_parse_week_gives_the_monday():
    assert parse_week("2026-W48") == W48


# -- the command -----------------------------------------------------------------------------


def _scored_store(make_store, tmp_path: Path) -> Path:
    store = make_store()
    export = write_export(
        tmp_path / "export.jsonl",
        conversation("a", "2026-11-17T10:00", RETURNS_Q, RETURNS_A, customer="c-1"),
        conversation("b", "2026-11-24T10:00", RETURNS_Q,
                     ("ai", "You can return most items within 14 days."), customer="c-2"),
        conversation("c", "2026-11-25T10:00", ("customer", "chargeback now"),
                     ("ai", "Passing you on."), ("agent", "Sam here."), customer="c-3"),
    )
    assert main(["score", str(export), "--store", str(store)]) == 0
    return store


def test_review_writes_markdown_and_a_self_contained_html_page(make_store, tmp_path, capsys):
    store = _scored_store(make_store, tmp_path)
    out = tmp_path / "reviews"
    capsys.readouterr()

    status = main(["review", "--week", "2026-W48", "--store", str(store), "--out", str(out)])

    assert status == 0
    printed = capsys.readouterr().out
    assert "2026-W48: 2 conversation(s), automated resolution 50.0%" in printed
    assert "ALERT automated resolution: 50.0% vs 100.0%" in printed
    markdown = (out / "review-2026-W48.md").read_text()
    page = (out / "review-2026-W48.html").read_text()
    assert "## 2. Escalations" in markdown and "| payment-dispute | 1 | topic rule:" in markdown
    assert "## 6. Changes we decided on (3-5)" in markdown
    assert markdown.rstrip().endswith("1.\n2.\n3.\n4.\n5.")
    assert page.count("data:image/png;base64,") == 2
    assert "src=\"http" not in page and "<link" not in page


def test_regenerating_keeps_the_teams_list_of_changes(make_store, tmp_path):
    store = _scored_store(make_store, tmp_path)
    args = ["review", "--week", "2026-W48", "--store", str(store)]
    main(args)
    path = store / "reviews" / "review-2026-W48.md"
    path.write_text(path.read_text().replace("1.\n2.", "1. Fix the 14-day answer\n2."))

    main(args)

    assert "1. Fix the 14-day answer\n2.\n" in path.read_text()
    assert "<li>Fix the 14-day answer</li>" in path.with_suffix(".html").read_text()
