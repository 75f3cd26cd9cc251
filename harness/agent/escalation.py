"""The escalation rules of agent.yaml, applied before any model sees the conversation.

They hold whatever the model: a chargeback goes to a person with GPT-4o and with the offline
reference model alike. A model may escalate further by calling the `escalate_to_human` tool.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.kb.retrieval import Hit
from harness.store.schema import Escalation, Turn
from harness.text.matching import find_phrase

__all__ = [
    "ASKS_FOR_PERSON", "ESCALATE_TOOL", "Decision", "escalate_tool", "rule_decision",
    "tool_decision",
]

ESCALATE_TOOL = "escalate_to_human"

# What counts as asking for a person; agent.yaml's `escalation.request_phrases` adds to it.
ASKS_FOR_PERSON: tuple[str, ...] = (
    r"/\b(talk|speak|chat)( (to|with))? (a |an |some |one of your |your )?(real |actual |live )?"
    r"(human|person|agent|someone|somebody|representative|rep|manager|supervisor|people)\b/",
    r"/\b(real|actual|live) (human|person|agent|people)\b/",
    r"/\bhuman (agent|being|please)\b/",
    r"/\b(agent|human|person|representative),? please\b/",
    r"/\b(transfer|connect|put) me (to|through to|with) (a |an |someone|somebody|your )/",
    r"/\bnot (talk(ing)? to )?a (bot|robot|machine)\b/",
    r"/\b(like|want|need|get|have) (a |an )?(real |actual )?(someone|somebody|person|human|"
    r"member of (staff|your team)|one of your team)( from your (team|staff|company))? "
    r"(to )?(look (at|into)|call|ring|phone|contact|deal with|handle|help)\b/",
    r"/\bnot (an? |another )?(automated|canned|generic|copy[- ]paste(d)?|bot) "
    r"(reply|replies|response|responses|answer|answers|message)\b/",
)


@dataclass(frozen=True)
class Decision:
    """Why a conversation is handed to a human (`rule` names what decided it)."""

    rule: str  # "on_request", "topic:<name>", "min_confidence" or "model"
    reason: str
    topic: str | None = None


def _first_match(phrases: Sequence[str], turns: Sequence[Turn]) -> tuple[str, str] | None:
    for turn in turns:
        for phrase in phrases:
            match = find_phrase(phrase, turn.text)
            if match:
                return phrase, match.group(0)
    return None


def rule_decision(
    rules: Escalation, conversation: Sequence[Turn], hits: Sequence[Hit],
    *, names_products: bool = False,
) -> Decision | None:
    """The first rule that hands this conversation off, or None to let the model answer.
    `names_products`: the conversation names catalog products, whose records the model gets,
    so a question no article matches ("how much are the parachutes?") is not uncovered."""
    customer = [t for t in conversation if t.role == "customer"]
    if rules.on_request:
        found = _first_match((*ASKS_FOR_PERSON, *rules.request_phrases), customer[-1:])
        if found:
            return Decision("on_request", f"the customer asked for a person ({found[1]!r})")
    for topic, phrases in rules.topics.items():
        found = _first_match(phrases, customer)
        if found:
            return Decision(
                f"topic:{topic}", f"{topic} is always handled by a person ({found[1]!r})", topic
            )
    best = max((h.confidence for h in hits), default=0.0)
    if best < rules.min_confidence and not (names_products and not hits):
        where = f" (best: {hits[0].article.id})" if hits else " (no article matched)"
        return Decision(
            "min_confidence",
            f"retrieval confidence {best:.2f} is below min_confidence {rules.min_confidence:.2f}"
            + where,
        )
    return None


def escalate_tool(rules: Escalation) -> dict[str, Any]:
    """The `escalate_to_human` tool in OpenAI's shape, which litellm maps for other providers."""
    topics = [*sorted(rules.topics), "other"]
    return {
        "type": "function",
        "function": {
            "name": ESCALATE_TOOL,
            "description": (
                "Hand the conversation to a human support agent. Call it when the knowledge"
                " base does not answer the question, or the topic needs a person."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "enum": topics},
                    "reason": {"type": "string", "description": "One sentence: why a person."},
                },
                "required": ["topic", "reason"],
            },
        },
    }


def tool_decision(name: str, arguments: str) -> Decision | None:
    """A model's tool call, read as an escalation; None for any other tool."""
    if name != ESCALATE_TOOL:
        return None
    try:  # a model's arguments are untrusted text: bad, huge or deeply nested JSON is no reason
        args = json.loads(arguments or "{}") if len(arguments or "") < 20_000 else {}
    except (ValueError, RecursionError):
        args = {}
    if not isinstance(args, dict):
        args = {}
    topic = args.get("topic") if isinstance(args.get("topic"), str) else None
    reason = args.get("reason") if isinstance(args.get("reason"), str) else "no reason given"
    return Decision("model", f"the model escalated: {reason}", topic)
