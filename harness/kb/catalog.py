"""Find catalog products named in free text, robustly: case, punctuation and plurals.

"burr-grinder s2", "Burr Grinder S2s" and "BURR GRINDER S2" all name the Burr Grinder S2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from harness.store.schema import Catalog, Product
from harness.text.tokens import fold

__all__ = ["Mention", "find_products", "fold", "name_pattern"]

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
    words = _NAME_WORD.findall(fold(name).lower().replace("\u2019", "'"))
    parts = [re.escape(w).replace("'", "'?") + _plural(w) for w in words]
    return re.compile(r"(?<![a-z0-9])" + r"[\W_]*".join(parts) + r"(?![a-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=32)
def _names(catalog: Catalog) -> tuple[tuple[Product, str, str], ...]:
    """Each (product, name or alias, its first word): the word a text must hold to name it."""
    found = []
    for product in catalog.products:
        for name in (product.name, *product.aliases):
            words = _TOKEN.findall(fold(name).lower().replace("'", ""))
            if words:
                found.append((product, name, words[0]))
    return tuple(found)


def find_products(text: str, catalog: Catalog) -> tuple[Mention, ...]:
    """Every product named in `text`, longest name first where two overlap, in text order."""
    text = fold(text.replace("\u2019", "'"))
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
