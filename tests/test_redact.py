"""redact.py: personal data becomes placeholders; policy figures and prices stay."""

from __future__ import annotations

import pytest

from harness.coach.redact import redact


@pytest.mark.parametrize(("text", "redacted"), [
    ("mail me at jane.doe+shop@example.co.uk please", "mail me at [email] please"),
    ("card 4111 1111 1111 1111, exp 04/29", "card [card], exp 04/29"),
    ("card 4111-1111-1111-1111", "card [card]"),
    ("call me on (503) 555-0199", "call me on [phone]"),
    ("or +44 20 7946 0958", "or [phone]"),
    ("my number is 503.555.0199", "my number is [phone]"),
    ("phone 5035550199", "phone [phone]"),
    ("call 1-800-555-0142", "call [phone]"),
    ("order #KC-100234 is late", "order #[order] is late"),
    ("my order number is 48213-A", "my order number is [order]"),
    ("order 100234 never came", "order [order] never came"),
    ("ORD-55512 never came", "[order] never came"),
    ("it's #123456", "it's [order]"),
    ("I live at 1428 Elm Street, Apt 4B, Springfield", "I live at [address]"),  # city too
    ("ship to 221b baker st", "ship to [address]"),
    ("PO Box 1234", "[address]"),
])
def test_personal_data_becomes_a_placeholder(text, redacted):
    assert redact(text) == redacted


@pytest.mark.parametrize("text", [
    "Standard shipping takes 3-5 business days.",
    "The Burr Grinder S2 costs $189.00 and the Crema Duo 1249.00 USD.",
    "You can return most items within 30 days of delivery.",
    "Orders over $150 can be split into 4 payments.",
    "I bought 2 Gooseneck Kettles on the way home.",
    "Run 2 full tanks of water through it.",
    "The sale ends on 2026-11-30 at 11:59 pm.",
    "Use 18 g of coffee for 36 g of espresso in 25-30 seconds.",
])
def test_what_is_not_personal_stays(text):
    assert redact(text) == text
