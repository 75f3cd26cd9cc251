"""The catalog as verified data, applied to a reply: prices, availability, product names.

A price is checked against the product named nearest before it in the same sentence (in a
sentence about a discount, only the price it starts from: "$17.55 instead of $19.50"); a
discontinued product is fine when the sentence says it is discontinued; a product-like name
that the catalog lacks is flagged, and so is a catalog name with a model word the catalog
does not have ("Burr Grinder S1 Pro").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.kb.catalog import Mention, find_products
from harness.store.schema import Catalog
from harness.text.figures import CURRENCY_SYMBOLS, money_in
from harness.text.sentences import sentences

__all__ = ["Claim", "catalog_claims", "money"]

_TOKEN = re.compile(r"[a-z0-9]+")

_NOT_AVAILABLE = re.compile(
    r"\b(discontinued|no longer|not available|unavailable|out of stock|sold out|not in stock|"
    r"stopped (making|selling)|retired|isn't available|is not sold|replaced by|recall(ed)?|"
    r"stop (using|feeding|giving)|safety (notice|issue|warning)|do not use|don't use|"
    r"withdr[ae]w[n]?|"
    r"(pulled|taken|removed) (it |them )?(from|off) (sale|the market|our range)|"
    r"no longer (stock|carry|offer)|stopped (stocking|carrying))\b",
    re.IGNORECASE,
)
# Recall advice that says nothing of the product being gone ("we're refunding every bag of
# Chicken Twists"): that sentence does not offer it, a later plain mention still does.
_RECALL_ADVICE = re.compile(r"\b(refund(ing)? (every|all|any)|affected (bags?|batch(es)?|units?|"
                            r"lots?|products?)|stop (feeding|giving|using))\b", re.IGNORECASE)
_DISCOUNT = re.compile(r"\d+\s?%|\b(discount(ed)?|sale price|off the|save|promo)\b", re.IGNORECASE)
_PRICE_LINK = re.compile(
    r"[\s:(\u2014-]*(?:(?:costs?|is|are|was|sells? for|retails? (?:for|at)|priced at|goes for|"
    r"normally|usually|currently|regularly|now|only|just|at|for)[\s:,]+)*",
    re.IGNORECASE,
)
# What introduces the price a discount starts from.
_WAS = re.compile(r"\b(?:instead of|rather than|down from|reduced from|normally|usually|"
                  r"regularly|originally|was|full price of)\s*$", re.IGNORECASE)
_PRICE_FOR = re.compile(r"\S*\s+(?:for|on)\s+(?:the|a|an|our|your)?\s*", re.IGNORECASE)
# A model word after a catalog name makes another product: "Burr Grinder S1 Pro".
_VARIANT = re.compile(r"\s+(Pro|Plus|Max|Mini|Lite|Ultra|Elite|Deluxe|XL|II|III|IV|Neo|Duo)\b")
_TITLE_RUN = re.compile(
    r"(?<![\w&])(?:[A-Z][\w'&-]*|\d[\w.-]*)(?:[ -](?:[A-Z][\w'&-]*|\d[\w.-]*|&))+"
)


@dataclass(frozen=True)
class Claim:
    """A statement of the reply that the catalog contradicts."""

    text: str  # the reply's sentence
    problem: str


def _amounts(sentence: str, currency: str) -> list[tuple[int, float]]:
    """Where each amount in the store's currency starts, and its value."""
    return [(m.start, m.value) for m in money_in(sentence, currency) if m.unit == currency.upper()]


