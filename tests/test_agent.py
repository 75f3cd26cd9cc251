"""agent.py: `Agent.run` end to end on a written store, with the reference model reached
through litellm (offline)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from storekit import ARTICLES, case

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.store.loading import Store, load_case, load_store

TODAY = dt.date(2026, 11, 27)
HANDOFF = "I'm passing this conversation to a member of our support team"

SEASONAL = {
    **ARTICLES,
    "holiday-returns": {
        "title": "Holiday returns", "topic": "returns", "status": "active",
        "valid_from": "2026-11-20", "valid_until": "2026-12-02",
        "body": "Holiday gifts bought between November 20 and December 2 can be returned"
                " until January 31.",
    },
}


def load(root: Path, suite: str = "core") -> tuple[Store, dict]:
    store = load_store(root)
    taken: dict[str, Path] = {}
    paths = sorted((root / "suites" / suite).glob("*.yaml"))
    cases = {p.stem: load_case(p, store, taken) for p in paths}
    return store, cases


def run(store: Store, fixture, *, as_of: dt.date | None = None, today: dt.date = TODAY) -> Run:
    return asyncio.run(Agent(store, as_of=as_of, today=today).run(fixture))


def run_one(make_store, customer: str, *earlier, agent=None, articles=None, **extra) -> Run:
    root = make_store(agent=agent, articles=articles,
                      suites={"core": {"q": case(customer, *earlier, **extra)}})
    store, cases = load(root)
    return run(store, cases["q"])


def test_resolves_with_a_grounded_reply(make_store):
    result = run_one(make_store, "How many days do I have to return an item?")
    assert result.error is None
    assert result.case_id == "core/q"
    assert result.outcome == "resolve"
    assert result.decided_by == "model"
    assert "30 days" in result.reply
    assert result.reply.endswith("- Test Roasters team")
    assert result.retrieved[0].id == "returns-policy"
    assert 0 < result.retrieved[0].confidence <= 1
    assert result.served == ("returns-policy", "shipping", "warranty")
    assert result.model.endswith("kb-grounded")
    assert result.as_of == TODAY
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    system, *turns = result.messages
    assert system["role"] == "system" and "within 30 days of delivery" in system["content"]
    assert turns == [{"role": "user", "content": "How many days do I have to return an item?"}]


def test_earlier_turns_reach_the_model_in_order(make_store):
    result = run_one(make_store, "And how much does express shipping cost?",
                     ("customer", "I ordered a grinder."), ("agent", "Thanks for your order!"))
    assert [m["role"] for m in result.messages] == ["system", "user", "assistant", "user"]
    assert result.messages[2]["content"] == "Thanks for your order!"
    assert result.outcome == "resolve"
    assert "$14.95" in result.reply


def test_a_catalog_price_question_is_answered_with_the_catalog_price(make_store):
    result = run_one(make_store, "How much is the Burr Grinder S2?")
    assert result.outcome == "resolve", result.why
    assert "$189.00" in result.reply


def test_topic_rule_escalates_before_the_model(make_store):
    result = run_one(make_store, "I will file a chargeback if my refund does not arrive.")
    assert result.outcome == "escalate"
    assert result.decided_by == "topic:payment-dispute"
    assert "chargeback" in result.why
    assert result.reply.startswith(HANDOFF)
    assert result.reply.endswith("\n\n- Test Roasters team")
    assert result.messages == ()  # no model call
    assert result.prompt_tokens == 0


def test_asking_for_a_person_escalates(make_store):
    result = run_one(make_store, "Can I talk to a human about my return?")
    assert (result.outcome, result.decided_by) == ("escalate", "on_request")
    assert "talk to a human" in result.why


def test_low_confidence_escalates(make_store):
    result = run_one(make_store, "Do you have a loyalty program for students?",
                     agent={"escalation": {"min_confidence": 0.5}})
    assert (result.outcome, result.decided_by) == ("escalate", "min_confidence")
    assert "below min_confidence 0.50" in result.why


def test_the_model_escalates_with_the_tool_when_the_kb_is_silent(make_store):
    result = run_one(make_store, "Do you sell live lobsters?",
                     agent={"escalation": {"min_confidence": 0.0}})
    assert result.error is None
    assert (result.outcome, result.decided_by) == ("escalate", "model")
    assert result.why.startswith("the model escalated:")
    assert result.reply.startswith(HANDOFF)


def test_custom_handoff_message(make_store):
    agent = {"escalation": {"on_request": True, "handoff_message": "A colleague will help."},
             "tone": {"sign_off": "- Bot"}}
    result = run_one(make_store, "agent please", agent=agent)
    assert result.reply == "A colleague will help.\n\n- Bot"


def test_a_broken_template_is_an_error_on_the_run(make_store):
    root = make_store(template="Hello {{ brand_name }}\n")
    store, cases = load(root)
    result = run(store, cases["returns-window"])
    assert result.outcome is None
    assert result.error is not None
    assert "system.md.j2, line 1" in result.error and "brand_name" in result.error


# -- the KB date: fixture as_of, else --as-of, else today ------------------------------------

HOLIDAY_Q = "Until when can I return holiday gifts?"


def seasonal_store(make_store, **fixture_extra) -> tuple[Store, object]:
    root = make_store(articles=SEASONAL, suites={"core": {"q": case(HOLIDAY_Q, **fixture_extra)}})
    store, cases = load(root)
    return store, cases["q"]


def test_today_when_nothing_else_is_set(make_store):
    store, fixture = seasonal_store(make_store)
    inside = run(store, fixture, today=dt.date(2026, 11, 25))
    outside = run(store, fixture, today=dt.date(2026, 12, 10))
    assert inside.as_of == dt.date(2026, 11, 25)
    assert outside.as_of == dt.date(2026, 12, 10)
    assert "holiday-returns" in inside.served
    assert "holiday-returns" not in outside.served


def test_as_of_option_wins_over_today(make_store):
    store, fixture = seasonal_store(make_store)
    result = run(store, fixture, as_of=dt.date(2026, 11, 21), today=dt.date(2027, 3, 1))
    assert result.as_of == dt.date(2026, 11, 21)
    assert "holiday-returns" in result.served


def test_fixture_as_of_wins_over_the_option_and_today(make_store):
    store, fixture = seasonal_store(make_store, as_of="2026-12-01")
    result = run(store, fixture, as_of=dt.date(2027, 1, 15), today=dt.date(2027, 3, 1))
    assert result.as_of == dt.date(2026, 12, 1)
    assert "holiday-returns" in result.served
    store, fixture = seasonal_store(make_store, as_of="2026-12-03")
    result = run(store, fixture, as_of=dt.date(2026, 11, 25), today=dt.date(2026, 11, 25))
    assert result.as_of == dt.date(2026, 12, 3)
    assert "holiday-returns" not in result.served


@pytest.mark.parametrize(
    ("day", "served"),
    [("2026-11-19", False), ("2026-11-20", True), ("2026-12-02", True), ("2026-12-03", False)],
)
def test_seasonal_article_is_served_only_inside_its_window(make_store, day, served):
    store, fixture = seasonal_store(make_store, as_of=day)
    result = run(store, fixture)
    assert ("holiday-returns" in result.served) is served
    retrieved = [r.id for r in result.retrieved]
    assert ("holiday-returns" in retrieved) is served
    assert ("January 31" in result.reply) is served
    if served:
        assert retrieved[0] == "holiday-returns"
        assert result.outcome == "resolve"
