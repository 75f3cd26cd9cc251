"""harness/coach/redact.py on tests/data/pii_corpus.yaml: no personal data of a promised kind leaks,
nothing the corpus keeps is redacted, and the near misses (prices, counts, delivery dates)
stay as they are."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.coach.redact import PLACEHOLDERS, find, redact

CORPUS = Path(__file__).parent / "data" / "pii_corpus.yaml"
# What redact.py promises to redact; name-other and bank are measured and printed only.
PROMISED = ("email", "phone", "address", "order", "card", "iban", "ip", "name", "dob",
            "national-id")


def _items() -> list[dict[str, Any]]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["items"]


def _still_there(part: str, text: str) -> bool:
    """Whether `part` is in `text` on word edges: "IL" is not found inside "ILLY"."""
    pattern = re.escape(part)
    if part[0].isalnum():
        pattern = r"(?<!\w)" + pattern
    if part[-1].isalnum():
        pattern += r"(?!\w)"
    return re.search(pattern, text) is not None


def _measure(redactor: Any) -> tuple[Counter[str], Counter[str], list[str], list[str]]:
    """Leaks per category, substrings per category, the leaks and the false redactions."""
    leaks: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    leaked, removed = [], []
    for item in _items():
        out = redactor(item["text"])
        for category, parts in (item.get("redact") or {}).items():
            for part in parts:
                totals[category] += 1
                if _still_there(part, out):
                    leaks[category] += 1
                    leaked.append(f"{item['id']} [{category}] {part!r} in {out!r}")
        removed += [f"{item['id']} {keep!r} gone from {out!r}"
                    for keep in item.get("keep") or [] if keep not in out]
    return leaks, totals, leaked, removed


def _report(title: str, leaks: Counter[str], totals: Counter[str], removed: list[str]) -> None:
    print(f"\n{title}: {sum(leaks.values())} of {sum(totals.values())} substrings leaked, "
          f"{len(removed)} false redactions")
    print("  " + ", ".join(f"{c} {leaks[c]}/{totals[c]}" for c in sorted(totals)))


def test_corpus_is_well_formed():
    items = _items()
    assert len(items) >= 120
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        for category, parts in (item.get("redact") or {}).items():
            assert category in (*PROMISED, "name-other", "bank"), item["id"]
            for part in parts:
                assert isinstance(part, str) and part in item["text"], (item["id"], part)
        for keep in item.get("keep") or []:
            assert isinstance(keep, str) and keep in item["text"], (item["id"], keep)


def test_no_promised_personal_data_leaks():
    leaks, totals, leaked, removed = _measure(redact)
    _report("harness/coach/redact.py", leaks, totals, removed)
    for line in leaked:
        print("  leak:", line)
    for line in removed:
        print("  false redaction:", line)
    assert not [line for line in leaked if line.split("[", 1)[1].split("]")[0] in PROMISED]


def test_nothing_the_corpus_keeps_is_redacted():
    _, _, _, removed = _measure(redact)
    assert removed == []


def test_each_kind_gets_its_own_placeholder():
    for item in _items():
        out = redact(item["text"])
        for category in item.get("redact") or {}:
            if category in PROMISED or category == "bank":
                assert f"[{category}]" in out, (item["id"], out)


def test_redacting_twice_changes_nothing_more():
    for item in _items():
        once = redact(item["text"])
        assert redact(once) == once, item["id"]


def test_the_old_placeholders_are_kept():
    old = {"[email]", "[card]", "[order]", "[phone]", "[address]"}  # fixtures already hold them
    assert old <= set(PLACEHOLDERS)


@pytest.mark.parametrize("text", [
    "The Burr Grinder S2 costs $189.00 and the Crema Duo 1249.00 USD.",
    "Orders over $150 can be split into 4 payments.",
    "12 payments of $104.08, or $1,249.00 at once",
    "You can return most items within 30 days of delivery.",
    "If I order within 30 days of my last purchase, is shipping free?",
    "Order 2 of the House Espresso Blend 1kg and get 10% off",
    "order by Dec 18 for Christmas delivery",
    "It said 2026-11-20 delivery but nothing came",
    "Delivered 2026-11-20; I was born in the UK, if that matters",
    "The sale ends on 2026-11-30 at 11:59 pm.",
    "I paid 1,249.00 on 17/11/2026 with PayPal",
    "app version 4.2.1.0 on iOS 18.1",
    "the shot timer shows 10:30:15 and then resets",
    "Standard shipping takes 3-5 business days, express 1-2.",
    "I bought 2 Gooseneck Kettles on the way home.",
    "a 10 min walk from the shop",
    "I'm Gold tier and have 2,450 points",
    "I'm not happy and I want a refund",
    "this is the third time I write",
    "Thanks, that fixed it!",
    "Kettle & Crema gift cards never expire.\n\n- The Kettle & Crema team",
    "is the Flat Burr Grinder F64 compatible with the S2 Replacement Burr Set?",
    "Black Friday: 20% off until 28 November 2026 with code BF2026",
])
def test_near_misses_stay(text):
    assert redact(text) == text, find(text)


@pytest.mark.parametrize(("text", "redacted"), [
    ("the card ending 4242 was charged $189.00", "the card ending [card] was charged $189.00"),
    ("card 4111 1111 1111 1111, exp 04/29", "card [card], exp 04/29"),
    ("my mobile is 07700 900123", "my mobile is [phone]"),
    ("or +44 20 7946 0958", "or [phone]"),
    ("call me on (503) 555-0199 after 5pm", "call me on [phone] after 5pm"),
    ("ord-99812 never arrived", "[order] never arrived"),
    ("order #KC-100871 is late", "order #[order] is late"),
    ("my order 48213 was charged twice", "my order [order] was charged twice"),
    ("my name is jane doe, order ord-99812", "my name is [name], order [order]"),
    ("Hello, I'm Tom and my kettle leaks", "Hello, I'm [name] and my kettle leaks"),
    ("ok that solved it. Thanks, Maria Lopez", "ok that solved it. Thanks, [name]"),
    ("I live at 1428 Elm Street, Apt 4B, Springfield, IL 62704", "I live at [address]"),
    ("ship to 221b baker st, london NW1 6XE", "ship to [address]"),
    ("Lieferadresse: Hauptstraße 12, 10115 Berlin", "Lieferadresse: [address]"),
    ("IBAN GB82WEST12345698765432", "IBAN [iban]"),
    ("my ip is 203.0.113.45", "my ip is [ip]"),
    ("DOB: 1990-04-12, delivery 2026-11-20", "DOB: [dob], delivery 2026-11-20"),
    ("SSN 078-05-1120", "SSN [national-id]"),
    ("NI number QQ 12 34 56 C", "NI number [national-id]"),
    ("mail me at jane.doe+shop@example.co.uk please", "mail me at [email] please"),
])
def test_personal_data_becomes_its_placeholder(text, redacted):
    assert redact(text) == redacted


def test_fast_enough_for_harness_score():
    """`harness score` redacts every message of 100,000 conversations in about 2 minutes."""
    texts = [item["text"] for item in _items()]
    redact.cache_clear()
    started = time.process_time()
    for text in texts:
        find(text)
    per_text = (time.process_time() - started) / len(texts)
    print(f"\n{per_text * 1e6:.0f} us of CPU per corpus message (uncached)")
    assert per_text < 0.002  # about 0.05 ms here; a 40x margin for slow or busy machines
