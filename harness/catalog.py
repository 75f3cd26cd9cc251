"""Find catalog products named in free text, robustly: case, punctuation and plurals.

"burr-grinder s2", "Burr Grinder S2s" and "BURR GRINDER S2" all name the Burr Grinder S2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from harness.schema import Catalog, Product

__all__ = ["Mention", "find_products", "name_pattern"]

_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Mention:
    product: Product
    start: int
    end: int


@lru_cache(maxsize=4096)
def name_pattern(name: str) -> re.Pattern[str]:
    """A pattern for a product name: any punctuation between words, optional plural endings."""
    words = _TOKEN.findall(name.lower().replace("'", ""))
    parts = [re.escape(w) + ("(?:e?s)?" if w.isalpha() else "") for w in words]
    return re.compile(r"(?<![a-z0-9])" + r"[\W_]*".join(parts) + r"(?![a-z0-9])", re.IGNORECASE)


def find_products(text: str, catalog: Catalog) -> tuple[Mention, ...]:
    """Every product named in `text`, longest name first where two overlap, in text order."""
    candidates: list[Mention] = []
    for product in catalog.products:
        for name in (product.name, *product.aliases):
            if not _TOKEN.search(name.lower()):
                continue
            for match in name_pattern(name).finditer(text.replace("\u2019", "'")):
                candidates.append(Mention(product, match.start(), match.end()))
    candidates.sort(key=lambda m: (m.start, -(m.end - m.start)))
    chosen: list[Mention] = []
    for mention in candidates:
        if chosen and mention.start < chosen[-1].end:
            continue
        chosen.append(mention)
    return tuple(chosen)
