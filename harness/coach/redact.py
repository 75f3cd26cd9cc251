"""Personal data in support-chat text, replaced by typed placeholders before it is kept anywhere.

    [email] [phone] [address] [order] [card] [iban] [ip] [name] [dob] [national-id] [bank]

`harness promote` writes fixtures from production chats and `harness score` keeps their text in
the history, so both need `redact`. It is rules over regular expressions, with `phonenumbers`
(libphonenumber's metadata; the `phonenumberslite` distribution is enough) for numbers written
with a country code. Support chat is short, informal and full of product names and prices: on
tests/data/pii_corpus.yaml, Presidio with spaCy's small English model leaked far more than these
rules, took product names for people and places, and took over 100 times as long per message
(about 6 ms), too slow for `harness score`.

Each detector proposes spans; on an overlap the more specific one wins (a card number is never
half-read as a phone number), spans of one kind merge, and the text is rebuilt around them.
Where a rule could go either way it redacts: a leaked phone number costs more than one lost
word in a fixture, which a coach reads before committing it anyway.

Speed matters as much (`harness score` redacts every message of 100,000 conversations), so a
pattern runs only where something cheap says it could match: a cue word (all detectors' cue
words are found in one scan), a run of digits, a count of digits, a character. Names are found
after self-introductions and in sign-offs only; a name in the middle of a sentence ("for my
husband Carlos Ruiz") is not.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = ["PLACEHOLDERS", "Span", "find", "redact"]

EMAIL, CARD, ORDER, PHONE, ADDRESS = "[email]", "[card]", "[order]", "[phone]", "[address]"
IBAN, IP, NAME, DOB, NATIONAL_ID, BANK = ("[iban]", "[ip]", "[name]", "[dob]", "[national-id]",
                                          "[bank]")
# The first five are harness/redact.py's. production.py strips placeholders from search
# queries, so it needs this whole tuple once it redacts with this module.
PLACEHOLDERS = (EMAIL, CARD, ORDER, PHONE, ADDRESS, IBAN, IP, NAME, DOB, NATIONAL_ID, BANK)


Cues = dict[str, list[int]]  # a cue word -> where it starts a word of the lowered text


class Span(NamedTuple):
    """`text[start:end]` is personal data shown as `placeholder`; a lower `rank` wins overlaps."""

    start: int
    end: int
    placeholder: str
    rank: int


@functools.lru_cache(maxsize=2048)
def redact(text: str) -> str:
    """`text` with every piece of personal data that `find` sees replaced by its placeholder.

    Cached: `harness score` redacts a customer message up to four times (kept text, question,
    what was asked before, knowledge gap), and a few recent texts cover those repeats.
    """
    spans = find(text)
    if not spans:
        return text
    parts, at = [], 0
    for span in spans:
        parts += (text[at:span.start], span.placeholder)
        at = span.end
    parts.append(text[at:])
    return "".join(parts)


def find(text: str) -> list[Span]:
    """The personal data in `text`, in order, without overlaps."""
    lower = text.lower()
    if len(lower) != len(text):  # "İ" lowers to two characters: keep the offsets aligned
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    digits = sum(map(text.count, "0123456789"))
    cues: Cues = {}
    if digits or _has(lower, _NAME_HINTS):  # without digits, only names need cue words
        for m in _CUE.finditer(lower):  # one scan for the cue words of every detector
            cues.setdefault(m.group(), []).append(m.start())
    spans: list[Span] = []
    for detector in _DETECTORS:
        detector(text, lower, digits, cues, spans)
    return _resolve(text, spans) if spans else []


def _has(lower: str, words: tuple[str, ...]) -> bool:
    """Whether any of `words` occurs in `lower`: a substring test gates a costly pattern."""
    return any(word in lower for word in words)


def _at_cues(text: str, cues: Cues, words: tuple[str, ...],
             pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """Matches of `pattern` where `find` saw one of `words` start a word."""
    if not cues:
        return []
    return [m for word in words for at in cues.get(word, ()) if (m := pattern.match(text, at))]


# -- ranks: who wins an overlap (lower first) -------------------------------------------------

R_EMAIL, R_IBAN, R_CARD, R_IP, R_ID, R_DOB, R_BANK, R_ORDER, R_LAST4, R_ADDRESS, R_PHONE, \
    R_NAME = range(12)


def _resolve(text: str, spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: the best-ranked, then longest; same-kind overlaps are merged."""
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.rank, s.start - s.end, s.start)):
        clash = [c for c in chosen if c.start < span.end and span.start < c.end]
        if not clash:
            chosen.append(span)
        elif all(c.placeholder == span.placeholder for c in clash):
            for c in clash:
                chosen.remove(c)
            chosen.append(Span(min(span.start, *(c.start for c in clash)),
                               max(span.end, *(c.end for c in clash)), span.placeholder,
                               span.rank))
    chosen.sort()
    merged: list[Span] = []
    for span in chosen:  # "[address], [address]" of one address reads as one
        last = merged[-1] if merged else None
        if (last and last.placeholder == span.placeholder == ADDRESS
                and _ONLY_COMMAS.fullmatch(text, last.end, span.start)):
            merged[-1] = last._replace(end=span.end)
        else:
            merged.append(span)
    return merged


_ONLY_COMMAS = re.compile(r"[\s,]*")


# -- emails -----------------------------------------------------------------------------------

_TLD = (r"com|net|org|edu|gov|io|co|uk|de|fr|es|it|nl|be|ch|at|ie|ca|au|us|eu|info|biz|me|se|"
        r"dk|pl|pt")
_EMAIL = re.compile(r"[\w.+-]+(?:[ \t]?@[ \t]?|[ \t]?[(\[]at[)\]][ \t]?)[\w-]+(?:\.[\w-]+)*"
                    r"\.[a-z]{2,}\b", re.IGNORECASE)
# "priya dot shah at gmail dot com": people spell addresses out to dodge filters.
_EMAIL_SPELLED = re.compile(
    rf"(?<![\w.])[\w.+-]+(?:\s+dot\s+[\w+-]+)*\s+(?:at|\(at\)|\[at\])\s+[\w-]+"
    rf"(?:\s+(?:dot|\(dot\)|\[dot\])\s+[\w-]+)*?\s+(?:dot|\(dot\)|\[dot\])\s+(?:{_TLD})\b",
    re.IGNORECASE)