def money(value: float, currency: str) -> str:
    """An amount as a coach reads it: "$189.00", "\u00a349.00", "49.99 CHF"."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), "")
    return f"{symbol}{value:,.2f}" if len(symbol) == 1 else f"{value:,.2f} {currency.upper()}"


def _kind_words(catalog: Catalog) -> set[str]:
    """The words that make a phrase look like a product: the last word of each catalog name."""
    kinds = set()
    for product in catalog.products:
        words = [w for w in _TOKEN.findall(product.name.lower()) if w.isalpha()]
        if words:
            kinds.add(words[-1].rstrip("s"))
    return kinds


def _name_runs(catalog: Catalog) -> tuple[tuple[str, ...], ...]:
    """Each catalog name and alias as its words (plural endings dropped)."""
    return tuple(tuple(w.rstrip("s") for w in _TOKEN.findall(name.lower()))
                 for product in catalog.products for name in (product.name, *product.aliases))


def _part_of_a_name(words: list[str], names: tuple[tuple[str, ...], ...]) -> bool:
    """The words run inside a catalog name: "Adult Dog Chicken & Rice" names the catalog's
    "Pawsome Adult Dog Chicken & Rice 2kg" (in some size), it is not an unknown product."""
    size = len(words)
    return any(tuple(words) == name[i:i + size]
               for name in names for i in range(len(name) - size + 1))


def catalog_claims(text: str, catalog: Catalog, *, ignore: tuple[str, ...] = ()) -> list[Claim]:
    """Prices, availability and product names in `text` that the catalog contradicts.

    A price is checked against the product named nearest before it in the same sentence
    (sentences about a discount are left alone); a discontinued product is fine when the
    sentence (or an earlier one of the reply) says it is discontinued or recalled; a
    product-like name that the catalog lacks is flagged.
    """
    for phrase in ignore:
        if phrase:
            text = text.replace(phrase, " ")
    claims: list[Claim] = []
    kinds = _kind_words(catalog)
    names = _name_runs(catalog)
    told: set[str] = set()  # products the reply has said are discontinued or recalled
    for sentence in sentences(text):
        mentions = find_products(sentence, catalog)
        claims += _price_claims(sentence, mentions, catalog)
        variants = _variants(sentence, mentions, names)
        claims += [Claim(sentence, f"names {written!r}, which is not in the catalog (it has"
                                   f" {mention.product.name})") for mention, written in variants]
        for mention in mentions:
            product = mention.product
            if any(mention is m for m, _ in variants):
                continue
            if product.status != "discontinued":
                continue
            if _NOT_AVAILABLE.search(sentence):
                told.add(product.sku)  # later mentions ("refunding every bag") refer back
            elif product.sku not in told and not _RECALL_ADVICE.search(sentence):
                claims.append(Claim(sentence, f"offers {product.name}, which the catalog lists"
                                              " as discontinued"))
        for match in _TITLE_RUN.finditer(sentence):
            if any(m.start < match.end() and match.start() < m.end for m in mentions):
                continue
            words = [w.rstrip("s") for w in _TOKEN.findall(match.group(0).lower())]
            if len(words) >= 2 and any(w in kinds for w in words) and not _part_of_a_name(
                    words, names):
                claims.append(Claim(sentence, f"names {match.group(0)!r}, which is not in the"
                                              " catalog"))
    return claims


def _variants(sentence: str, mentions: tuple[Mention, ...],
              names: tuple[tuple[str, ...], ...]) -> list[tuple[Mention, str]]:
    """Catalog names followed by a model word that makes a product the catalog lacks
    ("Burr Grinder S1 Pro"), with the name as written."""
    found = []
    for mention in mentions:
        variant = _VARIANT.match(sentence, mention.end)
        if variant:
            written = sentence[mention.start:variant.end()]
            if not _part_of_a_name([w.rstrip("s") for w in _TOKEN.findall(written.lower())],
                                   names):
                found.append((mention, written))
    return found


def _priced(sentence: str, mention: Mention, start: int) -> bool:
    """Whether the amount at `start` is stated as the price of the product `mention` names:
    "the S2 costs $189", "the S2 is now $179", "the S2 ($189)", "$189 for the S2"."""
    if start >= mention.end:
        return bool(_PRICE_LINK.fullmatch(sentence[mention.end:start]))
    return bool(_PRICE_FOR.fullmatch(sentence[start:mention.start]))


def _regular_price_claims(sentence: str, mentions: tuple[Mention, ...],
                          catalog: Catalog) -> list[Claim]:
    """In a sentence about a discount, the price it starts from ("$17.55 instead of $19.50",
    "down from $449") is the named product's catalog price; the discounted one is left alone."""
    products = {m.product.sku: m.product for m in mentions}
    if len(products) != 1:
        return []
    product = next(iter(products.values()))
    claims = []
    for start, value in _amounts(sentence, catalog.currency):
        if _WAS.search(sentence[max(0, start - 30):start]) and round(value, 2) != round(
                product.price, 2):
            claims.append(Claim(sentence, (
                f"gives {money(value, catalog.currency)} as the regular price of {product.name};"
                f" the catalog says {money(product.price, catalog.currency)}")))
    return claims


def _price_claims(sentence: str, mentions: tuple[Mention, ...], catalog: Catalog) -> list[Claim]:
    if not mentions:
        return []
    if _DISCOUNT.search(sentence):
        return _regular_price_claims(sentence, mentions, catalog)
    claims = []
    for start, value in _amounts(sentence, catalog.currency):
        owners = [m for m in mentions if _priced(sentence, m, start)]
        if not owners:
            continue  # another amount of the sentence: a shipping fee, a gift card, a threshold
        product = owners[-1].product
        if round(value, 2) != round(product.price, 2):
            claims.append(Claim(sentence, (
                f"quotes {money(value, catalog.currency)} for {product.name}; the catalog says"
                f" {money(product.price, catalog.currency)}"
            )))
    return claims
