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

import argparse
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from tabulate import tabulate

from harness.agent.escalation import ASKS_FOR_PERSON
from harness.pipeline.settings import parse_date
from harness.store.loading import Store, load_suites, load_yaml_file, open_store
from harness.store.schema import Escalation, Frozen, Phrase
from harness.text.matching import phrase_in

__all__ = ["TopicDials", "recommend", "register", "topic_dials", "what_if"]

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


def _rows(engine: sa.Engine, since: dt.date | None) -> list[Row]:
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
    """Conversations followed by the same customer on the same topic within 24 hours."""
    last: dict[tuple[str, str], Row] = {}
    repeated = set()
    for row in rows:
        key = (row.customer, row.topic)
        earlier = last.get(key)
        if earlier and row.started_at - earlier.started_at <= dt.timedelta(hours=24):
            repeated.add(earlier.id)
        last[key] = row
    return repeated


def _asks_for_person(row: Row) -> bool:
    return any(phrase_in(p, text) for text in row.customer_turns for p in ASKS_FOR_PERSON)


def topic_dials(rows: Sequence[Row]) -> list[TopicDials]:
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
            asked_for_person=sum(_asks_for_person(r) for r in mine) / len(mine),
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


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def dials_table(dials: Iterable[TopicDials]) -> str:
    rows = [[d.topic, d.conversations, _percent(d.automated), _percent(d.csat),
             _percent(d.repeat_24h), _percent(d.asked_for_person),
             _percent(d.closed_in_one_short_reply), recommend(d)] for d in dials]
    headers = ["topic", "convs", "automated", "CSAT", "repeat 24h", "ask person",
               "1 short reply", "recommendation"]
    return tabulate(rows, headers=headers, disable_numparse=True)


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


def _measure(store: Store, today: dt.date) -> Mapping[str, Any]:
    from harness.agent.loop import Agent
    from harness.grading.fixture import grade_run
    from harness.pipeline.runner import run_cases

    cases = load_suites(store)[0]
    runs = run_cases(Agent(store, today=today), cases)
    graded = [grade_run(c, runs[c.case_id][0], store) for c in cases]
    resolved = sum(runs[c.case_id][0].outcome == "resolve" for c in cases)
    accurate = sum(g.grades.get("accuracy") is not None and g.grades["accuracy"].grade == "pass"
                   for g in graded)
    passed = sum(g.passed for g in graded)
    return {"cases": len(cases), "automation": resolved / len(cases) if cases else 0.0,
            "accuracy": accurate / len(cases) if cases else 0.0,
            "passed": passed / len(cases) if cases else 0.0,
            "outcomes": {c.case_id: runs[c.case_id][0].outcome for c in cases}}


def what_if(store: Store, candidate: Candidate, today: dt.date) -> str:
    """The suites under the live rules and under the candidate, side by side."""
    now, then = _measure(store, today), _measure(_with(store, candidate), today)
    flipped = sorted(cid for cid, outcome in now["outcomes"].items()
                     if then["outcomes"].get(cid) != outcome)
    rows = [[name, f"{m['automation']:.0%}", f"{m['accuracy']:.0%}", f"{m['passed']:.0%}"]
            for name, m in (("live rules", now), ("candidate", then))]
    table = tabulate(rows, headers=["rules", "automation (resolved)", "accuracy pass",
                                    "cases passing"], disable_numparse=True)
    lines = [table, f"{len(flipped)} case(s) change outcome" + (":" if flipped else "")]
    lines += [f"  {cid}: {now['outcomes'][cid]} -> {then['outcomes'].get(cid)}"
              for cid in flipped]
    return "\n".join(lines)


def cmd_dials(args: argparse.Namespace) -> int:
    from harness.history import open_history

    store = open_store(args.store)
    if args.what_if:
        candidate = load_yaml_file(Path(args.what_if), Candidate)
        print(what_if(store, candidate, dt.date.today()))
        return 0
    history = open_history(args.history, store.root)
    rows = _rows(history.engine, parse_date(args.since, "--since") if args.since else None)
    if not rows:
        print("no scored conversations in the history yet: run `harness score EXPORT.jsonl`")
        return 1
    print(dials_table(topic_dials(rows)))
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser("dials", help="per-topic evidence to widen or narrow what the"
                                 " AI handles; --what-if for a candidate rule")
    parser.add_argument("--store", help="the store's folder (default: the current one)")
    parser.add_argument("--history", metavar="URL", help="history database (default: the"
                        " store's SQLite file)")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only conversations from then on")
    parser.add_argument("--what-if", metavar="CANDIDATE.yaml",
                        help="re-run the suites with these escalation settings (min_confidence,"
                             " topics, on_request) and compare with the live rules")
    parser.set_defaults(func=cmd_dials)
