"""Replace personal data in conversation text with placeholders, before it is kept anywhere.

    emails -> [email]   card numbers -> [card]   order numbers -> [order]
    phone numbers -> [phone]   street addresses and PO boxes -> [address]

Patterns run in that order, so a card number is never half-read as a phone number. They err
on the side of privacy: any run of 13 to 19 digits is taken for a card. Names of people are
not recognised; a coach reads a promoted fixture before committing it.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDERS", "redact"]

PLACEHOLDERS = ("[email]", "[card]", "[order]", "[phone]", "[address]")

_STREET = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq"
)
# Small words that join a sentence, never part of a street name: "2 kettles on the way".
_GLUE = (r"(?:on|the|in|at|a|an|to|of|my|your|our|for|by|and|or|is|are|was|it|this|that|all|"
         r"whole|same|other|one|more|less|per|each|every|days?|weeks?|hours?)\b")
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), "[card]"),
    (re.compile(r"\b(order|ord|ref|invoice)(\s*(?:number|no\.?|num|id|#)?(?:\s+is)?\s*[:#]?\s*)"
                r"#?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,}\b", re.IGNORECASE), r"\1\2[order]"),
    (re.compile(r"(?<![\w#])#\d{4,}\b"), "[order]"),
    (re.compile(r"\b[A-Z]{2,4}-\d{4,}(?:-\d+)*\b"), "[order]"),
    (re.compile(r"(?<![\w+])(?:(?:\+\d{1,3}|\b1)[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])"
                r"\d{3,4}[\s.-]?\d{3,4}(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w-])\+?\d{10,12}(?![\w-])"), "[phone]"),
    (re.compile(r"\b\d{1,6}[a-z]?\s+(?:(?!" + _GLUE + r")[A-Za-z][A-Za-z'.-]*\s+){1,4}"
                r"(?:" + _STREET + r")\b\.?"
                r"(?:,?\s*(?:apt|apartment|suite|unit|#)\.?\s*[\w-]+)?", re.IGNORECASE),
     "[address]"),
    (re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE), "[address]"),
)


def redact(text: str) -> str:
    """`text` with emails, card, order and phone numbers and street addresses replaced."""
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return text
