"""Policy figures in a reply (days, amounts, percentages), checked against the served KB.

A production reply has no fixture saying what it should state, so its policy figures are
checked against the articles the customer could have been shown that day. A figure is
*supported* when a served article sentence about the same thing (sharing key words with the
reply's sentence) states it; it *contradicts* the KB when such a sentence states another
value of the same kind; otherwise no served article supports it. Either of the last two is a
flagged hallucination, and the reason says which figure and which article says otherwise, or
which unserved article (archived, draft, out of its dates) it seems to come from.

Amounts in a sentence that names a catalog product, and amounts equal to a catalog price, are
left to the catalog check; a figure the customer stated is not the AI's claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harness.kb.catalog import find_products
from harness.store.schema import Article, Catalog
from harness.text.figures import Figure
from harness.text.figures import figures_in as all_figures
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["Figure", "FigureCheck", "Finding", "PolicyFigures", "figures_in"]

_FACT_UNITS = {"days": "days", "hours": "hours", "months": "months", "usd": "money",
               "eur": "money", "gbp": "money", "percent": "percent", "pct": "percent"}
_UNIT_WORDS = {"day", "hour", "week", "month", "year", "busi", "work", "calendar", "percent"}


_KINDS = {"duration", "money", "percent"}  # the figures a policy states


def _unit(figure: Figure) -> str:
    """The unit two policy figures must share to be compared: days, hours, months, money, %."""
    return "money" if figure.kind == "money" else figure.unit if figure.kind == "duration" \
        else "percent"


def figures_in(sentence: str, currency: str = "USD") -> list[Figure]:
    """Every duration, percentage and amount of money in one sentence."""
    found = []
    for figure in all_figures(sentence, currency):
        if figure.kind in _KINDS:
            figure = replace(figure, unit=_unit(figure))
            found.append(figure)
            if figure.high is not None:  # both ends of a range are stated figures
                found.append(replace(figure, value=figure.high, high=None))
    return found


def _key_words(text: str) -> frozenset[str]:
    return frozenset(w for w in tokenize(text) if not w[0].isdigit() and w not in _UNIT_WORDS)


@dataclass(frozen=True)
class _Statement:
    article: Article
    text: str
    words: frozenset[str]
    figures: tuple[Figure, ...]

    def states(self, figure: Figure) -> bool:
        return any(f.unit == figure.unit and f.value == figure.value for f in self.figures)

    def said(self, unit: str) -> str:
        return " / ".join(dict.fromkeys(f.text for f in self.figures if f.unit == unit))


def _fact_figure(key: str, value: object) -> Figure | None:
    unit = _FACT_UNITS.get(key.rsplit("_", 1)[-1].lower())
    if unit is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = f"{value:g}"
    text = {"money": f"${number}", "percent": f"{number}%"}.get(unit, f"{number} {unit}")
    kind = {"money": "money", "percent": "percent"}.get(unit, "duration")
    return Figure(kind, float(value), unit, text)  # type: ignore[arg-type]


def _statements(articles: Iterable[Article], currency: str) -> tuple[_Statement, ...]:
    found = []
    for article in articles:
        for text in sentences(article.body):
            figures = tuple(figures_in(text, currency))
            if figures:
                found.append(_Statement(article, text, _key_words(text), figures))
        for key, value in article.facts.items():
            figure = _fact_figure(key, value)
            if figure:
                words = _key_words(key.replace("_", " "))
                found.append(_Statement(article, figure.text, words, (figure,)))
    return tuple(found)


@dataclass(frozen=True)
class Finding:
    """A figure of the reply that the served KB does not support."""

    figure: Figure
    sentence: str
    problem: str
    kb_says: str | None = None  # the served KB's figure for the same thing, when there is one


class FigureCheck:
    """Checks replies against the articles served on one day (and names unserved sources)."""

    def __init__(self, served: tuple[_Statement, ...], unserved: tuple[_Statement, ...],
                 catalog: Catalog, day: dt.date) -> None:
        self.day = day
        self.catalog = catalog
        self._served = served
        self._unserved = unserved
        self._prices = {round(p.price, 2) for p in catalog.products}

    def findings(self, reply: str, customer_said: str = "") -> list[Finding]:
        currency = self.catalog.currency
        theirs = {(f.unit, f.value) for f in figures_in(customer_said, currency)}
        found = []
        for sentence in sentences(reply):
            figures = figures_in(sentence, currency)
            names_product = any(f.unit == "money" for f in figures) and bool(
                find_products(sentence, self.catalog))
            for figure in figures:
                if (figure.unit, figure.value) in theirs:
                    continue
                if figure.unit == "money" and (names_product or figure.value in self._prices):
                    continue
                finding = self._finding(figure, sentence)
                if finding:
                    found.append(finding)
        return found

    def _finding(self, figure: Figure, sentence: str) -> Finding | None:
        words = _key_words(sentence)
        need = min(2, len(words))
        if any(s.states(figure) and (s.words & words or not words) for s in self._served):
            return None  # some served sentence about any of the same things states it
        related = [s for s in self._served if len(s.words & words) >= max(need, 1)
                   and any(f.unit == figure.unit for f in s.figures)]
        unserved = self._unserved_source(figure, words, need)
        if related:
            best = max(related, key=lambda s: (len(s.words & words), -len(s.words)))
            says = best.said(figure.unit)
            return Finding(figure, sentence, f"states {figure.text!r}; article {best.article.id}"
                           f" says {says}: {best.text!r}{unserved}", says)
        return Finding(figure, sentence, f"states {figure.text!r}, which no article served on"
                                         f" {self.day} supports{unserved}")

    def _unserved_source(self, figure: Figure, words: frozenset[str], need: int) -> str:
        for statement in self._unserved:
            if statement.states(figure) and len(statement.words & words) >= max(need, 1):
                article = statement.article
                return f" (it matches article {article.id}, {_why_unserved(article, self.day)})"
        return ""


def _why_unserved(article: Article, day: dt.date) -> str:
    if article.status != "active":
        return f"which is {article.status}"
    if article.valid_from and day < article.valid_from:
        return f"which is not served before {article.valid_from}"
    return f"which is not served after {article.valid_until}"


class PolicyFigures:
    """All articles' figures, read once; `check_for(day)` gives the check for one day."""

    def __init__(self, articles: Sequence[Article], catalog: Catalog) -> None:
        self.catalog = catalog
        self._by_article = {a.id: _statements((a,), catalog.currency) for a in articles}
        self._articles = tuple(articles)
        self._cache: dict[tuple[str, ...], tuple[tuple[_Statement, ...], ...]] = {}

    def check_for(self, day: dt.date) -> FigureCheck:
        served = tuple(a.id for a in self._articles if a.served_on(day))
        if served not in self._cache:
            inside = [s for a in served for s in self._by_article[a]]
            outside = [s for a in self._articles if a.id not in served
                       for s in self._by_article[a.id]]
            self._cache[served] = (tuple(inside), tuple(outside))
        inside, outside = self._cache[served]
        return FigureCheck(inside, outside, self.catalog, day)
