"""The checkable figures of a text: durations, money, percentages, counts, temperatures,
dates, times of day and codes, read the way people write them.

"30 days", "thirty days", "a 30-day window", "within a month", "3-5 business days",
"5-7 days" (any dash), "three to five working days", "$4.95", "4.95 USD", "£4", "24,90 €", "15%",
"15 per cent", "4 interest-free payments", "450°F", "December 21", "2pm" and "STUDENT15" are
all figures. A figure keeps where it stands in the text, so a reason can quote it and a
checker can read the words around it ("instead of", "not"). This is the only figure parser of
the project: grading, production scoring, the reference model and the KB linter all use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from harness.text.numbers import NUMBER, number_value
from harness.text.tokens import STOPWORDS

__all__ = ["CURRENCY_SYMBOLS", "Figure", "Kind", "figures_in", "money_in", "same_value"]

Kind = Literal["duration", "money", "percent", "count", "temperature", "date", "time", "code"]

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "CAD": "$", "AUD": "$",
                    "NZD": "$", "JPY": "\u00a5", "CHF": "CHF"}
_CURRENCY_WORDS = {"dollar": "$", "dollars": "$", "bucks": "$", "pound": "\u00a3",
                   "pounds": "\u00a3", "quid": "\u00a3", "euro": "\u20ac", "euros": "\u20ac"}


@dataclass(frozen=True)
class Figure:
    kind: Kind
    value: float  # the low end of a range; for a code, 0
    unit: str  # days / hours / minutes / months; a currency; %; the counted noun; F / C; ...
    text: str  # as written
    start: int = 0
    end: int = 0
    high: float | None = None  # the high end of a range ("3-5 days")
    qualifier: str = ""  # "business" for business or working days
    code: str = ""  # the code itself, upper case

    @property
    def key(self) -> tuple[object, ...]:
        """What two figures must share to state the same thing."""
        if self.kind == "code":
            return ("code", self.code)
        return (self.kind, self.unit, self.value, self.high)

    def shown(self) -> str:
        return " ".join(self.text.split())


def same_value(a: Figure, b: Figure) -> bool:
    """Two figures state the same value: the same kind and unit, and the same number or range.
    A single figure inside the other's range is not the same value ("5 days" vs "3-5 days")."""
    if a.kind != b.kind:
        return False
    if a.kind == "code":
        return a.code == b.code
    return a.unit == b.unit and a.value == b.value and a.high == b.high


_DASH = r"(?:\s*(?:-|\u2010|\u2011|\u2012|\u2013|\u2014|\u2212|to|or|and)\s*)"
_DURATION_UNITS = {"minute": ("minutes", 1), "min": ("minutes", 1), "mins": ("minutes", 1),
                   "hour": ("hours", 1), "hr": ("hours", 1), "hrs": ("hours", 1),
                   "day": ("days", 1), "night": ("days", 1), "week": ("days", 7),
                   "fortnight": ("days", 14), "month": ("months", 1), "year": ("months", 12)}