def _emails(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if "@" in text or "(at)" in lower or "[at]" in lower:
        for m in _EMAIL.finditer(text):
            spans.append(Span(m.start(), m.end(), EMAIL, R_EMAIL))
    if " dot " in lower or "(dot)" in lower or "[dot]" in lower:
        for m in _EMAIL_SPELLED.finditer(text):
            spans.append(Span(m.start(), m.end(), EMAIL, R_EMAIL))


# -- IBANs ------------------------------------------------------------------------------------

# Length of the IBAN per country (SWIFT's IBAN registry): the candidate is cut to it, so
# "DE89 3704 0044 0532 0130 00 please" ends at the IBAN and not at the next word.
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
_IBAN = re.compile(r"\b([A-Z]{2})[ \t]?\d{2}(?:[ \t]?[A-Z0-9]){11,30}", re.IGNORECASE)
_IBAN_CUE = re.compile(r"\b(?:iban|bank|account|acct|refund|transfer)\b", re.IGNORECASE)


def _ibans(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits < 10:
        return
    for m in _IBAN.finditer(text):
        length = _IBAN_LENGTH.get(m.group(1).upper())
        if length is None:
            continue
        chars, end = [], m.start()
        for i in range(m.start(), m.end()):
            if text[i].isalnum():
                chars.append(text[i].upper())
                end = i + 1
                if len(chars) == length:
                    break
        if len(chars) < length or (end < len(text) and text[end].isalnum()):
            continue
        if _mod97("".join(chars)) or _IBAN_CUE.search(text, max(0, m.start() - 20), m.start()):
            spans.append(Span(m.start(), end, IBAN, R_IBAN))


def _mod97(code: str) -> bool:
    """The IBAN check (ISO 13616): moved country and check digits, letters as 10-35, mod 97."""
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# -- cards ------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)")
_CARD_CUE = re.compile(r"\b(?:card|visa|master\s?card|amex|american express|discover|debit|"
                       r"credit|cc)\b", re.IGNORECASE)
_CVV = re.compile(r"\b(?:cvv2?|cvc2?|csc|cid|security\s+code)\b\W{0,3}(?:is\s+)?(\d{3,4})\b",
                  re.IGNORECASE)
# "card ending 4242", "last 4 digits are 0005", "****4242": only the four digits go.
_LAST4 = re.compile(
    r"(?:(?:ending|ends)(?:[ \t]+(?:in|with))?|last[ \t]+(?:4|four)(?:[ \t]+(?:digits?|numbers?))?"
    r"(?:[ \t]+of[ \t]+(?:my|the)[ \t]+card)?(?:[ \t]+(?:are|is|were|was))?)"
    r"[ \t]*[:#-]?[ \t]*(\d{4})\b", re.IGNORECASE)
_CARD_BEFORE = re.compile(r"\b(?:card|visa|master\s?card|amex|debit|credit|account)\b"
                          r"[^.\n\d]{0,20}\Z", re.IGNORECASE)
_LAST4_WORDS = ("ending", "ends", "last")
_MASKED = re.compile(r"(?<!\w)(?:[*xX\u2022]{2,}[ -]?){1,3}(\d{4})\b")


def _cards(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits >= 13:
        for m in _CARD.finditer(text):
            if (_luhn(re.sub(r"\D", "", m.group()))
                    or _CARD_CUE.search(text, max(0, m.start() - 25), m.start())):
                spans.append(Span(m.start(), m.end(), CARD, R_CARD))
    if digits < 3:
        return
    if _has(lower, ("cvv", "cvc", "csc", "cid", "security code")):
        for m in _CVV.finditer(text):
            spans.append(Span(m.start(1), m.end(1), CARD, R_LAST4))
    for m in _at_cues(text, cues, _LAST4_WORDS, _LAST4):
        if m.group().lower().startswith("last") or _CARD_BEFORE.search(
                text, max(0, m.start() - 30), m.start()):
            spans.append(Span(m.start(1), m.end(1), CARD, R_LAST4))
    if "**" in text or "xx" in lower or "\u2022\u2022" in text:
        for m in _MASKED.finditer(text):
            spans.append(Span(m.start(1), m.end(1), CARD, R_LAST4))


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# -- IP addresses -----------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)")
_VERSION_BEFORE = re.compile(r"\b(?:version|ver|v|firmware|build|release|ios|android|app)"
                             r"\W{0,3}\Z", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:])(?=[0-9a-f:]*::|(?:[0-9a-f]{1,4}:){7})"
                   r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.IGNORECASE)


def _ipv4(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits < 4 or text.count(".") < 3:
        return
    for m in _IPV4.finditer(text):
        if not _VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            spans.append(Span(m.start(), m.end(), IP, R_IP))


def _ipv6(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if "::" not in text and text.count(":") < 7:
        return
    for m in _IPV6.finditer(text):
        if sum(c.isalnum() for c in m.group()) < 4:
            continue
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        spans.append(Span(m.start(), m.end(), IP, R_IP))


# -- national ids -----------------------------------------------------------------------------

_ID_CUE = (
    r"ssn|social\s+security(?:\s+(?:number|no\.?|\#))?|sin|social\s+insurance"
    r"(?:\s+(?:number|no\.?))?|passport(?:\s+(?:number|no\.?|\#))?|national\s+(?:id|identity|"
    r"insurance)(?:\s+(?:number|no\.?|card))?|ni\s+(?:number|no\.?)|nino|nin|id\s+(?:number|"
    r"no\.?|card)|tax\s+(?:id|number|code)|tin|itin|nif|nie|dni|bsn|pesel|nir|codice\s+fiscale|"
    r"steuer-?id|personnummer|cpr|driver'?s?\s+licen[cs]e(?:\s+(?:number|no\.?))?")
_ID_CUED = re.compile(
    rf"(?:{_ID_CUE})\b[ \t]*(?:is|was|:|=|\#|-|number)?[ \t]*(?:is[ \t]+)?"
    r"((?:[A-Z]{1,2}[ -]?)?\d[\d -]{4,14}\d(?:[ -]?[A-Z](?![\w-]))?"
    r"|(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z0-9]{6,20})(?![\w-])", re.IGNORECASE)
_ID_WORDS = ("ssn", "social", "sin", "passport", "national", "ni", "id", "tax", "tin", "itin",
             "nif", "nie", "dni", "bsn", "pesel", "codice", "steuer", "personnummer", "cpr",
             "driver")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_SIX_DIGITS = re.compile(r"\d\d[ \t]?\d\d[ \t]?\d\d")
_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}[ \t]?\d{2}[ \t]?\d{2}[ \t]?\d{2}[ \t]?[A-D]\b")
_DNI = re.compile(r"(\d{7,8})([A-Za-z])(?!\w)")
_DIGIT_LETTER_DIGIT = re.compile(r"\d[A-Za-z]\d")
_CODICE_FISCALE = re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b", re.IGNORECASE)


def _national_ids(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits < 5:
        return
    for m in _at_cues(text, cues, _ID_WORDS, _ID_CUED):
        if sum(c.isdigit() for c in m.group(1)) >= 5:
            spans.append(Span(m.start(1), m.end(1), NATIONAL_ID, R_ID))
    if digits >= 9 and "-" in text:
        for m in _SSN.finditer(text):
            spans.append(Span(m.start(), m.end(), NATIONAL_ID, R_ID))
    if digits >= 6 and _SIX_DIGITS.search(text):  # UK National Insurance: QQ 12 34 56 C
        for m in _NINO.finditer(text):
            spans.append(Span(m.start(), m.end(), NATIONAL_ID, R_ID))
    if digits >= 7:
        _spanish_ids(text, spans)
        if _DIGIT_LETTER_DIGIT.search(text):
            for m in _CODICE_FISCALE.finditer(text):
                spans.append(Span(m.start(), m.end(), NATIONAL_ID, R_ID))


def _spanish_ids(text: str, spans: list[Span]) -> None:
    """DNI (12345678Z) and NIE (X1234567L), whose letter checks the number."""
    for m in _DNI.finditer(text):
        number, letter = m.groups()
        start = m.start()
        before = text[start - 1] if start else " "
        if before in "XYZxyz" and len(number) == 7 and (start < 2 or not text[start - 2].isalnum()):
            value, start = int(str("XYZ".index(before.upper())) + number), start - 1
        elif not before.isalnum() and len(number) == 8:
            value = int(number)
        else:
            continue
        if "TRWAGMYFPDXBNJZSQVHLCKE"[value % 23] == letter.upper():
            spans.append(Span(start, m.end(), NATIONAL_ID, R_ID))


# -- bank details -----------------------------------------------------------------------------

_BANK = re.compile(
    r"(?:sort[ \t]?code[ \t]*(?:is|:)?[ \t]*(\d{2}[- ]?\d{2}[- ]?\d{2})"
    r"|(?:account|acct|acc|routing|aba|bsb)(?:[ \t]*(?:number|no\.?|num|\#))?[ \t]*(?:is|:)?"
    r"[ \t]*(\d[\d -]{4,15}\d))(?![\w-])", re.IGNORECASE)


_BANK_WORDS = ("sort", "acc", "routing", "aba", "bsb")


def _bank(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits < 6:
        return
    for m in _at_cues(text, cues, _BANK_WORDS, _BANK):
        group = 1 if m.group(1) else 2
        spans.append(Span(m.start(group), m.end(group), BANK, R_BANK))


# -- dates of birth ---------------------------------------------------------------------------

_MONTH = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = (rf"\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{2,4}}"
         rf"|{_DAY}\s+(?:of\s+)?(?:{_MONTH})\.?,?(?:\s+\d{{2,4}})?"
         rf"|(?:{_MONTH})\.?\s+{_DAY},?(?:\s+\d{{2,4}})?|(?:19|20)\d{{2}}")
# Only after a cue: "2026-11-20 delivery" is a delivery date, "DOB 1990-04-12" is personal.
_DOB = re.compile(
    r"(?:born|d\.?o\.?b(?:\.|\b)|date\s+of\s+birth|birth\s*date|birthday|b-?day|geburtsdatum|"
    r"fecha\s+de\s+nacimiento|n[ée]e?\s+le)"
    r"[ \t]*(?:[:=-][ \t]*)?(?:(?:is|was|on|in|:)[ \t]+){0,2}"
    rf"((?<!\d)(?:{_DATE})(?![\w/.-]\d))", re.IGNORECASE)
_DOB_WORDS = ("born", "dob", "d.o.b", "date of", "birth", "bday", "b-day", "geburt", "fecha",
              "né", "nee")


def _dobs(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if not digits:
        return
    for m in _at_cues(text, cues, _DOB_WORDS, _DOB):
        spans.append(Span(m.start(1), m.end(1), DOB, R_DOB))


# -- order numbers ----------------------------------------------------------------------------

_ORDER_ID = (r"\#?(?:(?!(?:is|was|no|nr|id|num|number|from|for|of|on|and|the|my|by|in|at)\b)"
             r"[A-Z]{1,4}[ \t-])?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,}")
_ORDER_CUED = re.compile(
    r"(?:ord(?:e?r)?|ref|reference|invoice|inv|purchase|confirmation|receipt|transaction|rma)"
    r"s?\b(?:[ \t]*(?:number|no\.?|num|nr\.?|id|\#|code)){0,2}(?:[ \t]+(?:is|was))?[ \t]*"
    rf"[:\#(-]*[ \t]*({_ORDER_ID})(?![\w-])", re.IGNORECASE)
_ORDER_WORDS = ("ord", "ref", "inv", "purchase", "confirmation", "receipt", "transaction", "rma")
_ORDER_MORE = re.compile(rf"[ \t]*(?:,|and|&|\+|/|or)[ \t]*({_ORDER_ID})(?![\w-])",
                         re.IGNORECASE)
_ORDER_HASH = re.compile(r"(?<![\w#])\#\d{4,}\b")
_FOUR_DIGITS = re.compile(r"\d{4,}")
_LETTERS_BEFORE = re.compile(r"(?<![\w-])[A-Za-z]{2,4}-?\Z")
_ORDER_PREFIXED = re.compile(r"[A-Z]{2,4}(?:-\d{4,}|\d{5,})(?:-[A-Z0-9]+)*(?![\w-])",
                             re.IGNORECASE)


def _orders(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if not digits:
        return
    for m in _at_cues(text, cues, _ORDER_WORDS, _ORDER_CUED):
        spans.append(Span(m.start(1), m.end(1), ORDER, R_ORDER))
        more = _ORDER_MORE.match(text, m.end())
        while more:  # "orders 48214 and 48215"
            spans.append(Span(more.start(1), more.end(1), ORDER, R_ORDER))
            more = _ORDER_MORE.match(text, more.end())
    if "#" in text:
        for m in _ORDER_HASH.finditer(text):
            spans.append(Span(m.start(), m.end(), ORDER, R_ORDER))
    if digits >= 4:  # KC-100871, kc100991: letters right before a run of digits
        for run in _FOUR_DIGITS.finditer(text):
            if (letters := _LETTERS_BEFORE.search(text, max(0, run.start() - 5), run.start())) \
                    and (m := _ORDER_PREFIXED.match(text, letters.start())):
                spans.append(Span(m.start(), m.end(), ORDER, R_ORDER))


# -- street addresses -------------------------------------------------------------------------

# Small words that join a sentence and never name a street: "2 kettles on the way home".
_GLUE = (
    r"on|the|in|at|a|an|to|of|my|your|our|for|by|and|or|is|are|was|were|be|it|its|this|that|"
    r"these|those|all|whole|same|other|one|more|less|per|each|every|from|with|into|over|under|"
    r"about|like|as|if|but|then|than|so|too|very|not|no|just|only|also|still|even|me|you|he|"
    r"she|we|they|i|have|has|had|do|did|can|will|here|there|what|which|who|when|where|how|"
    r"secs?|seconds?|mins?|minutes?|hours?|days?|weeks?|months?|years?|times?|g|kg|ml|l|mm|cm|"
    r"oz|lbs?|x|packs?|bags?|units?|items?|cups?|pcs|pieces?|bars?|points?|boxes|full|tanks?")
_SUFFIXES = frozenset((
    "street", "str", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln",
    "drive", "dr", "court", "ct", "way", "place", "pl", "terrace", "terr", "ter", "circle", "cir",
    "crescent", "cres", "close", "grove", "gardens", "gdns", "mews", "row", "walk", "hill", "park",
    "green", "rise", "parade", "pde", "square", "sq", "parkway", "pkwy", "highway", "hwy",
    "broadway", "esplanade", "quay", "wharf", "trail", "trl", "plaza", "alley", "pike", "heights",
    "hts", "crossing", "commons", "gate",
))
_ROMANCE_TYPES = frozenset((
    "rue", "chemin", "allée", "allee", "impasse", "quai", "calle", "avenida", "avda", "avda.",
    "paseo", "carrer", "viale", "piazza", "corso", "rua", "boulevard", "avenue",
))
_UNIT_BEFORE = r"(?:(?:flat|apt|apartment|unit|suite|ste|room|rm)\.?[ \t]*\#?\w{1,5},?[ \t]+)"
_NAMEWORD = rf"(?!(?:{_GLUE})\b)[^\W\d_][\w'\u2019.-]*"
# A house number and the words after it; a street pattern is tried there only if one of the
# words is a street type ("Street", "rue").
_HOUSE_AT = re.compile(r"\d{1,6}[a-z]?(?:[-/]\d{1,6}[a-z]?)?,?[ \t]+"
                       r"([^\W\d_][\w'\u2019.-]*(?:[ \t]+[^\W\d_][\w'\u2019.-]*){0,5})",
                       re.IGNORECASE)
_NOT_BEFORE_HOUSE = frozenset("_.,/$£€#-")
_UNIT_BEFORE_AT = re.compile(rf"{_UNIT_BEFORE}\Z", re.IGNORECASE)
_NUMBER_FIRST = (
    # 1428 Elm Street, 221b baker st, 88 Queen St W
    (re.compile(rf"\d{{1,6}}[a-z]?(?:[-/]\d{{1,6}}[a-z]?)?,?[ \t]+(?:{_NAMEWORD}[ \t]+){{1,4}}?"
                r"(?:" + "|".join(sorted(_SUFFIXES, key=len, reverse=True)) + r")\b\.?"
                r"(?:[ \t]+(?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\b\.?)?", re.IGNORECASE),
     _SUFFIXES),
    # 12 rue de la Paix, 1200 Rue Sherbrooke Ouest
    (re.compile(r"\d{1,5}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:rue|chemin|all[ée]e|impasse|quai|"
                r"calle|avenida|avda\.?|paseo|carrer|viale|piazza|corso|rua|boulevard|avenue)"
                r"(?:[ \t]+[\w'\u2019-]+){1,5}?(?=[ \t]*(?:[\n,;!?]|\.(?:\s|$)|$|[ \t]\d))",
                re.IGNORECASE),
     _ROMANCE_TYPES),
)
# Hauptstraße 12, Musterstr. 5a, Keizersgracht 123, Bahnhofstrasse 7, Berliner Straße 12
_COMPOUND_TYPES = ("straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "damm", "ufer",
                   "chaussee", "gracht", "laan", "straat", "plein", "kade", "singel", "dijk",
                   "steeg", "vej", "gade", "gatan", "vägen", "veien")
_LOWERCASE_OK = frozenset(("straße", "strasse", "str.", "gasse", "gracht", "straat", "allee"))
_NUMBER_AFTER = re.compile(r"[ \t]*\d{1,5}(?:[ \t]?[a-z])?\b")
_CAPITAL_WORD_BEFORE = re.compile(r"[A-ZÄÖÜ][\wäöüß-]*[ \t]+\Z")
# Calle Mayor 5, Via Roma 10
_TYPE_FIRST = re.compile(r"\b(?:Calle|C/|Avenida|Avda\.|Paseo|Plaza|Carrer|Via|Viale|Piazza|"
                         r"Corso|Largo|Rua|Travessa|Rue|Chemin)[ \t]+(?:[\w'\u2019.-]+[ \t]+){0,4}?"
                         r"\d{1,5}[a-z]?\b")
_TYPE_FIRST_WORDS = ("Calle", "C/", "Avenida", "Avda", "Paseo", "Plaza", "Carrer", "Via",
                     "Piazza", "Corso", "Largo", "Rua", "Travessa", "Rue", "Chemin")
_PO_BOX = re.compile(r"(?:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box|postfach|apartado"
                     r"(?:[ \t]+de[ \t]+correos)?)[ \t]*\d{1,7}\b", re.IGNORECASE)

_PO_BOX_WORDS = ("po", "p.o", "p o", "post", "postfach", "apartado")

_STATES = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    r"NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|AB|BC|MB|NB|NL|NS|NT|NU|"
    r"ON|PE|QC|SK|YT|NSW|VIC|QLD|TAS|ACT")
_STATE_NAMES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    r"Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
    r"Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
    r"New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    r"Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
    r"West Virginia|Wisconsin|Wyoming|Alberta|British Columbia|Manitoba|New Brunswick|"
    r"Newfoundland|Nova Scotia|Ontario|Quebec|Québec|Saskatchewan")
_STATE = rf"(?:{_STATES}|{_STATE_NAMES})\b\.?"
_ZIP = r"\d{5}(?:-\d{4})?"
_CA_POST = r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d"
_UK_POST = r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}"
_NL_POST = r"\d{4}[ \t]?[A-Z]{2}"
_SEP = r"(?:[ \t]*,[ \t]*\n?[ \t]*|[ \t]*\n[ \t]*|[ \t]+)"
_CITY_STOP = (
    r"thanks|thank|please|pls|cheers|regards|best|hi|hello|and|but|i|it|the|my|can|could|would|"
    r"will|is|are|do|did|also|sorry|ok|okay|yes|no|not|so|then|order|apt|suite|unit|flat|since|"
    r"last|next|this|that|when|where|which|who|we|you|he|she|they|if|or|for|from|to|with|as|at|"
    r"in|on|by|of|a|an|now|asap|today|tomorrow")
_CITY_ANY = (rf"(?!(?:{_CITY_STOP})\b)[^\W\d_][\w'\u2019.-]*"
             rf"(?:[ \t]+(?!(?:{_CITY_STOP})\b)[^\W\d_][\w'\u2019.-]*){{0,2}}?")
_CITY_CAP = (r"(?-i:(?!(?:Thanks|Thank|Please|Cheers|Regards|Best|Hi|Hello|And|But|I|It|The|My|"
             r"Can|Could|Would|Will|Is|Are|Do|Did|Also|Sorry|Ok|Okay|Yes|No|Not|So|Then|Order|"
             r"Since|This|That|When|We|You)\b)"
             r"[A-ZÀ-Þ][\w'\u2019.-]*(?:[ \t]+[A-ZÀ-Þ][\w'\u2019.-]*){0,2})")
_COUNTRY = (r"(?:USA|U\.S\.A?\.|United States|UK|U\.K\.|United Kingdom|Canada|Germany|"
            r"Deutschland|France|Spain|España|Italy|Italia|Netherlands|Nederland|Switzerland|"
            r"Schweiz|Suisse|Ireland|Australia|Austria|Österreich|Belgium|België|Belgique)\b")
# After a street: units, then city, state and postcode in the orders people write them.
_UNIT_AFTER = re.compile(
    r"[ \t]*,?[ \t]*(?:(?:apt|apartment|suite|ste|unit|flat|fl|floor|room|rm|bldg|building)\.?"
    r"[ \t]*\#?[ \t]*[\w-]{1,6}|\#[ \t]?[\w-]{1,6}|\d{1,2}[ \t]?[º°ª][ \t]*"
    r"(?:izq(?:uierda)?|dcha|der(?:echa)?|[a-d])?\.?)(?!\w)", re.IGNORECASE)
_PLACE_AFTER = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf"{_SEP}{_CITY_ANY}{_SEP}{_STATE}{_SEP}(?:{_ZIP}|{_CA_POST}|\d{{4}})(?!\w)",
    rf"{_SEP}{_CITY_ANY}{_SEP}{_UK_POST}(?!\w)",
    rf"{_SEP}(?:(?-i:{_STATE}){_SEP})?(?:{_ZIP}|{_CA_POST}|{_UK_POST}|{_NL_POST}|\d{{4,5}})"
    rf"(?!\w)(?:[ \t]+{_CITY_CAP})?",
    rf"[ \t]*,[ \t]*{_CITY_CAP}(?:{_SEP}(?-i:{_STATE}))?(?=[ \t]*(?:[,.;!?\n]|$))",
))
_COUNTRY_AFTER = re.compile(rf"{_SEP}{_COUNTRY}", re.IGNORECASE)
# Postcodes that say "address" on their own, looked for only where their last part could be.
_UK_POSTCODE = re.compile(rf"\b{_UK_POST}\b")
_UK_INWARD = re.compile(r"\d[ABD-HJLNP-UW-Z]{2}\b")
_CA_POSTCODE = re.compile(rf"\b{_CA_POST}\b", re.IGNORECASE)
_CA_INWARD = re.compile(r"\d[A-Za-z]\d")
_ZIP_AT = re.compile(rf"{_ZIP}\b")
_STATE_BEFORE = re.compile(rf"\b(?:{_STATES})[ \t]*,?[ \t]*\Z")  # "TX 78701", not "78701 items"
_POSTCODE_CUED = re.compile(
    r"(?:zip(?:[ \t]*code)?|post[ \t]?code|postal[ \t]+code|plz|code[ \t]+postal|eircode)"
    rf"[ \t]*(?:is|:|=|-|\#)?[ \t]*(?:is[ \t]+)?({_UK_POST}|{_CA_POST}|{_ZIP}|{_NL_POST}|\d{{4,5}}"
    r"|[A-Z]\d{2}[ \t]?[A-Z0-9]{4})(?!\w)", re.IGNORECASE)
_POSTCODE_WORDS = ("zip", "post", "plz", "code postal", "eircode")
_LEFT_WORD = re.compile(r"([\w'\u2019#-]+\.?|,)[ \t]*\Z")
_LEFT_STOP = frozenset((
    "to", "at", "is", "in", "from", "for", "address", "ship", "send", "deliver", "delivered",
    "delivering", "live", "lives", "living", "moved", "move", "moving", "use", "using", "the", "my",
    "our", "your", "and", "or", "but", "new", "old", "home", "work", "office", "adresse",
    "lieferadresse", "indirizzo", "envoyer", "à",
))
_ABBREVIATIONS = frozenset((
    "st", "rd", "ave", "dr", "ln", "blvd", "ct", "pl", "sq", "hwy", "apt", "no", "str", "mt", "ft",
))
_HOUSE_NUMBER = re.compile(r"\d{1,6}[a-z]?")


def _addresses(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if not digits:
        return
    for house in _HOUSE_AT.finditer(text):
        start = house.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in _NOT_BEFORE_HOUSE):
            continue
        words = {word.lower() for word in house.group(1).split()}
        words |= {word.rstrip(".") for word in words}
        for pattern, types in _NUMBER_FIRST:
            if not words.isdisjoint(types) and (m := pattern.match(text, start)):
                unit = _UNIT_BEFORE_AT.search(text, max(0, start - 20), start)
                spans.append(Span(unit.start() if unit else start, _place_after(text, m.end()),
                           ADDRESS, R_ADDRESS))
                break
    for start, end in _compound_streets(text, lower):
        spans.append(Span(start, _place_after(text, end), ADDRESS, R_ADDRESS))
    if _has(text, _TYPE_FIRST_WORDS):
        for m in _TYPE_FIRST.finditer(text):
            spans.append(Span(m.start(), _place_after(text, m.end()), ADDRESS, R_ADDRESS))
    for m in _at_cues(text, cues, _PO_BOX_WORDS, _PO_BOX):
        spans.append(Span(m.start(), _place_after(text, m.end()), ADDRESS, R_ADDRESS))
    for pattern, inward in ((_UK_POSTCODE, _UK_INWARD), (_CA_POSTCODE, _CA_INWARD)):
        if inward.search(text):
            for m in pattern.finditer(text):
                spans.append(Span(_extend_left(text, m.start()), m.end(), ADDRESS, R_ADDRESS))
    if digits >= 5:
        for m in _ZIP_AT.finditer(text):  # "Springfield, IL 62704": a ZIP after a state
            if (m.start() == 0 or not (text[m.start() - 1].isalnum()
                                       or text[m.start() - 1] in "-_")) \
                    and (state := _STATE_BEFORE.search(text, max(0, m.start() - 6), m.start())):
                spans.append(Span(_extend_left(text, state.start()), m.end(), ADDRESS, R_ADDRESS))
    for m in _at_cues(text, cues, _POSTCODE_WORDS, _POSTCODE_CUED):
        spans.append(Span(m.start(1), m.end(1), ADDRESS, R_ADDRESS))


def _compound_streets(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Streets named in one word with the number after: Hauptstraße 12, Keizersgracht 123."""
    for kind in _COMPOUND_TYPES:
        at = lower.find(kind)
        while at >= 0:
            end = at + len(kind)
            if (end == len(text) or not text[end].isalpha()) \
                    and (number := _NUMBER_AFTER.match(text, end)):
                start = at
                while start and (text[start - 1].isalpha() or text[start - 1] == "-"):
                    start -= 1
                if start < at and (text[start].isupper() or kind in _LOWERCASE_OK):
                    yield start, number.end()
                elif start == at and (word := _CAPITAL_WORD_BEFORE.search(
                        text, max(0, at - 30), at)):
                    yield word.start(), number.end()  # Berliner Straße 12
            at = lower.find(kind, at + 1)


def _place_after(text: str, end: int) -> int:
    """Where an address that starts with a street ends: after its unit, city, state, postcode."""
    while unit := _UNIT_AFTER.match(text, end):
        end = unit.end()
    for pattern in _PLACE_AFTER:
        if place := pattern.match(text, end):
            end = place.end()
            break
    if country := _COUNTRY_AFTER.match(text, end):
        end = country.end()
    return end


def _extend_left(text: str, start: int) -> int:
    """Where an address that ends in a postcode starts: "12 Kingsway, London WC2B 6NH"."""
    at, words, city, in_city = start, 0, start, True
    while words < 6 and (m := _LEFT_WORD.search(text, max(0, at - 40), at)):
        word, at = m.group(1), m.start()
        if word == ",":
            in_city = in_city and not words
            continue
        bare = word.rstrip(".").lower()
        if bare in _LEFT_STOP or (word.endswith(".") and bare not in _ABBREVIATIONS):
            break
        if _HOUSE_NUMBER.fullmatch(bare):
            return m.start(1)  # a house number: the street lies between it and the postcode
        if in_city and word[0].isupper():
            city = m.start(1)  # "Leeds LS6 2AB": the town right before the postcode
        else:
            in_city = False
        words += 1
    return city


# -- place labels on their own line: "Town: Reading", "Address line 1: 8 Station Road" --------

_LABELLED_PLACE = re.compile(
    r"^[ \t]*(?:town|city|county|state|province|region)[ \t]*:[ \t]*([^\n,]{1,40}?)[ \t]*$"
    r"|\baddress(?:[ \t]+line[ \t]*\d)?[ \t]*:[ \t]*([^\n]*\d[^\n]*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE)


def _labelled_places(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if ":" not in text or not _has(lower, ("town", "city", "county", "state", "province",
                                           "region", "address")):
        return
    for m in _LABELLED_PLACE.finditer(text):
        group = 1 if m.group(1) else 2
        spans.append(Span(m.start(group), m.end(group), ADDRESS, R_ADDRESS))


# -- phone numbers ----------------------------------------------------------------------------

# Digits with the separators people put in phone numbers, not glued to a word, price or path.
_PHONE = re.compile(r"[+(\d](?<![\w+/.,$£€#-].)[\d \t().\-/]{5,23}\d(?![\w/-]|[.,]\d)")
_PHONE_START = re.compile(r"\+?\(?\+?\d")
_PHONE_CUE = re.compile(
    r"\b(?:call|phone|tel|telephone|mobile|mob|cell|cellphone|number|num|no|nr|whatsapp|text|"
    r"ring|reach|contact|fax|landline|ph|sms|numero|número|nummer|handy|t)\b\W*\Z",
    re.IGNORECASE)
_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_NANP_SHAPE = re.compile(r"(?:\+?1[ \t.-]?)?(?:\(\d{3}\)|\d{3})[ \t.-]?\d{3}[ \t.-]\d{4}")
_GROUP = re.compile(r"\(?\+?\d+\)?")
_phonenumbers: Any = None


def _phones(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    if digits < 7:
        return
    for m in _PHONE.finditer(text):
        if not _PHONE_START.match(m.group()):
            continue
        cued = _PHONE_CUE.search(text, max(0, m.start() - 30), m.start()) is not None
        groups = list(_GROUP.finditer(m.group()))
        # Two numbers or a number and a count can run together: try shorter ends too.
        for last in range(len(groups), 0, -1):
            candidate = m.group()[:groups[last - 1].end()]
            if _is_phone(candidate, cued):
                spans.append(Span(m.start(), m.start() + len(candidate), PHONE, R_PHONE))
                break


def _is_phone(candidate: str, cued: bool) -> bool:
    """Whether `candidate` (digits and separators) reads as a phone number."""
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15 or _DATE_LIKE.fullmatch(candidate.strip("()")):
        return False
    if candidate.startswith(("+", "00")):
        return _possible_international("+" + digits[2:] if candidate.startswith("00")
                                       else candidate)
    if digits.startswith("0"):  # national numbers with a trunk 0: UK, DE, FR, NL, IE, IT, AU
        return 9 <= len(digits) <= 12 or cued
    if _NANP_SHAPE.fullmatch(candidate) or (len(digits) == 10 and digits[0] in "23456789") \
            or (len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789"):
        return True
    return cued and len(digits) <= 12


def _possible_international(candidate: str) -> bool:
    """A number with a country code that has a length libphonenumber knows for that country."""
    global _phonenumbers
    if _phonenumbers is None:
        import phonenumbers  # about 15 ms: imported when a number with a country code shows up

        _phonenumbers = phonenumbers
    try:
        number = _phonenumbers.parse(candidate, None)
    except _phonenumbers.NumberParseException:
        return False
    return bool(_phonenumbers.is_possible_number(number))


# -- names after self-introductions and in sign-offs ------------------------------------------

# A word of a name, or an initial before one ("J. Smith").
_TOKEN = re.compile(r"[^\W\d_]\.(?=[ \t]+[^\W\d_])|[^\W\d_](?:[^\W\d_]|['\u2019-](?=[^\W\d_]))*")
_GAP = re.compile(r"[ \t]+")
_TITLE = re.compile(r"(?:dr|mr|mrs|ms|miss|mx|prof|sir)\.?[ \t]+(?=[^\W\d_])", re.IGNORECASE)
# "my name is jane doe": the name runs until a word that is not one
_NAME_STRONG = re.compile(r"(?:name[ \t]+is|name['\u2019]s|i[ \t]+am[ \t]+called"
                          r"|i['\u2019]?m[ \t]+called)[ \t]*:?[ \t]+", re.IGNORECASE)
_NAME_STRONG_WORDS = ("name", "i am called", "i'm called", "im called")
# "I'm Tom and ...", "this is Sarah from Leeds": the name must be followed by one of these
_NAME_WEAK = re.compile(r"(?<!['\u2019])(?:i['\u2019]m|i[ \t]+am|im|this[ \t]+is|here[ \t]+is)"
                        r"[ \t]+", re.IGNORECASE)
_NAME_WEAK_WORDS = ("i'm", "i\u2019m", "i am", "im", "this is", "here is")
_AFTER_NAME = re.compile(
    r"[ \t]*(?:[,.!?;:)]|\n|$|[ \t][-\u2013\u2014][ \t]|(?:and|from|here|speaking|again|btw|my|"
    r"i|im|i['\u2019]m|with|calling|writing|at|of|in)\b)", re.IGNORECASE)
_AFTER_ANY = re.compile("")
# "Hey there, Marcus here.": a name at the start of a sentence, then "here"
_HERE = re.compile(r"here\b(?=[ \t]*(?:[,.!;:-]|$))", re.IGNORECASE)
_HERE_WORDS = ("here",)
_NAME_HINTS = ("name", "i'm", "i\u2019m", "i am", "im ", "this is", "here")
_BEFORE_HERE = re.compile(r"(?:^|(?<=[\n.!?,]))[ \t]*((?:[^\W\d_][\w'\u2019-]*[ \t]+){1,2})\Z")


def _reversed_phrases(phrases: str) -> str:
    """An alternation that matches each of `phrases` ("|"-separated) written backwards."""
    words = sorted(phrases.split("|"), key=len, reverse=True)
    return "|".join("[ \t]+".join(re.escape(w[::-1]) for w in reversed(p.split())) for p in words)


# Sign-offs, matched backwards from the end of the message where the name stands.
_REV_END = re.compile(r"[\s.!]*")
_REV_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019-](?=[^\W\d_]))*|\.[^\W\d_](?![^\W\d_])")
_REV_SIGN_OFF = re.compile(
    r"(?:[ \t]+\.?(?:rd|rm|srm|sm|ssim|xm|forp|ris)(?![^\W\d_]))?"  # "Dr." before the name
    r"\s*[,.!:;\-]*[ \t]*(?:"
    # "... Thanks, Maria Lopez", "that works thanks Tom": anywhere before the name
    + "(?:" + _reversed_phrases(
        "thanks|thanks again|thanks so much|thanks a lot|thank you|thank you so much|"
        "thank you again|many thanks|thx|thnx|cheers|regards|kind regards|best regards|"
        "warm regards|warmest regards|many regards|sincerely|rgds") + r")(?=[\s.!?,;(]|\Z)"
    # "Best,\nEmily", "thanks! - Sam": only where a line or a sentence starts
    + "|(?:" + _reversed_phrases(
        "best|best wishes|all the best|ty|tia|br|yours|yours sincerely|yours truly|"
        "yours faithfully|respectfully|take care|love|-|\u2013|\u2014|~")
    + r")[ \t]*(?=[\n.!?]|\Z))",
    re.IGNORECASE)

# Words that follow "I'm", "this is" or "Thanks," and are not names.
_NOT_NAMES = frozenset((
    "a", "an", "the", "and", "or", "but", "so", "if", "then", "than", "that", "this", "these",
    "those", "there", "here", "where", "when", "what", "which", "who", "whom", "whose", "why",
    "how", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "he", "him", "his", "she",
    "her", "it", "its", "they", "them", "their", "is", "am", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "do", "does", "did", "will", "would", "shall", "should", "can",
    "could", "may", "might", "must", "not", "no", "nope", "yes", "yeah", "yep", "ya", "ok", "okay",
    "fine", "good", "great", "well", "bad", "sure", "sorry", "glad", "happy", "unhappy", "sad",
    "upset", "angry", "mad", "in", "on", "at", "to", "of", "for", "from", "with", "without", "by",
    "about", "into", "onto", "over", "under", "after", "before", "since", "until", "up", "down",
    "out", "off", "again", "also", "just", "still", "only", "even", "already", "really", "very",
    "too", "quite", "pretty", "totally", "such", "new", "back", "home", "done", "away", "around",
    "gonna", "wanna", "trying", "looking", "having", "getting", "waiting", "writing", "calling",
    "contacting", "wondering", "hoping", "going", "asking", "emailing", "messaging", "interested",
    "confused", "annoyed", "frustrated", "disappointed", "worried", "concerned", "pleased", "tired",
    "stuck", "unable", "able", "afraid", "urgent", "crazy", "insane", "terrible", "awful",
    "horrible", "ridiculous", "unacceptable", "weird", "strange", "odd", "wrong", "right",
    "correct", "broken", "late", "early", "free", "busy", "ready", "gold", "silver", "platinum",
    "bronze", "vip", "premium", "member", "customer", "client", "guest", "subscriber", "owner",
    "buyer", "user", "hi", "hello", "hey", "dear", "sir", "madam", "team", "all", "everyone",
    "everybody", "guys", "folks", "mate", "friend", "buddy", "thanks", "thank", "please", "cheers",
    "regards", "best", "bye", "goodbye", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "january", "february", "march", "july", "september", "october",
    "november", "december", "canadian", "american", "british", "english", "german", "french",
    "spanish", "italian", "dutch", "irish", "scottish", "welsh", "australian", "european", "vegan",
    "allergic", "pregnant", "retired", "disabled", "elderly", "order", "orders", "package",
    "parcel", "delivery", "refund", "return", "account", "email", "phone", "number", "card", "one",
    "two", "three", "first", "second", "third", "last", "next", "another", "other", "same", "whole",
    "today", "tomorrow", "yesterday", "now", "later", "soon", "regarding", "re", "about", "again",
    "much", "lot", "lots", "more", "less", "totally", "completely", "absolutely", "honestly",
    "actually", "literally", "finally", "currently", "definitely", "probably", "simply",
    "basically", "seriously", "luckily", "unfortunately", "hopefully", "kind", "kindly", "warm",
    "warmest", "sincerely", "respectfully", "yours", "truly", "love", "care", "advance",
    "everything", "anything", "nothing", "something", "someone", "anyone", "nobody", "dr", "mr",
    "mrs", "ms", "miss", "mx", "prof",
))


def _names(text: str, lower: str, digits: int, cues: Cues, spans: list[Span]) -> None:
    found = [_name_at(text, m.end(), 4, _AFTER_ANY)
             for m in _at_cues(text, cues, _NAME_STRONG_WORDS, _NAME_STRONG)]
    found += [_name_at(text, m.end(), 3, _AFTER_NAME)
              for m in _at_cues(text, cues, _NAME_WEAK_WORDS, _NAME_WEAK)]
    for m in _at_cues(text, cues, _HERE_WORDS, _HERE):
        if (before := _BEFORE_HERE.search(text, max(0, m.start() - 40), m.start())) \
                and (name := _name_at(text, before.start(1), 2, _AFTER_ANY)) \
                and _GAP.fullmatch(text, name[1], m.start()):
            found.append(name)
    found.append(_signed_name(text))
    spans += (Span(name[0], name[1], NAME, R_NAME) for name in found if name)


def _name_at(text: str, at: int, most: int, after: re.Pattern[str]) -> tuple[int, int] | None:
    """The longest run of up to `most` name-like words at `at` that `after` follows."""
    if title := _TITLE.match(text, at):
        at = title.end()  # "Dr. Olivia Chen": the title stays, the name goes
    start, ends = at, []
    while len(ends) < most and (token := _TOKEN.match(text, at)) and _name_like(token.group()):
        ends.append(token.end())
        gap = _GAP.match(text, token.end())
        if not gap:
            break
        at = gap.end()
    for end in reversed(ends):
        if after.match(text, end):
            return start, end
    return None


def _signed_name(text: str) -> tuple[int, int] | None:
    """The name that ends the message after a sign-off ("Cheers,\\nTom Becker"), if any."""
    window = text[-160:]
    offset = len(text) - len(window)
    back = window[::-1] + ("\n" if not offset else "")  # the start of a text starts a line
    at = _REV_END.match(back).end()
    tokens: list[tuple[int, int]] = []
    last = _REV_TOKEN.match(back, at)
    if not last or not _name_like(last.group()[::-1]):
        return None  # most messages: "... the Kettle & Crema team", "... thanks!"
    while len(tokens) < 4 and (token := _REV_TOKEN.match(back, at)):
        tokens.append((token.start(), token.end()))
        gap = _GAP.match(back, token.end())
        if not gap:
            break
        at = gap.end()
    end = len(text)
    for count in range(len(tokens), 0, -1):
        words = [back[s:e][::-1] for s, e in tokens[:count]]
        if all(_name_like(w) for w in words) and _REV_SIGN_OFF.match(back, tokens[count - 1][1]):
            return end - tokens[count - 1][1], end - tokens[0][0]
    return None


def _name_like(word: str) -> bool:
    bare = word.rstrip(".").replace("\u2019", "'").lower()
    if bare in _NOT_NAMES:
        return False
    if word[0].isupper():
        return True
    return not bare.endswith(("ing", "ed", "ous", "ful", "less", "able", "ible", "ive"))


# Every detector's cue words in one pattern, longest first: where two start at one place the
# longer is seen ("i am called", not "i am"), so each detector lists the longer ones it needs.
_CUE = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in sorted(
    {*_LAST4_WORDS, *_ID_WORDS, *_BANK_WORDS, *_DOB_WORDS, *_ORDER_WORDS, *_PO_BOX_WORDS,
     *_POSTCODE_WORDS, *_NAME_STRONG_WORDS, *_NAME_WEAK_WORDS, *_HERE_WORDS},
    key=len, reverse=True)) + ")")
_DETECTORS = (_emails, _ibans, _cards, _ipv4, _ipv6, _national_ids, _bank, _dobs, _orders,
              _addresses, _labelled_places, _phones, _names)
