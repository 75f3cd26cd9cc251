"""`harness score`: production conversations graded with the rubric, streaming, no fixture."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

from harness.cli import main
from harness.coach import score as score_module
from harness.coach.production import ProductionGrader, Scored
from harness.coach.score import RepeatContacts, score_export
from harness.store.conversations import Conversation, Progress
from harness.store.loading import load_store

SEASONAL = {
    "holiday-sale": {
        "title": "Holiday sale on grinders", "topic": "promotions", "status": "active",
        "valid_from": "2026-11-27", "valid_until": "2026-11-30",
        "body": "Our holiday sale takes 25% off every grinder.",
    },
}


@pytest.fixture
def grader(make_store) -> ProductionGrader:
    return ProductionGrader(load_store(make_store()))


def grade(grader: ProductionGrader, *turns, at: str = "2026-11-20T10:00", **extra) -> Scored:
    return grader.grade(Conversation.model_validate(conversation("c1", at, *turns, **extra)))


def test_a_good_conversation_passes_every_dimension(grader):
    scored = grade(grader, RETURNS_Q, RETURNS_A)

    assert {n: d.grade for n, d in scored.grades.items()} == {
        "accuracy": "pass", "relevance": "pass", "tone": "pass", "resolution": "pass"}
    assert scored.score == 1.0 and not scored.review and scored.automated
    assert scored.reasons["relevance"] == "answers the question from article returns-policy"


def test_a_hallucinated_price_fails_accuracy_with_the_catalog_price(grader):
    scored = grade(grader, ("customer", "How much is the Burr Grinder S2?"),
                   ("ai", "The Burr Grinder S2 costs $169.00."))

    accuracy = scored.grades["accuracy"]
    assert accuracy.grade == "fail" and scored.review
    assert "$169.00" in accuracy.reason and "$189.00" in accuracy.reason


def test_a_policy_figure_the_kb_contradicts_names_the_figure_and_the_article(grader):
    scored = grade(grader, RETURNS_Q, ("ai", "You can return most items within 14 days."))

    reason = scored.grades["accuracy"].reason
    assert scored.grades["accuracy"].grade == "fail"
    assert "'14 days'" in reason and "article returns-policy says 30 days" in reason
    assert scored.wrong == ("14 days",) and scored.right == ("30 days",)


def test_a_wrong_amount_is_flagged_against_the_article_that_states_it(grader):
    scored = grade(grader, ("customer", "How much does express shipping cost?"),
                   ("ai", "Express shipping costs $9.95 and arrives in 1-2 business days."))

    assert "'$9.95'; article shipping says $14.95" in scored.grades["accuracy"].reason


def test_a_figure_no_served_article_backs_fails_accuracy_and_is_reviewed(grader):
    scored = grade(grader, RETURNS_Q,
                   ("ai", "You can return most items within 30 days, and we gift-wrap any"
                          " order for $4.50."))

    assert scored.grades["accuracy"].grade == "fail" and scored.review
    assert "'$4.50', which no article served" in scored.grades["accuracy"].reason


def test_a_figure_from_an_article_not_yet_served_is_flagged_on_that_date(make_store):
    grader = ProductionGrader(load_store(make_store(articles=SEASONAL)))
    turns = (("customer", "Are grinders on sale?"), ("ai", "Yes, every grinder is 25% off."))

    before = grade(grader, *turns, at="2026-11-20T10:00")
    during = grade(grader, *turns, at="2026-11-28T10:00")

    assert before.grades["accuracy"].grade == "fail"
    assert "no article served on 2026-11-20 supports" in before.grades["accuracy"].reason
    assert "holiday-sale, which is not served before 2026-11-27" in \
        before.grades["accuracy"].reason
    assert during.grades["accuracy"].grade == "pass"


def test_a_figure_the_customer_stated_is_not_the_ai_claim(grader):
    scored = grade(grader, ("customer", "I got it 45 days ago. Can I still return it?"),
                   ("ai", "After 45 days it is past the window: you can return items within"
                          " 30 days of delivery."))

    assert scored.grades["accuracy"].grade == "pass"


def test_tone_uses_the_store_profile(grader):
    scored = grade(grader, RETURNS_Q, ("ai", "As an AI, I can say you have 30 days."))

    assert scored.grades["tone"].grade == "fail"
    assert "banned phrase 'as an AI'" in scored.grades["tone"].reason


def test_a_request_for_a_person_not_handed_over_fails_resolution(grader):
    scored = grade(grader, ("customer", "I want to talk to a real person"),
                   ("ai", "You can return most items within 30 days of delivery."))

    assert scored.grades["resolution"].grade == "fail"
    assert "asked for a person" in scored.grades["resolution"].reason
    assert scored.outcome == "resolve" and not scored.automated


@pytest.mark.parametrize("handed_over", [
    {"turns": [("agent", "Hi, Sam here. How can I help?")]},
    {"escalated": True},
])
def test_a_request_for_a_person_handed_over_passes(grader, handed_over):
    turns = [("customer", "agent please"), ("ai", "I'm passing you to our team."),
             *handed_over.get("turns", [])]
    extra = {k: v for k, v in handed_over.items() if k != "turns"}

    scored = grade(grader, *turns, **extra)

    assert scored.grades["resolution"].grade == "pass"
    assert scored.outcome == "escalate" and scored.handoff == "asked for a person"


def test_a_topic_that_needs_a_person_answered_by_the_ai_fails_resolution(grader):
    scored = grade(grader, ("customer", "I will file a chargeback for this order"),
                   ("ai", "Refunds go back to your card within 30 days."))

    reason = scored.grades["resolution"].reason
    assert scored.grades["resolution"].grade == "fail"
    assert "payment-dispute must go to a person ('chargeback'" in reason


def test_relevance_not_judged_is_left_out_and_the_weights_renormalised(grader):
    scored = grade(grader, ("customer", "agent please"), ("ai", "As an AI I pass you on."),
                   ("agent", "Hi, Sam here."))

    assert "relevance" not in scored.grades
    assert scored.reasons["relevance"].startswith("not judged:")
    assert scored.grades["tone"].grade == "fail"
    assert scored.score == pytest.approx((40 + 15) / (40 + 20 + 15), abs=1e-4)


def test_a_conversation_without_an_ai_message_is_graded_on_resolution_alone(grader):
    scored = grade(grader, RETURNS_Q, ("agent", "30 days, Sam here."))

    assert list(scored.grades) == ["resolution"] and scored.score == 1.0
    assert scored.reasons["accuracy"] == "not judged: the AI wrote no message"


def test_an_ai_reply_that_shares_no_word_with_the_question_fails_relevance(grader):
    scored = grade(grader, ("customer", "How long does standard shipping take?"),
                   ("ai", "Our grinders come with a warranty."))

    assert scored.grades["relevance"].grade == "fail"


# -- repeat contacts -------------------------------------------------------------------------


def _repeats(grader: ProductionGrader, *rows: dict) -> dict[str, Scored]:
    repeats = RepeatContacts(grader.weights)
    done = []
    for row in rows:
        done += repeats.add(grader.grade(Conversation.model_validate(row)))
    return {s.id: s for s in done + repeats.finish()}


def test_a_repeat_contact_fails_the_resolution_of_the_earlier_conversation(grader):
    first = conversation("a", "2026-11-20T09:00", RETURNS_Q, RETURNS_A, topic="returns")
    again = conversation("b", "2026-11-20T14:00", RETURNS_Q, RETURNS_A, topic="returns")

    scored = _repeats(grader, first, again)

    resolution = scored["a"].grades["resolution"]
    assert resolution.grade == "fail" and "came back 5 h later on returns (b)" in resolution.reason
    assert scored["a"].score == pytest.approx(0.85)
    assert scored["b"].grades["resolution"].grade == "pass"


@pytest.mark.parametrize("later", [
    {"at": "2026-11-21T10:00", "topic": "returns"},            # more than 24 hours later
    {"at": "2026-11-20T14:00", "topic": "shipping"},           # another topic
    {"at": "2026-11-20T14:00", "topic": "returns", "customer": "c-2"},  # someone else
])
def test_not_a_repeat_contact(grader, later):
    first = conversation("a", "2026-11-20T09:00", RETURNS_Q, RETURNS_A, topic="returns")
    again = conversation("b", later["at"], RETURNS_Q, RETURNS_A, topic=later["topic"],
                         customer=later.get("customer", "c-1"))

    assert _repeats(grader, first, again)["a"].grades["resolution"].grade == "pass"


def test_a_repeat_contact_out_of_order_still_fails_the_earlier_one(grader):
    later = conversation("b", "2026-11-20T14:00", RETURNS_Q, RETURNS_A, topic="returns")
    earlier = conversation("a", "2026-11-20T09:00", RETURNS_Q, RETURNS_A, topic="returns")

    scored = _repeats(grader, later, earlier)

    assert scored["a"].grades["resolution"].grade == "fail"
    assert scored["b"].grades["resolution"].grade == "pass"


def test_a_conversation_is_held_only_for_the_24_hour_window(grader):
    repeats = RepeatContacts(grader.weights)
    day = [grader.grade(Conversation.model_validate(
        conversation(f"c{i}", f"2026-11-{20 + 2 * i}T09:00", RETURNS_Q, RETURNS_A)))
        for i in range(3)]

    assert repeats.add(day[0]) == []
    assert [s.id for s in repeats.add(day[1])] == ["c0"]
    assert [s.id for s in repeats.add(day[2])] == ["c1"]
    assert [s.id for s in repeats.finish()] == ["c2"]


def test_the_export_is_read_as_a_stream(grader, tmp_path):
    rows = [conversation(f"c{i}", f"2026-11-{10 + 2 * i}T09:00", RETURNS_Q, RETURNS_A)
            for i in range(3)]
    export = write_export(tmp_path / "export.jsonl", *rows)
    progress = Progress(export.stat().st_size, lambda _: None)

    stream = score_export(export, grader, on_bad=lambda _: None, progress=progress)
    first = next(stream)

    assert first.id == "c0" and progress.lines == 2  # the third line is not read yet
    assert [s.id for s in stream] == ["c1", "c2"]


# -- the command -----------------------------------------------------------------------------


def test_score_reports_malformed_lines_with_their_numbers_and_keeps_the_rest(
    make_store, tmp_path, capsys
):
    store = make_store()
    good = conversation("ok-1", "2026-11-20T10:00", RETURNS_Q, RETURNS_A)
    unknown = {**conversation("bad-key", "2026-11-20T11:00", RETURNS_Q), "sentiment": 0.2}
    export = write_export(tmp_path / "export.jsonl", good, '{"id": "broken", ', unknown,
                          conversation("ok-2", "2026-11-20T12:00", RETURNS_Q, RETURNS_A,
                                       customer="c-2"))
    report = tmp_path / "scores.json"

    status = main(["score", str(export), "--store", str(store), "--no-history",
                   "--json", str(report)])

    out, err = capsys.readouterr()
    assert status == 1
    assert "line 2: not valid JSON" in err
    assert "line 3 at `sentiment`: unknown key" in err
    assert "2 conversation(s) scored" in out and "2 line(s) skipped" in out
    cases = json.loads(report.read_text())
    assert [c["id"] for c in cases] == ["ok-1", "ok-2"]
    assert {"id", "grades", "score", "review", "reasons"} <= set(cases[0])
    assert cases[0]["grades"]["accuracy"] == "pass" and cases[0]["score"] == 1.0


def test_a_large_export_shows_a_summary_the_worst_n_and_progress(
    make_store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(score_module, "PROGRESS_EVERY", 10)
    store = make_store()
    rows = [conversation(f"c{i:02d}", f"2026-11-{1 + i % 28:02d}T10:00", RETURNS_Q, RETURNS_A,
                         customer=f"c-{i}") for i in range(40)]
    rows[7] = conversation("c07", "2026-11-08T10:00", RETURNS_Q,
                           ("ai", "You can return items within 14 days."), customer="c-7")
    export = write_export(tmp_path / "export.jsonl", *rows)

    status = main(["score", str(export), "--store", str(store), "--no-history",
                   "--worst", "3"])

    out, err = capsys.readouterr()
    assert status == 0
    assert "40 conversation(s) scored" in out
    assert "the 3 worst of 40" in out
    table = out.split("the 3 worst of 40", 1)[1]
    assert "c07" in table and len([line for line in table.splitlines() if line[:2] in
                                   ("c0", "c1", "c2", "c3")]) == 3
    assert "read 10 lines" in err and "read 40 lines (100% of the export)" in err


def test_score_without_an_export_file_is_an_error(make_store, tmp_path, capsys):
    status = main(["score", str(tmp_path / "missing.jsonl"), "--store", str(make_store()),
                   "--no-history"])

    assert status == 1
    assert "no such export file" in capsys.readouterr().err


def test_started_at_is_kept_in_utc(grader):
    row = conversation("tz", "2026-11-20T23:30", RETURNS_Q, RETURNS_A)
    row["started_at"] = "2026-11-20T23:30:00-05:00"

    scored = grader.grade(Conversation.model_validate(row))

    assert scored.started_at == dt.datetime(2026, 11, 21, 4, 30)
    assert scored.to_json()["started_at"] == "2026-11-21T04:30:00Z"


def test_the_sample_export_scores(capsys):
    root = Path(__file__).resolve().parent.parent
    status = main(["score", str(root / "examples" / "export-2026-W48.jsonl"),
                   "--store", str(root), "--no-history"])

    out = capsys.readouterr().out
    assert status == 0
    assert "40 conversation(s) scored" in out
