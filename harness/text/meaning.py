"""Whether a text states a fact, by meaning rather than by letters (offline, rule-based).

A fixture's fact is found in a reply when the reply says the same thing in any usual wording:
- its figures, read by `text.figures` ("30 days" = "thirty days" = "a 30-day window";
  "3-5 business days" = "three to five working days" = "3\u20135 business days"; "2 years" =
  "24 months"), with the fact's other key words in the same sentence;
- a `/regex/` fact, tried on the text as written and with numbers in words turned to digits
  and every dash made plain ("one to two business days" reads "1-2 business days");
- a plain phrase in other words: every key word (stemmed) in one sentence, keeping its
  negation ("never expire" = "no expiration date", not "expires after a year");
- an equivalent the fixture gives (`expect.equivalents`, FORMATS.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.text.figures import Figure, figures_in
from harness.text.matching import is_regex, normalize, phrase_in
from harness.text.numbers import NUMBER, number_value
from harness.text.sentences import sentences
from harness.text.tokens import stem, tokenize

__all__ = ["count_noun", "figures_agree", "negated", "same_claim", "stated", "to_digits", "unit_of"]

_NUMBER_WORD = re.compile(rf"(?<![\w-])(?:{NUMBER})(?![\w])", re.IGNORECASE)
_RANGE_TO = re.compile(r"(\d)\s*(?:-|\u2010|\u2011|\u2012|\u2013|\u2014|\u2212|to)\s*(\d)")
_MARKUP = re.compile(r"[*_`]+")
_NEGATION = re.compile(r"\b(?:no|not|never|none|without|cannot|can't|won't|don't|doesn't|"
                       r"isn't|aren't|n't)\b|n't\b", re.IGNORECASE)
# Wordings that say the same as a common policy phrase, both ways (general English, no store).
_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("never expire", "no expiration", "no expiry", "do not expire", "don't expire",
     "doesn't expire", "does not expire", "won't expire", "will not expire", "never expires"),
    ("discontinued", "retired", "no longer made", "no longer sold", "no longer available",
     "no longer produced", "stopped making", "not made anymore"),
    ("free", "no charge", "at no cost", "free of charge", "costs nothing", "won't cost"),
    ("interest-free", "no interest", "0% interest", "interest free", "without interest",
     "zero interest"),
)
_UNIT_SCALE = {"minutes": 1, "hours": 60, "days": 1440}
# Nouns a count is given in that name the same thing (stemmed; general English, no store).
_SAME_NOUN = {stem("instalment"): stem("payment")}


def count_noun(unit: str) -> str:
    """What a count counts, one word for nouns of one meaning ("3 installments" = "3
    payments")."""
    word = stem(unit)
    return _SAME_NOUN.get(word, word)


def to_digits(text: str) -> str:
    """`text` with numbers in words written in digits, dashes plain, markup gone."""
    def digits(match: re.Match[str]) -> str:
        word = match.group(0)
        if word[:1].isdigit():
            return word
        value = number_value(word)
        if value is None or word.lower() in ("a", "an", "single", "a single"):
            return word
        return f"{value:g}"

    plain = _SLANG_MONEY.sub(lambda m: _SLANG[m.group(1).lower()], _MARKUP.sub("", normalize(text)))
    return _RANGE_TO.sub(r"\1-\2", _NUMBER_WORD.sub(digits, plain))


_SLANG = {"fiver": "5 quid", "tenner": "10 quid"}  # British money words: "it's a tenner"
_SLANG_MONEY = re.compile(r"\ba\s+(fiver|tenner)\b", re.IGNORECASE)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(normalize(text)))


def _scale(figure: Figure) -> tuple[str, float, float | None]:
    """A figure's comparable unit and values: minutes, hours and days on one scale."""
    if figure.kind == "duration" and figure.unit in _UNIT_SCALE:
        factor = _UNIT_SCALE[figure.unit]
        high = figure.high * factor if figure.high is not None else None
        return "span", figure.value * factor, high
    if figure.kind == "code":
        return f"code:{figure.code}", 0.0, None
    if figure.kind == "count":
        return f"count:{count_noun(figure.unit)}", figure.value, figure.high
    return f"{figure.kind}:{figure.unit}", figure.value, figure.high


def unit_of(figure: Figure) -> str:
    """What two figures must share to be about the same kind of quantity."""
    unit = _scale(figure)[0]
    return "code" if unit.startswith("code:") else unit


