"""harness dials: per-topic evidence, recommendations, and the what-if re-run."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from harness.cli import main
from harness.cli.kb import what_if_table
from harness.kbtools.dials import Candidate, Row, TopicDials, recommend, topic_dials, what_if
from harness.pipeline.pipeline import Pipeline
from harness.pipeline.settings import Settings
from harness.store.loading import load_store
from harness.store.schema import Escalation

REPO = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 11, 23, 9, 0)


def row(n: int, topic: str, *, customer: str | None = None, hours: float = 0, csat: int | None = 5,
        automated: bool = True, human: tuple[str, ...] = (), says: str = "Where is my order?"
        ) -> Row:
    return Row(f"c{n}", T0 + dt.timedelta(hours=hours), customer or f"cust{n}", topic, csat,
               automated, human, (says,))


def dial(**changes: object) -> TopicDials:
    base = dict(topic="t", conversations=20, automated=0.9, csat=0.9, repeat_24h=0.0,
                asked_for_person=0.0, closed_in_one_short_reply=None, handed_over=0)
    return TopicDials(**{**base, **changes})  # type: ignore[arg-type]


def test_rates_per_topic_count_repeats_requests_and_short_human_replies():
    rows = [
        row(1, "returns", customer="a", csat=2),
        row(2, "returns", customer="a", hours=5, csat=1),  # back within 24 h: c1 is a repeat
        row(3, "returns", customer="b", hours=30, says="can I talk to a real person"),
        row(4, "returns", customer="c", automated=False, human=("Done, refunded.",)),
        row(5, "returns", customer="a", hours=60),  # more than 24 h after c2: no repeat
    ]
    (returns,) = topic_dials(rows, Escalation())
    assert returns.conversations == 5
    assert returns.repeat_24h == 1 / 5
    assert returns.asked_for_person == 1 / 5
    assert returns.automated == 4 / 5
    assert returns.csat == 3 / 5
    assert returns.closed_in_one_short_reply == 1.0


def test_recommendations_name_their_evidence():
    assert recommend(dial(csat=0.6)).startswith("narrow")
    assert "CSAT 60% < 70%" in recommend(dial(csat=0.6))
    assert "come back within 24 h" in recommend(dial(repeat_24h=0.2))
    assert "ask for a person" in recommend(dial(asked_for_person=0.3))
    widen = recommend(dial(closed_in_one_short_reply=0.8, handed_over=5))
    assert widen.startswith("widen") and "80% of 5 hand-offs" in widen
    assert recommend(dial()) == "keep"
    assert "too few" in recommend(dial(conversations=2, csat=0.0))


def test_what_if_shows_the_trade_off_and_the_cases_that_flip():
    store = load_store(REPO)
    pipeline = Pipeline(Settings(today=dt.date(2026, 11, 28)))
    result = what_if(pipeline, store, Candidate(min_confidence=0.99))
    assert result.live.automation != result.candidate.automation  # automation rate moves
    assert ("resolve", "escalate") in {(before, after) for _, before, after in result.flipped}
    text = what_if_table(result)
    live, candidate = [line for line in text.splitlines() if line.startswith(("live", "cand"))]
    assert live.split()[2] != candidate.split()[1]
    assert "change outcome:" in text and "resolve -> escalate" in text


def test_a_request_for_a_person_is_what_agent_yaml_says_it_is():
    rows = [row(1, "orders", says="let me speak with your customer desk please")]
    assert topic_dials(rows, Escalation())[0].asked_for_person == 0.0
    custom = Escalation(request_phrases=("/customer desk/",))
    assert topic_dials(rows, custom)[0].asked_for_person == 1.0


def test_the_command_reads_the_scored_history(tmp_path, capsys):
    for part in ("knowledge", "prompts", "suites", "examples"):
        shutil.copytree(REPO / part, tmp_path / part)
    assert main(["dials", "--store", str(tmp_path)]) == 1  # nothing scored yet
    assert main(["score", str(tmp_path / "examples" / "export-2026-W48.jsonl"),
                 "--store", str(tmp_path)]) in (0, 1)
    capsys.readouterr()
    assert main(["dials", "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "recommendation" in out and "returns" in out
    assert "narrow" in out
