"""Find catalog products named in free text, robustly: case, punctuation and plurals.

"burr-grinder s2", "Burr Grinder S2s" and "BURR GRINDER S2" all name the Burr Grinder S2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from harness.store.schema import Catalog, Product
from harness.text.tokens import fold

__all__ = ["Mention", "find_products", "fold", "name_pattern", "named_in_other_order",
           "variants_named"]

T = TypeVar("T")
_TOKEN = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r"[.!?;\n]+")
_JOINING = frozenset({"and", "of", "for", "with", "the", "a", "an", "in", "n"})
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


def _name_words(name: str) -> tuple[str, ...]:
    """The words a name (or a text) is matched by: folded, lower-case, without apostrophes."""
    return tuple(_TOKEN.findall(fold(name).lower().replace("'", "")))


_Name = tuple[Product, str]  # a product and one of its names (the name or an alias)
_Index = dict[str, tuple[tuple[int, _Name], ...]]
_INDEXES: dict[int, tuple[Catalog, _Index]] = {}  # by the catalog's identity, see _index


def _index(catalog: Catalog) -> _Index:
    """Each word a text must hold to name a product (a name's first word, or its plural),
    with the names it starts, numbered in catalog order."""
    return _per_catalog(_INDEXES, catalog, _build_index)


def _build_index(catalog: Catalog) -> _Index:
    index: dict[str, list[tuple[int, _Name]]] = {}
    number = 0
    for product in catalog.products:
        for name in (product.name, *product.aliases):
            words = _name_words(name)
            if words:
                first = words[0]
                for form in dict.fromkeys((first, first + "s", first + "es")):
                    index.setdefault(form, []).append((number, (product, name)))
                number += 1
    return {word: tuple(names) for word, names in index.items()}


def _per_catalog(cache: dict[int, tuple[Catalog, T]], catalog: Catalog,
                 build: Callable[[Catalog], T]) -> T:
    """What `build` makes of a catalog, kept by the catalog's identity: an lru_cache would
    hash the whole frozen catalog, every product, at each lookup."""
    kept = cache.get(id(catalog))
    if kept is not None and kept[0] is catalog:
        return kept[1]
    made = build(catalog)
    if len(cache) >= 32:  # a few catalogs per process: a store and its what-if variants
        cache.pop(next(iter(cache)))
    cache[id(catalog)] = (catalog, made)
    return made


def find_products(text: str, catalog: Catalog) -> tuple[Mention, ...]:
    """Every product named in `text`, longest name first where two overlap, in text order."""
    text = fold(text.replace("\u2019", "'"))
    index = _index(catalog)
    named = dict(entry for word in set(_TOKEN.findall(text.lower().replace("'", "")))
                 for entry in index.get(word, ()))  # cheap test first: most names are absent
    candidates: list[Mention] = []
    for _, (product, name) in sorted(named.items()):
        for match in name_pattern(name).finditer(text):
            candidates.append(Mention(product, match.start(), match.end()))
    candidates.sort(key=lambda m: (m.start, -(m.end - m.start)))
    chosen: list[Mention] = []
    for mention in candidates:
        if chosen and mention.start < chosen[-1].end:
            continue
        chosen.append(mention)
    return tuple(chosen)


def variants_named(text: str, named: tuple[Product, ...], catalog: Catalog) -> tuple[Product, ...]:
    """The other sizes or versions of a named product that the text asks about by their one
    different word: "bought the medium donut bed ... how much is the large?" names the Cloud
    Donut Bed Large too, as a shop assistant hears it."""
    words = set(_name_words(text))
    skus = {p.sku for p in named}
    found: dict[str, Product] = {}
    for product in named:
        own = _name_words(product.name)
        for other in catalog.products:
            if other.sku in skus or other.sku in found:
                continue
            theirs = _name_words(other.name)
            extra = [w for w in theirs if w not in own]
            missing = [w for w in own if w not in theirs]
            swapped = len(theirs) == len(own) and len(missing) == 1  # Medium / Large
            added = len(theirs) == len(own) + 1 and not missing  # Serum / Serum Refill
            if (len(extra) == 1 and (swapped or added) and extra[0] in words
                    and not extra[0].isdigit()):
                found[other.sku] = other
    return tuple(found.values())


def named_in_other_order(text: str, catalog: Catalog, named: tuple[Product, ...] = ()
                         ) -> tuple[Product, ...]:
    """Products the text names by every word of a name or alias, in another order, within one
    sentence: "a 12kg bag of the chicken and rice" names "chicken and rice 12kg", "the large
    donut bed" the "Donut Bed Large". Only names of two words or more; none already named."""
    clauses = [set(_plain(_name_words(c))) for c in _CLAUSE.split(text)]
    said = set().union(*clauses)
    skus = {p.sku for p in named}
    found: dict[str, Product] = {}
    for product, words in _name_sets(catalog):
        if (product.sku not in skus and product.sku not in found and words <= said
                and any(words <= clause for clause in clauses)):
            found[product.sku] = product
    return tuple(found.values())


_NAME_SETS: dict[int, tuple[Catalog, tuple[tuple[Product, frozenset[str]], ...]]] = {}


def _name_sets(catalog: Catalog) -> tuple[tuple[Product, frozenset[str]], ...]:
    """Each name's and alias's words of two or more (see named_in_other_order), computed
    once per catalog."""
    return _per_catalog(_NAME_SETS, catalog, lambda c: tuple(
        (product, words) for product in c.products for name in (product.name, *product.aliases)
        if len(words := frozenset(_plain(_name_words(name))) - _JOINING) >= 2))


def _plain(words: tuple[str, ...]) -> list[str]:
    """Words without a plural "s" ("bags", "twists"), so either form matches the other."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") and w.isalpha() else w for w in words]
