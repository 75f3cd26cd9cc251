"""escalation.py: the rules of agent.yaml that hand a conversation to a person, and the tool."""

from __future__ import annotations

import json

import pytest

from harness.agent.escalation import (
    ESCALATE_TOOL,
    Decision,
    escalate_tool,
    rule_decision,
    tool_decision,
)
from harness.kb.retrieval import Hit
from harness.store.schema import Article, Escalation, Turn

RETURNS = Article(id="returns-policy", title="Returns", topic="returns", status="active",
                  body="Thirty days.")
SURE = (Hit(RETURNS, score=3.0, confidence=0.9),)
TOPICS = {
    "payment-dispute": ("chargeback", "/disput(e|ing)/", "/charged (me )?twice/"),
    "fraud": ("unauthorized",),
    "legal": (),
}


def customer(*texts: str) -> tuple[Turn, ...]:
    return tuple(Turn(role="customer", text=t) for t in texts)


def decide(*texts: str, hits=SURE, **rules) -> Decision | None:
    return rule_decision(Escalation(**rules), customer(*texts), hits)


# -- on_request ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a human?",
        "I want to speak with a real person",
        "agent please",
        "Agent, please!",
        "human please",
        "let me chat to someone",
        "I need to speak to your manager",
        "Please transfer me to a representative",
        "connect me with someone who can help",
        "I'm not talking to a bot",
        "is there a live agent?",
        "Can I TALK TO A HUMAN",
        "I would like someone from your team to look at this personally please",
        "I want a person to call me about this",
        "please, not an automated reply this time",
    ],
)
def test_asking_for_a_person_is_handed_off(text):
    decision = decide(text)
    assert decision is not None
    assert decision.rule == "on_request"
    assert decision.topic is None
    assert "asked for a person" in decision.reason


@pytest.mark.parametrize(
    "text",
    [
        "How long do I have to return my kettle?",
        "The delivery agent left the parcel at the door.",
        "My grinder is very human-friendly",
        "Who is the person on the logo?",
        "Someone from your team sent me the wrong size",
        "I'd like someone to have it as a gift, can you wrap it?",
        "Is the confirmation email an automated message?",
    ],
)
def test_ordinary_questions_are_not_requests_for_a_person(text):
    assert decide(text) is None


def test_on_request_false_lets_the_model_answer():
    assert decide("Can I talk to a human?", on_request=False) is None


def test_request_phrases_extend_the_built_in_list():
    rules = {"request_phrases": ("phone support", "/\\bcall me( back)?\\b/")}
    assert decide("Is there phone support?", **rules).rule == "on_request"
    assert decide("Please CALL ME back tomorrow", **rules).rule == "on_request"
    assert decide("Can I talk to a human?", **rules).rule == "on_request"  # still built in
    assert decide("Is there phone support?") is None  # not built in
    assert decide("Is there phone support?", on_request=False, **rules) is None


def test_only_the_customer_asks_for_a_person():
    turns = (Turn(role="agent", text="I can connect you to a human if you like."),
             Turn(role="customer", text="No thanks, how long is the return window?"))
    assert rule_decision(Escalation(), turns, SURE) is None


# -- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic", "matched"),
    [
        ("I will file a chargeback with my bank", "payment-dispute", "chargeback"),
        ("I'm DISPUTING this charge", "payment-dispute", "DISPUTING"),
        ("You charged me twice for one order", "payment-dispute", "charged me twice"),
        ("you charged   twice", "payment-dispute", "charged twice"),
        ("There is an unauthorized order on my account", "fraud", "unauthorized"),
    ],
)
def test_topic_phrases_hand_off(text, topic, matched):
    decision = decide(text, topics=TOPICS)
    assert decision == Decision(f"topic:{topic}", decision.reason, topic)
    assert matched in decision.reason
    assert topic in decision.reason


def test_topic_phrase_in_an_earlier_customer_turn_counts():
    decision = decide("I want to file a chargeback.", "Also, how long is the return window?",
                      topics=TOPICS)
    assert decision is not None and decision.topic == "payment-dispute"


def test_topic_with_no_phrases_is_left_to_the_model():
    assert decide("I have a legal question about my order", topics=TOPICS) is None


def test_topics_do_not_match_inside_other_text_that_lacks_the_phrase():
    assert decide("How do I charge my kettle?", topics=TOPICS) is None


def test_on_request_comes_before_topics():
    decision = decide("chargeback! let me talk to a human", topics=TOPICS)
    assert decision.rule == "on_request"


# -- min_confidence --------------------------------------------------------------------------


def test_low_retrieval_confidence_hands_off():
    hits = (Hit(RETURNS, score=1.0, confidence=0.3),)
    decision = decide("What about sale items?", hits=hits, min_confidence=0.35)
    assert decision is not None and decision.rule == "min_confidence"
    assert "0.30" in decision.reason and "0.35" in decision.reason
    assert "returns-policy" in decision.reason


def test_confidence_at_or_above_the_threshold_lets_the_model_answer():
    hits = (Hit(RETURNS, score=1.0, confidence=0.1), Hit(RETURNS, score=0.5, confidence=0.4))
    assert decide("question", hits=hits, min_confidence=0.4) is None  # the best hit counts
    assert decide("question", hits=hits, min_confidence=0.0) is None


def test_no_hit_is_zero_confidence():
    decision = decide("question", hits=(), min_confidence=0.1)
    assert decision.rule == "min_confidence"
    assert "no article matched" in decision.reason
    assert decide("question", hits=())  # the measured default (DEFAULT_MIN_CONFIDENCE) applies
    assert decide("question", hits=(), min_confidence=0.0) is None  # 0 turns it off


def test_no_hit_on_a_product_question_is_left_to_the_catalog():
    assert rule_decision(Escalation(min_confidence=0.2), customer("how much is the S2?"), (),
                         names_products=True) is None


def test_topics_come_before_min_confidence():
    decision = decide("chargeback", hits=(), topics=TOPICS, min_confidence=0.5)
    assert decision.rule == "topic:payment-dispute"


# -- the tool --------------------------------------------------------------------------------


def test_escalate_tool_has_openai_shape_and_the_topics():
    tool = escalate_tool(Escalation(topics=TOPICS))
    assert tool["type"] == "function"
    function = tool["function"]
    assert function["name"] == ESCALATE_TOOL == "escalate_to_human"
    assert function["description"]
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["topic", "reason"]
    assert params["properties"]["topic"]["enum"] == ["fraud", "legal", "payment-dispute",
                                                     "other"]
    assert params["properties"]["reason"]["type"] == "string"
    json.dumps(tool)  # serializable as is


def test_tool_decision_reads_topic_and_reason():
    decision = tool_decision(ESCALATE_TOOL, json.dumps({"topic": "fraud",
                                                        "reason": "Order not placed by them."}))
    assert decision == Decision("model", "the model escalated: Order not placed by them.",
                                "fraud")


@pytest.mark.parametrize("arguments", ["{not json", "", "[1, 2]", '"just text"', "null",
                                       '{"topic": 5, "reason": ["x"]}'])
def test_tool_decision_survives_bad_arguments(arguments):
    decision = tool_decision(ESCALATE_TOOL, arguments)
    assert decision is not None
    assert decision.rule == "model"
    assert decision.topic is None
    assert decision.reason == "the model escalated: no reason given"


def test_other_tools_are_not_escalations():
    assert tool_decision("lookup_order", '{"order": "123"}') is None