def same_claim(a: Figure, b: Figure) -> bool:
    """The same value of the same unit kind; a range equals itself only."""
    return _scale(a) == _scale(b)


def figures_agree(claim: Figure, kb: Figure) -> bool:
    """The KB figure backs the claim: the same value, or the claim is an end of the KB's range
    ("up to 10 days" of "3-10 days")."""
    unit_a, low_a, high_a = _scale(claim)
    unit_b, low_b, high_b = _scale(kb)
    if unit_a != unit_b:
        return False
    if (low_a, high_a) == (low_b, high_b):
        return True
    return high_a is None and high_b is not None and low_a in (low_b, high_b)


def _key_words(text: str) -> set[str]:
    return {w for w in tokenize(text) if not w[0].isdigit()}


_BARE_DAY = re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)


_MONTH_END = re.compile(
    r"\b(?:the )?end of (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*", re.IGNORECASE)
_LAST_DAY = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")


def _bare_days(sentence: str) -> list[Figure]:
    """"the 21st": a date whose month the conversation gives, so any month's 21st; "the end
    of January": January's last day."""
    found = [Figure("date", month * 100 + int(m.group(1)), "date", m.group(0))
             for m in _BARE_DAY.finditer(sentence) for month in range(1, 13)]
    for m in _MONTH_END.finditer(sentence):
        month = _MONTH_NAMES.index(m.group(1).lower()) + 1
        found.append(Figure("date", month * 100 + _LAST_DAY[month - 1], "date", m.group(0)))
    return found


def _figures_stated(fact: str, text: str, currency: str) -> bool | None:
    wanted = figures_in(fact, currency)
    if not wanted:
        return None
    rest = _key_words(_strip_figures(fact, wanted))
    for sentence in sentences(text) or [text]:
        found = [*figures_in(sentence, currency), *_bare_days(sentence)]
        if all(any(same_claim(w, f) or (figures_agree(f, w) and w.high is None) for f in found)
               for w in wanted) and rest <= _key_words(sentence) | _unit_words(found):
            return True
    return False


def _unit_words(found: Iterable[Figure]) -> set[str]:
    return {w for f in found for w in tokenize(f.text) if not w[0].isdigit()}


def _strip_figures(text: str, found: Iterable[Figure]) -> str:
    for figure in sorted(found, key=lambda f: -f.start):
        text = text[:figure.start] + " " + text[figure.end:]
    return text


# "e-gift card", "e-mail": a one-letter prefix the tokens drop, yet it names another thing
_PREFIXED = re.compile(r"\b([a-z])-([a-z]+)", re.IGNORECASE)


def _words_stated(phrase: str, text: str) -> bool:
    prefixed = [re.compile(rf"\b{a}[-\u2010\u2011 ]?{b}", re.IGNORECASE)
                for a, b in _PREFIXED.findall(phrase)]
    words = set(tokenize(_PREFIXED.sub(" ", phrase)))
    if not words and not prefixed:
        return False
    negative = negated(phrase)
    return any(words <= set(tokenize(s)) and (not negative or _negates(s, words))
               and all(p.search(s) for p in prefixed)
               for s in sentences(text) or [text])


def _negates(sentence: str, words: set[str]) -> bool:
    """A negation bears on one of `words`: it comes at most four words before it ("no
    expiration date", "do not ever expire"); "they expire after a year without an order"
    has a negation, but not of "expire"."""
    tokens = re.findall(r"[\w']+", normalize(sentence).lower())
    for at, token in enumerate(tokens):
        if _NEGATION.fullmatch(token) and any(
                words & set(tokenize(later)) for later in tokens[at + 1:at + 5]):
            return True
    return False


def _forms(phrase: str) -> list[str]:
    low = normalize(phrase).lower()
    for group in _SYNONYMS:
        if low in group:
            return list(group)
    return [phrase]


def stated(fact: str, text: str, *, equivalents: Iterable[str] = (),
           currency: str = "USD") -> bool:
    """Whether `text` states `fact` (or one of its `equivalents`) in any usual wording."""
    return any(_stated(form, text, currency) for form in (fact, *equivalents))


def _stated(fact: str, text: str, currency: str) -> bool:
    if phrase_in(fact, text):
        return True
    digits = to_digits(text)
    if is_regex(fact):
        return phrase_in(fact, digits)
    by_figures = _figures_stated(to_digits(fact), digits, currency)
    if by_figures is not None:
        return by_figures
    return any(phrase_in(form, text) or phrase_in(form, digits) or _words_stated(form, text)
               for form in _forms(fact))
