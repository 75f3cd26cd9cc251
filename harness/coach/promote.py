"""`harness promote ID --suite NAME`: turn a production conversation into a new fixture.

The conversation comes from an export (`--from EXPORT.jsonl`) or from the history store
(which keeps it redacted). It is graded again (`production`) to find the failing AI turn: the
first AI message that a problem is about, else the last one. The fixture keeps the turns
before it, ending with the customer's turn the agent must answer, and pre-fills what is known:

    outcome    escalate when a person took over after that turn, or the customer asked for
               one, or the topic must go to one; else resolve
    facts      what the served KB says where the AI contradicted it
    forbidden  the figures the AI stated that the KB contradicts
    articles   the best article retrieved for the question (others are listed in a comment)
    as_of      the conversation's date, so the KB is served as the customer saw it
    tools      the back-end results the conversation's tool calls got (export `tool_calls`),
               keyed as agent.yaml's tools take them, with order numbers replaced by
               surrogates of the same shape in the text and the data alike when redacting

A `# TODO(coach)` comment marks it for a person to complete. Personal data is redacted unless
`--no-redact`. An existing fixture is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.coach.handover import needs_person
from harness.coach.production import ProductionGrader
from harness.coach.promote_tools import tool_data
from harness.coach.redact import redact
from harness.errors import HarnessError, LoadError
from harness.history import History
from harness.store.conversations import Conversation, Message
from harness.store.loading import Store, load_case

__all__ = ["Draft", "conversation_from_history", "draft_fixture", "write_fixture"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Draft:
    """A fixture to write: its file stem, its YAML document and what the coach must check."""

    stem: str
    text: str
    data: dict[str, Any]


def _stem(conversation_id: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", conversation_id).strip("-.")
    if not stem:
        raise HarnessError(f"conversation id {conversation_id!r} makes no usable file name")
    return stem


def _failing_turn(conversation: Conversation, grader: ProductionGrader) -> int:
    ai = [i for i, m in enumerate(conversation.messages) if m.role == "ai"]
    if not ai:
        raise HarnessError(f"conversation {conversation.id} has no AI message to promote")
    turn = grader.grade(conversation).turn
    return turn if turn is not None and turn in ai else ai[-1]


def _kept(messages: tuple[Message, ...], failing: int) -> list[Message]:
    kept = list(messages[:failing])
    while kept and kept[-1].role != "customer":
        kept.pop()
    if not kept:
        raise HarnessError("no customer turn before the failing AI message; nothing to answer")
    return kept


def draft_fixture(
    conversation: Conversation, store: Store, *, redacted: bool = True, today: dt.date
) -> Draft:
    grader = ProductionGrader(store)
    scored = grader.grade(conversation)
    failing = _failing_turn(conversation, grader)
    kept = _kept(conversation.messages, failing)
    later = conversation.messages[failing:]
    asked = " ".join(m.text for m in kept if m.role == "customer")
    escalate = (any(m.role == "agent" for m in later) or bool(conversation.escalated)
                or needs_person(asked, store.agent.escalation))
    hits = sorted(grader.retrieve(kept, conversation.day), key=lambda h: -h.confidence)
    good = [h for h in hits if h.confidence >= grader.gap_below]
    backend = tool_data(conversation, store.agent, upto=failing,
                        redact=redact if redacted else None)
    clean = backend.clean
    data: dict[str, Any] = {
        "topic": scored.topic or "production",
        "tags": ["production"],
        "added": today,
        "source": {"kind": "production", "conversation": conversation.id},
        "as_of": conversation.day,
        "conversation": [{"customer" if m.role == "customer" else "agent": clean(m.text)}
                         for m in kept],
        **({"tools": backend.tools} if backend.tools else {}),
        "expect": {
            "outcome": "escalate" if escalate else "resolve",
            "facts": [] if escalate else [f for f in scored.right if " / " not in f],
            "forbidden": list(scored.wrong),
            "articles": [] if escalate or not good else [good[0].article.id],
        },
    }
    others = ", ".join(f"{h.article.id} ({h.confidence:.2f})" for h in hits[1:])
    todo = ["# TODO(coach): complete this case before committing it: the facts a good answer"
            " states,", "#   what it must not say, the articles it must draw on; check the"
            " outcome."]
    if others and not escalate:
        todo.append(f"#   Also retrieved for this question: {others}.")
    if backend.skipped:
        todo.append(f"#   The conversation also called {', '.join(backend.skipped)}, which"
                    " prompts/agent.yaml does not offer; its results were left out.")
    return Draft(_stem(conversation.id), _document(data, todo), data)


def _document(data: dict[str, Any], todo: list[str]) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  facts:"))
    return "\n".join([*lines[:at], *("  " + t for t in todo), *lines[at:]]) + "\n"


def write_fixture(draft: Draft, store: Store, suite: str) -> Path:
    """Write suites/SUITE/<stem>.yaml (never over an existing file) and check that it loads."""
    if not _NAME.match(suite):
        raise HarnessError(f"--suite {suite!r}: expected a folder name (letters, digits, . _ -)")
    path = store.root / "suites" / suite / f"{draft.stem}.yaml"
    clash = sorted((store.root / "suites").glob(f"*/{draft.stem}.yaml"))
    if clash:
        raise HarnessError(f"{clash[0]} already exists; promote never overwrites a fixture"
                           " (case ids are unique across suites/)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(draft.text)
    except FileExistsError:
        raise HarnessError(f"{path} already exists; promote never overwrites a fixture") from None
    try:
        load_case(path, store)
    except LoadError as error:
        path.unlink()
        raise HarnessError(f"the promoted fixture would not load, so it was not kept: {error}"
                           ) from None
    return path


def conversation_from_history(history: History, conversation_id: str) -> Conversation:
    """A scored conversation back from the history store (its text is kept redacted)."""
    row = history.conversation(conversation_id)
    if row is None:
        raise HarnessError(f"no conversation {conversation_id!r} in the history"
                           f" ({history.shown}); pass --from EXPORT.jsonl")
    return Conversation(
        id=row["id"], started_at=row["started_at"], customer=row["customer"],
        channel=row["channel"], topic=row["topic"], csat=row["csat"],
        escalated=row["outcome"] == "escalate" or None,
        messages=tuple(Message(role=m["role"], text=m["text"]) for m in row["messages"]),
    )