_DURATION = re.compile(
    rf"(?<![\w.,])(?:between\s+)?(?P<lo>{NUMBER})(?:{_DASH}(?P<hi>{NUMBER}))?"
    r"(?:\s*\+)?[\s-]*(?P<qual>business|working|calendar|full|school|week)?[\s-]*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|fortnights?|months?|years?)"
    r"(?![a-z])",
    re.IGNORECASE,
)
_AMOUNT = r"(?:\d{1,3}(?:[,\u202f ]\d{3})+|\d+)(?:[.,]\d{1,2}(?!\d))?"
_SYMBOL = r"(?:US\$|CA\$|C\$|A\$|NZ\$|\$|\u00a3|\u20ac|\u00a5)"
_CODE = r"(?:USD|EUR|GBP|CAD|AUD|NZD|JPY|CHF)"
_MONEY = re.compile(
    rf"(?P<sym>{_SYMBOL})\s?(?P<a1>{_AMOUNT})(?!\s?%)"
    rf"|(?P<code1>{_CODE})\s?(?P<a2>{_AMOUNT})"
    rf"|(?<![\w.])(?P<a3>{_AMOUNT})\s?(?:(?P<code2>{_CODE})\b|(?P<sym2>\u20ac|\u00a3))"
    rf"|(?<![\w.])(?P<a4>{NUMBER})\s+(?P<word>dollars?|bucks|pounds?|quid|euros?)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"(?<![\w.])(?P<n>{NUMBER})\s?(?:%|percent\b|per\s?cent\b)", re.I)
_TEMPERATURE = re.compile(
    rf"(?<![\w.])(?P<n>{NUMBER})\s?(?:\u00b0|\u00ba|degrees?\b)\s?(?P<u>fahrenheit|celsius|F|C)?\b"
    r"|(?<![\w.$\u00a3\u20ac])(?P<n2>\d{2,3})\s?(?P<u2>(?-i:F|C))\b(?![\w.-])",
    re.IGNORECASE,
)
_MONTHS = {m: i + 1 for i, m in enumerate((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"))}
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?P<m>{_MONTH})\s+{_DAY}\b(?:,?\s+(?P<y>\d{{4}}))?"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH})(?:,?\s+(?P<y2>\d{{4}}))?"
    r"|\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?P<h>\d{1,2})(?::(?P<min>\d{2}))?\s?(?P<ap>a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|\b(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)\b(?!\s?(?:%|[ap]\.?m))"
    r"|\b(?P<word>noon|midday|midnight)\b",
    re.IGNORECASE,
)
# A code: an upper-case word with a digit in it, or any upper-case word right after "code".
_CODE_WORD = re.compile(
    r"(?:\b(?:promo|discount|coupon|voucher|offer|gift)?\s?codes?\b[\s:\"'\u201c\u2018*`]*|"
    r"\b(?:use|enter|apply)\s+(?:the\s+)?[\"'\u201c\u2018*`]*)"
    r"(?P<after>[A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)?)\b"
    r"|(?<![\w-])(?P<mixed>(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z]{2})[A-Z][A-Z0-9]{3,}(?:-[A-Z0-9]+)?)"
    r"(?![\w-])",
)
_COUNT = re.compile(
    rf"(?<![\w.$\u00a3\u20ac,/:-])(?:up to |at most |at least |only |just )?(?P<n>{NUMBER})"
    r"(?:[\s-]+(?P<mod>(?:[a-z]+-[a-z]+|equal|monthly|weekly|additional|extra|more|free|"
    r"separate|easy|consecutive|total|new|full|interest\s+free|fee\s+free|small|large|"
    r"individual|different|loyalty|reward|bonus|single))){0,2}"
    r"\s+(?P<noun>[a-z]{3,})",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    rf"(?<![\w.$\u00a3\u20ac,/:-])(?P<n>{NUMBER})\s?(?P<u>kilograms?|kilos?|kgs?|grams?|g|"
    r"millilitres?|milliliters?|ml|litres?|liters?|l|pounds? weight|lbs?|ounces?|oz|"
    r"centimet(?:re|er)s?|cm|millimet(?:re|er)s?|mm|inch(?:es)?)(?![\w\u00b0])",
    re.IGNORECASE,
)
_QUANTITY_UNITS = {"kilogram": "kg", "kilo": "kg", "kg": "kg", "gram": "g", "g": "g",
                   "millilitre": "ml", "milliliter": "ml", "ml": "ml", "litre": "l",
                   "liter": "l", "l": "l", "lb": "lb", "ounce": "oz", "oz": "oz",
                   "centimetre": "cm", "centimeter": "cm", "cm": "cm", "millimetre": "mm",
                   "millimeter": "mm", "mm": "mm", "inch": "inch", "inche": "inch"}
_NOT_COUNTED = frozenset((
    "and", "are", "but", "for", "from", "have", "into", "its", "may", "more", "most", "not",
    "now", "off", "our", "out", "per", "than", "that", "the", "their", "them", "then", "these",
    "they", "this", "those", "was", "were", "what", "when", "which", "while", "who", "will",
    "with", "you", "your", "also", "can", "has", "had", "any", "all", "each", "every", "other",
    "same", "such", "about", "after", "before", "over", "under", "times", "time", "people",
))


def _money_value(amount: str) -> float:
    amount = amount.replace("\u202f", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", amount):
        return float(amount.replace(",", ""))
    if re.fullmatch(r"\d+,\d{1,2}", amount):  # a decimal comma: 24,90 EUR
        return float(amount.replace(",", "."))
    return float(amount.replace(",", ""))


def _currency(match: re.Match[str], default: str) -> str:
    symbol = match["sym"] or match["sym2"]
    if symbol:
        symbol = symbol.upper()
        if symbol in ("US$",):
            return "USD"
        if symbol in ("CA$", "C$"):
            return "CAD"
        if symbol == "A$":
            return "AUD"
        if symbol == "NZ$":
            return "NZD"
        mine = CURRENCY_SYMBOLS.get(default.upper())
        if mine == symbol:
            return default.upper()
        return {"$": "USD", "\u00a3": "GBP", "\u20ac": "EUR", "\u00a5": "JPY"}[symbol]
    code = match["code1"] or match["code2"]
    if code:
        return code.upper()
    word = _CURRENCY_WORDS[match["word"].lower()]
    return default.upper() if CURRENCY_SYMBOLS.get(default.upper()) == word else {
        "$": "USD", "\u00a3": "GBP", "\u20ac": "EUR"}[word]


def money_in(text: str, currency: str = "USD") -> Iterator[Figure]:
    """Every amount of money in `text`; a bare "$" is the store's own currency when it uses one."""
    for match in _MONEY.finditer(text):
        amount = match["a1"] or match["a2"] or match["a3"]
        value = _money_value(amount) if amount else number_value(match["a4"] or "")
        if value is None:
            continue
        yield Figure("money", round(value, 2), _currency(match, currency), match.group(0),
                     match.start(), match.end())


def _durations(text: str) -> Iterator[Figure]:
    for match in _DURATION.finditer(text):
        low, high = number_value(match["lo"]), number_value(match["hi"] or "")
        if low is None:
            continue
        word = match["unit"].lower()
        word = word[:-1] if word.endswith("s") and word[:-1] in _DURATION_UNITS else word
        unit, factor = _DURATION_UNITS[word]
        qualifier = (match["qual"] or "").lower()
        qualifier = "business" if qualifier in ("business", "working", "week") else ""
        yield Figure("duration", low * factor, unit, match.group(0), match.start(), match.end(),
                     high * factor if high is not None else None, qualifier)


def _percents(text: str) -> Iterator[Figure]:
    for match in _PERCENT.finditer(text):
        value = number_value(match["n"])
        if value is not None:
            yield Figure("percent", value, "%", match.group(0), match.start(), match.end())


def _temperatures(text: str) -> Iterator[Figure]:
    for match in _TEMPERATURE.finditer(text):
        value = number_value(match["n"] or match["n2"])
        if value is None:
            continue
        unit = (match["u"] or match["u2"] or "").upper()[:1] or "deg"
        yield Figure("temperature", value, unit, match.group(0), match.start(), match.end())


def _dates(text: str) -> Iterator[Figure]:
    for match in _DATE.finditer(text):
        if match["iy"]:
            month, day = int(match["im"]), int(match["id"])
        else:
            name = (match["m"] or match["m2"]).lower().rstrip(".")
            month = next((n for m, n in _MONTHS.items() if m.startswith(name[:3])), 0)
            day = int(match["d"] or match["d2"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            yield Figure("date", month * 100 + day, "date", match.group(0), match.start(),
                         match.end())


# "Thu 17/12", "by 22/12/2026": a date in digits, after a weekday or a word of time, or with
# its year (a bare "1/2" is a fraction).
_NUMERIC_DATE = re.compile(
    r"(?:\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+|"
    r"\b(?:by|on|until|till|til|before|after|from)\s+)(?P<a>\d{1,2})/(?P<b>\d{1,2})"
    r"(?:/(?P<y>\d{2,4}))?\b|\b(?P<a2>\d{1,2})/(?P<b2>\d{1,2})/(?P<y2>\d{4})\b",
    re.IGNORECASE)
_MONTH_FIRST = ("USD",)  # where 12/17 is December 17; elsewhere 17/12 is


def _numeric_dates(text: str, currency: str) -> Iterator[Figure]:
    for match in _NUMERIC_DATE.finditer(text):
        a, b = int(match["a"] or match["a2"]), int(match["b"] or match["b2"])
        month, day = (a, b) if currency.upper() in _MONTH_FIRST else (b, a)
        if month > 12 >= day:
            month, day = day, month  # only one reading is a date
        if 1 <= month <= 12 and 1 <= day <= 31:
            start = match.start("a") if match["a"] else match.start("a2")
            yield Figure("date", month * 100 + day, "date", text[start:match.end()], start,
                         match.end())


def _times(text: str) -> Iterator[Figure]:
    for match in _TIME.finditer(text):
        if match["word"]:
            minutes = 0 if match["word"].lower() == "midnight" else 12 * 60
        elif match["h24"]:
            minutes = int(match["h24"]) * 60 + int(match["m24"])
        else:
            hour = int(match["h"]) % 12 + (12 if match["ap"].lower().startswith("p") else 0)
            if int(match["h"]) > 12:
                continue
            minutes = hour * 60 + int(match["min"] or 0)
        yield Figure("time", minutes, "time", match.group(0), match.start(), match.end())


def _codes(text: str) -> Iterator[Figure]:
    for match in _CODE_WORD.finditer(text):
        word = match["after"] or match["mixed"]
        start = match.start("after") if match["after"] else match.start("mixed")
        yield Figure("code", 0, "code", word, start, start + len(word), code=word.upper())


def _counts(text: str, taken: list[tuple[int, int]]) -> Iterator[Figure]:
    for match in _COUNT.finditer(text):
        start = match.start("n")
        if any(a <= start < b for a, b in taken):
            continue
        noun = match["noun"].lower()
        value = number_value(match["n"])
        if value is None or noun in _NOT_COUNTED or noun in STOPWORDS or (
                noun in _DURATION_UNITS) or (
                noun.rstrip("s") in _DURATION_UNITS):
            continue
        if match["n"].lower() in ("a", "an", "single", "a single") and not match["mod"]:
            continue  # "a refund", "an order": an article, not a count
        yield Figure("count", value, _singular(noun), match.group(0).strip(), start,
                     match.end())


def _quantities(text: str) -> Iterator[Figure]:
    """Weights, volumes and lengths ("10 kg", "ten kilograms", "36 g"): counts of a unit."""
    for match in _QUANTITY.finditer(text):
        value = number_value(match["n"])
        word = match["u"].lower()
        if value is None or match["n"].lower() in ("a", "an"):
            continue
        key = word if word in _QUANTITY_UNITS else word.rstrip("s")
        unit = _QUANTITY_UNITS.get(key, _QUANTITY_UNITS.get(key.rstrip("e"), key))
        yield Figure("count", value, unit, match.group(0), match.start(), match.end())


def _singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("ses", "xes", "ches", "shes")):
        return noun[:-2]
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


@lru_cache(maxsize=8192)
def _figures(text: str, currency: str) -> tuple[Figure, ...]:
    found: list[Figure] = []
    taken: list[tuple[int, int]] = []

    def add(figures: Iterator[Figure]) -> None:
        for figure in figures:
            if any(a < figure.end and figure.start < b for a, b in taken):
                continue  # each stretch of text is one figure: "$4.95" is not also a count
            found.append(figure)
            taken.append((figure.start, figure.end))

    add(money_in(text, currency))
    add(_percents(text))
    add(_temperatures(text))
    add(_times(text))
    add(_dates(text))
    add(_numeric_dates(text, currency))
    add(_durations(text))
    add(_quantities(text))
    add(_codes(text))
    add(_counts(text, taken))
    return tuple(sorted(found, key=lambda f: f.start))


def figures_in(text: str, currency: str = "USD") -> tuple[Figure, ...]:
    """Every figure of `text`, in text order; overlapping readings keep the first kind found
    (money, percent, temperature, time, date, duration, code, count)."""
    return _figures(text, currency)
