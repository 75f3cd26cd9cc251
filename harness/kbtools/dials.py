"""`harness dials`: tune what the AI handles and what goes to a person, from evidence.

From the conversations scored into the history store (`harness score`), a table per topic:
automated-resolution rate, CSAT (share of 4-5 ratings), repeat contacts within 24 hours,
how often customers ask for a person, and how often a human agent closed a handed-over
conversation with one short reply. Each topic gets a recommendation with its evidence:
narrow the AI's scope (CSAT below 70%, repeat contacts, requests for a person) or widen it
(people close it in one short reply). `--what-if` re-runs the suites with a candidate
`min_confidence` or topic list and shows the trade-off between automation and accuracy
before anyone changes the live rules.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import Field

from harness.coach.handover import is_repeat_contact, person_phrases
from harness.pipeline.pipeline import Pipeline
from harness.store.loading import Store, load_suites
from harness.store.schema import Escalation, Frozen, Phrase
from harness.text.matching import phrase_in

__all__ = ["Candidate", "Measure", "TopicDials", "WhatIf", "recommend", "rows", "topic_dials",
           "what_if"]

LOW_CSAT = 0.70  # below this share of 4-5 ratings, the AI should hand the topic over
HIGH_RATE = 0.10  # repeat contacts or requests for a person above this: narrow the scope
SHORT_REPLY_WORDS = 60  # a human reply this short closes an easy question
WIDEN_SHARE = 0.5  # half the hand-offs closed in one short reply: the AI could do it
MIN_CONVERSATIONS = 5  # fewer than this on a topic is no evidence either way


@dataclass(frozen=True)
class TopicDials:
    topic: str
    conversations: int
    automated: float
    csat: float | None
    repeat_24h: float
    asked_for_person: float
    closed_in_one_short_reply: float | None  # of the conversations a person took over
    handed_over: int


@dataclass(frozen=True)
class Row:
    """One conversation as the dials need it (read from the history store)."""

    id: str
    started_at: dt.datetime
    customer: str
    topic: str
    csat: int | None
    automated: bool
    human_turns: tuple[str, ...]
    customer_turns: tuple[str, ...]


def rows(engine: sa.Engine, since: dt.date | None) -> list[Row]:
    """The scored conversations of the history, oldest first."""
    table = sa.Table("harness_conversations", sa.MetaData(), autoload_with=engine)
    query = sa.select(table)
    if since:
        query = query.where(table.c.started_at >= dt.datetime.combine(since, dt.time()))
    rows = []
    with engine.connect() as conn:
        for r in conn.execute(query).mappings():
            messages = r["messages"] or []
            rows.append(Row(
                r["id"], r["started_at"], r["customer"], r["topic"] or "(no topic)", r["csat"],
                bool(r["automated"]),
                tuple(m["text"] for m in messages if m.get("role") == "agent"),
                tuple(m["text"] for m in messages if m.get("role") == "customer"),
            ))
    return sorted(rows, key=lambda row: row.started_at)


def _repeats(rows: Sequence[Row]) -> set[str]:
    """Conversations followed by the same customer on the same topic (`harness score`'s rule)."""
    last: dict[str, Row] = {}
    repeated = set()
    for row in rows:
        earlier = last.get(row.customer)
        if earlier and is_repeat_contact(earlier.topic, earlier.started_at, row.topic,
                                         row.started_at):
            repeated.add(earlier.id)
        last[row.customer] = row
    return repeated


def _asks_for_person(row: Row, rules: Escalation) -> bool:
    phrases = person_phrases(rules)
    return any(phrase_in(p, text) for text in row.customer_turns for p in phrases)


def topic_dials(rows: Sequence[Row], rules: Escalation) -> list[TopicDials]:
    """Per topic, the evidence; "asks for a person" as agent.yaml's escalation rules define it."""
    repeated = _repeats(rows)
    by_topic: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_topic[row.topic].append(row)
    dials = []
    for topic, mine in sorted(by_topic.items()):
        rated = [r.csat for r in mine if r.csat is not None]
        handed = [r for r in mine if r.human_turns]
        short = [r for r in handed if len(r.human_turns) == 1
                 and len(r.human_turns[0].split()) <= SHORT_REPLY_WORDS]
        dials.append(TopicDials(
            topic=topic,
            conversations=len(mine),
            automated=sum(r.automated for r in mine) / len(mine),
            csat=sum(c >= 4 for c in rated) / len(rated) if rated else None,
            repeat_24h=sum(r.id in repeated for r in mine) / len(mine),
            asked_for_person=sum(_asks_for_person(r, rules) for r in mine) / len(mine),
            closed_in_one_short_reply=len(short) / len(handed) if handed else None,
            handed_over=len(handed),
        ))
    return dials


def recommend(d: TopicDials) -> str:
    """Narrow, widen or keep, with the evidence that says so."""
    if d.conversations < MIN_CONVERSATIONS:
        return f"keep (only {d.conversations} conversation(s): too few to judge)"
    narrow = []
    if d.csat is not None and d.csat < LOW_CSAT:
        narrow.append(f"CSAT {d.csat:.0%} < {LOW_CSAT:.0%}")
    if d.repeat_24h > HIGH_RATE:
        narrow.append(f"{d.repeat_24h:.0%} come back within 24 h")
    if d.asked_for_person > HIGH_RATE:
        narrow.append(f"{d.asked_for_person:.0%} ask for a person")
    if narrow:
        return "narrow: hand it to people (" + "; ".join(narrow) + ")"
    if d.closed_in_one_short_reply is not None and d.closed_in_one_short_reply >= WIDEN_SHARE:
        return (f"widen: let the AI answer ({d.closed_in_one_short_reply:.0%} of"
                f" {d.handed_over} hand-offs closed in one short reply)")
    return "keep"


# -- what-if ---------------------------------------------------------------------------------


class Candidate(Frozen):
    """A candidate escalation setting: any of agent.yaml's `escalation` keys."""

    min_confidence: float | None = Field(default=None, ge=0, le=1)
    topics: dict[str, tuple[Phrase, ...]] | None = None
    on_request: bool | None = None


def _with(store: Store, candidate: Candidate) -> Store:
    live = store.agent.escalation
    current = {name: getattr(live, name) for name in Escalation.model_fields}
    current["topics"] = dict(live.topics)
    changes = {k: v for k, v in candidate if v is not None}
    escalation = Escalation.model_validate({**current, **changes})
    agent = store.agent.model_copy(update={"escalation": escalation})
    return Store(store.root, store.articles, store.catalog, agent, store.template_path)


@dataclass(frozen=True)
class Measure:
    """The suites under one set of escalation rules."""

    cases: int
    automation: float  # share resolved by the AI
    accuracy: float  # share passing accuracy
    passed: float  # share passing every dimension
    outcomes: Mapping[str, str | None]


@dataclass(frozen=True)
class WhatIf:
    live: Measure
    candidate: Measure

    @property
    def flipped(self) -> list[tuple[str, str | None, str | None]]:
        """(case, outcome under the live rules, under the candidate) for each case that flips."""
        return [(cid, outcome, self.candidate.outcomes.get(cid))
                for cid, outcome in sorted(self.live.outcomes.items())
                if self.candidate.outcomes.get(cid) != outcome]


def _measure(pipeline: Pipeline, store: Store) -> Measure:
    cases = load_suites(store)[0]
    evaluated = pipeline.evaluate(store, cases)
    total = len(evaluated) or 1
    accurate = sum(e.graded.grades.get("accuracy") is not None
                   and e.graded.grades["accuracy"].grade == "pass" for e in evaluated)
    return Measure(len(evaluated), sum(e.run.outcome == "resolve" for e in evaluated) / total,
                   accurate / total, sum(e.graded.passed for e in evaluated) / total,
                   {e.case.case_id: e.run.outcome for e in evaluated})


def what_if(pipeline: Pipeline, store: Store, candidate: Candidate) -> WhatIf:
    """The suites under the live rules and under the candidate, through the same pipeline (and
    so the same response cache, timeout and retries)."""
    return WhatIf(_measure(pipeline, store), _measure(pipeline, _with(store, candidate)))
