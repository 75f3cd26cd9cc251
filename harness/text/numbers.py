"""Numbers as people write them: digits ("1,250", "4.95"), words ("thirty", "forty-five",
"a dozen") and the article "a"/"an" before a unit ("within a week")."""

from __future__ import annotations

import re

__all__ = ["NUMBER", "number_value"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_SPECIAL = {"a": 1, "an": 1, "a single": 1, "single": 1, "a couple of": 2, "a dozen": 12,
            "dozen": 12, "half a": 0.5, "a half": 0.5, "hundred": 100, "a hundred": 100,
            "one hundred": 100, "a thousand": 1000, "one thousand": 1000}
_WORD = (r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-](?:" + "|".join(
    w for w in _UNITS if w != "zero") + r"))?|" + "|".join(
    sorted(_UNITS, key=len, reverse=True)) + r")")
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
# Longest forms first, so "forty-five" is not read as "forty".
NUMBER = (r"(?:" + _DIGITS + r"|" + "|".join(
    re.escape(s).replace(r"\ ", r"\s+") for s in sorted(_SPECIAL, key=len, reverse=True)
) + r"|" + _WORD + r"(?:\s+hundred)?)")


def number_value(text: str) -> float | None:
    """The value of a number written in digits or words; None if it is not one."""
    words = " ".join(text.lower().replace("-", " ").split())
    if not words:
        return None
    if words[0].isdigit() or words[0] == ".":
        try:
            return float(words.replace(",", ""))
        except ValueError:
            return None
    if words in _SPECIAL:
        return float(_SPECIAL[words])
    total, parts = 0.0, words.split()
    if parts[-1] == "hundred" and len(parts) > 1:
        head = number_value(" ".join(parts[:-1]))
        return head * 100 if head is not None else None
    for part in parts:
        if part in _TENS:
            total += _TENS[part]
        elif part in _UNITS:
            total += _UNITS[part]
        else:
            return None
    return total
