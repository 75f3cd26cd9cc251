"""Find catalog products named in free text, robustly: case, punctuation and plurals.

"burr-grinder s2", "Burr Grinder S2s" and "BURR GRINDER S2" all name the Burr Grinder S2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from harness.store.schema import Catalog, Product

__all__ = [
    "Claim", "Mention", "catalog_claims", "find_products", "name_pattern", "price_pattern",
    "sentences",
]

_TOKEN = re.compile(r"[a-z0-9]+")
_NAME_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Mention:
    product: Product
    start: int
    end: int


def _plural(word: str) -> str:
    """The plural ending a word may take: "grinders", "S2s"; a bare number takes none."""
    if word.isalpha():
        return "(?:e?s)?"
    return "" if word.isdigit() or "'" in word else "(?:'?s)?"


@lru_cache(maxsize=4096)
def name_pattern(name: str) -> re.Pattern[str]:
    """A pattern for a product name: any punctuation between words, optional plural endings."""
    words = _NAME_WORD.findall(name.lower().replace("\u2019", "'"))
    parts = [re.escape(w).replace("'", "'?") + _plural(w) for w in words]
    return re.compile(r"(?<![a-z0-9])" + r"[\W_]*".join(parts) + r"(?![a-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=32)
def _names(catalog: Catalog) -> tuple[tuple[Product, str, str], ...]:
    """Each (product, name or alias, its first word): the word a text must hold to name it."""
    found = []
    for product in catalog.products:
        for name in (product.name, *product.aliases):
            words = _TOKEN.findall(name.lower().replace("'", ""))
            if words:
                found.append((product, name, words[0]))
    return tuple(found)


def find_products(text: str, catalog: Catalog) -> tuple[Mention, ...]:
    """Every product named in `text`, longest name first where two overlap, in text order."""
    text = text.replace("\u2019", "'")
    words = set(_TOKEN.findall(text.lower().replace("'", "")))
    candidates: list[Mention] = []
    for product, name, first in _names(catalog):
        if not words.intersection((first, first + "s", first + "es")):
            continue  # cheap test first: most names are not in most texts
        for match in name_pattern(name).finditer(text):
            candidates.append(Mention(product, match.start(), match.end()))
    candidates.sort(key=lambda m: (m.start, -(m.end - m.start)))
    chosen: list[Mention] = []
    for mention in candidates:
        if chosen and mention.start < chosen[-1].end:
            continue
        chosen.append(mention)
    return tuple(chosen)


# -- the catalog as verified data, applied to a reply ------------------------------------------

_SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "CAD": "$", "AUD": "$"}
_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
_NOT_AVAILABLE = re.compile(
    r"\b(discontinued|no longer|not available|unavailable|out of stock|sold out|not in stock|"
    r"stopped (making|selling)|retired|isn't available|is not sold|replaced by)\b",
    re.IGNORECASE,
)
_DISCOUNT = re.compile(r"\d+\s?%|\b(discount(ed)?|sale price|off the|save|promo)\b", re.IGNORECASE)
_PRICE_LINK = re.compile(
    r"[\s:(\u2014-]*(?:(?:costs?|is|are|was|sells? for|retails? (?:for|at)|priced at|goes for|"
    r"normally|usually|currently|regularly|now|only|just|at|for)[\s:,]+)*",
    re.IGNORECASE,
)
_PRICE_FOR = re.compile(r"\S*\s+(?:for|on)\s+(?:the|a|an|our|your)?\s*", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_TITLE_RUN = re.compile(
    r"(?<![\w&])(?:[A-Z][\w'&-]*|\d[\w.-]*)(?:[ -](?:[A-Z][\w'&-]*|\d[\w.-]*|&))+"
)


@dataclass(frozen=True)
class Claim:
    """A statement of the reply that the catalog contradicts."""

    text: str  # the reply's sentence
    problem: str


def price_pattern(currency: str) -> re.Pattern[str]:
    symbol = re.escape(_SYMBOLS.get(currency.upper(), "$"))
    code = re.escape(currency.upper())
    return re.compile(
        rf"{symbol}\s?{_AMOUNT}|{code}\s?{_AMOUNT}|{_AMOUNT}\s?(?:{code}|dollars?)\b",
        re.IGNORECASE,
    )


def _amounts(sentence: str, currency: str) -> list[tuple[int, float]]:
    found = []
    for match in price_pattern(currency).finditer(sentence):
        groups = [g for g in match.groups()]
        for whole, cents in zip(groups[0::2], groups[1::2], strict=True):
            if whole:
                value = float(whole.replace(",", "") + "." + (cents or "0"))
                found.append((match.start(), value))
    return found


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _money(value: float, currency: str) -> str:
    return f"{_SYMBOLS.get(currency.upper(), '')}{value:,.2f}" + (
        "" if currency.upper() in _SYMBOLS else f" {currency}"
    )


def _kind_words(catalog: Catalog) -> set[str]:
    """The words that make a phrase look like a product: the last word of each catalog name."""
    kinds = set()
    for product in catalog.products:
        words = [w for w in _TOKEN.findall(product.name.lower()) if w.isalpha()]
        if words:
            kinds.add(words[-1].rstrip("s"))
    return kinds


def catalog_claims(text: str, catalog: Catalog, *, ignore: tuple[str, ...] = ()) -> list[Claim]:
    """Prices, availability and product names in `text` that the catalog contradicts.

    A price is checked against the product named nearest before it in the same sentence
    (sentences about a discount are left alone); a discontinued product is fine when the
    sentence says it is discontinued; a product-like name that the catalog lacks is flagged.
    """
    for phrase in ignore:
        if phrase:
            text = text.replace(phrase, " ")
    claims: list[Claim] = []
    kinds = _kind_words(catalog)
    for sentence in sentences(text):
        mentions = find_products(sentence, catalog)
        claims += _price_claims(sentence, mentions, catalog)
        for mention in mentions:
            product = mention.product
            if product.status == "discontinued" and not _NOT_AVAILABLE.search(sentence):
                claims.append(Claim(sentence, f"offers {product.name}, which the catalog lists"
                                              " as discontinued"))
        for match in _TITLE_RUN.finditer(sentence):
            if any(m.start < match.end() and match.start() < m.end for m in mentions):
                continue
            words = [w.rstrip("s") for w in _TOKEN.findall(match.group(0).lower())]
            if len(words) >= 2 and any(w in kinds for w in words):
                claims.append(Claim(sentence, f"names {match.group(0)!r}, which is not in the"
                                              " catalog"))
    return claims


def _priced(sentence: str, mention: Mention, start: int) -> bool:
    """Whether the amount at `start` is stated as the price of the product `mention` names:
    "the S2 costs $189", "the S2 is now $179", "the S2 ($189)", "$189 for the S2"."""
    if start >= mention.end:
        return bool(_PRICE_LINK.fullmatch(sentence[mention.end:start]))
    return bool(_PRICE_FOR.fullmatch(sentence[start:mention.start]))


def _price_claims(sentence: str, mentions: tuple[Mention, ...], catalog: Catalog) -> list[Claim]:
    if not mentions or _DISCOUNT.search(sentence):
        return []
    claims = []
    for start, value in _amounts(sentence, catalog.currency):
        owners = [m for m in mentions if _priced(sentence, m, start)]
        if not owners:
            continue  # another amount of the sentence: a shipping fee, a gift card, a threshold
        product = owners[-1].product
        if round(value, 2) != round(product.price, 2):
            claims.append(Claim(sentence, (
                f"quotes {_money(value, catalog.currency)} for {product.name}; the catalog says"
                f" {_money(product.price, catalog.currency)}"
            )))
    return claims
