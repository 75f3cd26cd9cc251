"""Who should have had a person: the escalation rules of agent.yaml, read in a real conversation.

A customer who asks for a person (`escalation.ASKS_FOR_PERSON` plus agent.yaml's
`request_phrases`) and a topic that always goes to one (`escalation.topics`) must be handed
over: a human `agent` message after it, or the export's `escalated: true`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from harness.agent.escalation import ASKS_FOR_PERSON
from harness.grading.rubric import Dimension
from harness.store.conversations import Conversation
from harness.store.schema import Escalation
from harness.text.matching import find_phrase

__all__ = [
    "REPEAT_WINDOW", "Handover", "Signal", "is_repeat_contact", "needs_person", "person_phrases",
    "read_handover",
]

REPEAT_WINDOW = dt.timedelta(hours=24)


def is_repeat_contact(first_topic: str | None, first_at: dt.datetime, then_topic: str | None,
                      then_at: dt.datetime, window: dt.timedelta = REPEAT_WINDOW) -> bool:
    """The same customer back on the same topic within the window: the first contact was not
    resolved. The one rule of `harness score` and `harness dials`."""
    return first_topic is not None and first_topic == then_topic and abs(
        then_at - first_at) <= window


@dataclass(frozen=True)
class Signal:
    """Where a customer turn says a person is needed."""

    index: int  # the message's index
    said: str  # the words that matched
    topic: str | None = None  # the escalation topic; None for a request for a person

    def honoured(self, conversation: Conversation) -> bool:
        later = conversation.messages[self.index + 1:]
        return conversation.escalated is True or any(m.role == "agent" for m in later)


def _first(phrases: Sequence[str], conversation: Conversation) -> tuple[int, str] | None:
    for index, message in enumerate(conversation.messages):
        if message.role == "customer":
            for phrase in phrases:
                if match := find_phrase(phrase, message.text):
                    return index, match.group(0)
    return None


@dataclass(frozen=True)
class Handover:
    request: Signal | None  # the customer asked for a person
    topic: Signal | None  # a topic that must go to a person

    def resolution(self, conversation: Conversation) -> Dimension:
        problems = []
        if self.request and not self.request.honoured(conversation):
            problems.append(f"the customer asked for a person ({self.request.said!r}, message"
                            f" {self.request.index + 1}) and was not handed over")
        if self.topic and not self.topic.honoured(conversation):
            problems.append(f"{self.topic.topic} must go to a person ({self.topic.said!r},"
                            f" message {self.topic.index + 1}); the AI handled it alone")
        if problems:
            return Dimension("fail", "; ".join(problems))
        if conversation.human_joined:
            return Dimension("pass", "handed to a person")
        return Dimension("pass", "resolved by the AI; no request for a person, no topic that"
                                 " needs one")

    def unhanded_turn(self, conversation: Conversation) -> int | None:
        """The first AI message after a signal that was not honoured: it answered instead."""
        missed = [s.index for s in (self.request, self.topic)
                  if s is not None and not s.honoured(conversation)]
        if not missed:
            return None
        return next((i for i, m in enumerate(conversation.messages)
                     if i > min(missed) and m.role == "ai"), None)

    def reason(self, conversation: Conversation, kb_covered: bool) -> str | None:
        """Why a person took over, for the review's escalations by topic."""
        if not conversation.human_joined:
            return None
        if self.request:
            return "asked for a person"
        if self.topic:
            return f"topic rule: {self.topic.topic}"
        return "the AI handed over" if kb_covered else "the KB did not cover it"


def person_phrases(rules: Escalation) -> tuple[str, ...]:
    return (*ASKS_FOR_PERSON, *rules.request_phrases)


def read_handover(conversation: Conversation, rules: Escalation) -> Handover:
    request = _first(person_phrases(rules), conversation)
    topic = None
    for name, phrases in rules.topics.items():
        if found := _first(phrases, conversation):
            topic = Signal(found[0], found[1], name)
            break
    return Handover(Signal(*request) if request else None, topic)


def needs_person(text: str, rules: Escalation) -> bool:
    """Text that asks for a person or names a topic that must go to one."""
    phrases = [*person_phrases(rules), *(p for ps in rules.topics.values() for p in ps)]
    return any(find_phrase(phrase, text) for phrase in phrases)
