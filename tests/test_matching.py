"""matching.py: how a fact, forbidden string or escalation phrase is found in text."""

from __future__ import annotations

import pytest

from harness.text.matching import find_phrase, is_regex, normalize, phrase_in
from harness.text.meaning import stated


def test_normalize_collapses_white_space_and_typography():
    assert normalize("  30\t days\n\nof  delivery ") == "30 days of delivery"
    typographic = "don\u2019t \u201cwait\u201d 3\u20135 days\u00a0now"
    assert normalize(typographic) == 'don\'t "wait" 3-5 days now'


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("30 days", "You have 30 DAYS to return it."),
        ("30 Days", "within 30 days of delivery"),
        ("30 days", "within 30\n   days of delivery"),  # runs of white space are one space
        ("30   days", "within 30 days"),
        ("don't", "You don\u2019t need a receipt."),  # typographic quote
        ("3-5 business days", "Standard shipping takes 3\u20135 business days."),  # en dash
        ("$14.95", "Express costs $14.95."),  # regex characters in a plain phrase are literal
        ("/\\$189(\\.00)?\\b/", "The grinder costs $189.00."),
        ("/\\$189(\\.00)?\\b/", "The grinder costs $189."),
        ("/RETURN(ED|S)? WITHIN/", "items returned within 30 days"),  # regex ignores case
        ("/charged (me )?twice/", "You charged me twice!"),
    ],
)
def test_matches(phrase, text):
    assert phrase_in(phrase, text)


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("60 days", "within 30 days"),
        ("30 days", "30-day window"),
        ("$14.95", "Express costs $14x95."),  # `.` is not a wildcard in a plain phrase
        ("/\\$189\\b/", "It costs $1890."),
        ("/^refund/", "No refund."),
    ],
)
def test_does_not_match(phrase, text):
    assert not phrase_in(phrase, text)


def test_is_regex():
    assert is_regex("/disput(e|ing)/")
    assert not is_regex("/")
    assert not is_regex("chargeback")
    assert not is_regex("/half open")
    assert not is_regex("and/or")


def test_find_phrase_returns_the_match():
    match = find_phrase("/(\\d+) days/", "Returns: within   45 days.")
    assert match is not None
    assert match.group(0) == "45 days"
    assert match.group(1) == "45"
    assert find_phrase("chargeback", "I filed a Chargeback").group(0) == "Chargeback"
    assert find_phrase("chargeback", "no dispute here") is None


def test_a_one_letter_prefix_is_part_of_the_fact():
    # "e-gift card" is not any gift card: "gift cards can't be returned" does not state it
    assert not stated("e-gift card", "Some things can't be returned: socks. Gift cards.")
    assert stated("e-gift card", "We'll refund you with an e-gift card.")
    assert stated("e-gift card", "We'll refund you with an eGift card.")
    assert stated("e-gift card", "We'll refund you with an E-Gift Card.")
