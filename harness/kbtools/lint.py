"""`harness kb lint`: knowledge-base hygiene, checked without calling a model.

Why: the agent serves whatever is active, so a KB rots quietly. A summer sale left active after
it ends, two articles that give different free-shipping thresholds, a copy that splits
retrieval, a fixture that names an archived article, content no fixture ever exercises: none
of these fails a test until a customer is told the wrong thing. Each rule is a small pure
function over the store (and its fixtures) returning frozen `Finding`s; `lint_store` runs them
all; the command prints one line per finding and exits 1 on any error, so CI can gate on it.

    rule              severity  finds
    expired-active    error     an active article after its `valid_until`
    stale-review      warning   `reviewed:` missing or older than --max-age-days
    fact-conflict     error     two active articles, served together, with different `facts:`
    figure-conflict   warning   the same sentence (same key words) with different figures
    near-duplicate    warning   two active articles sharing most of their words
    fixture-article   error     a fixture expecting a draft, archived or missing article
    fixture-load      error     a fixture that cannot be loaded at all
    fixture-date      warning   a fixture expecting an article not served on its date
    untested          info      an article no fixture ever retrieves (top-k)
    most-retrieved    info      the 20 articles fixtures retrieve most (the audit list)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import yaml

from harness.agent.loop import Agent
from harness.errors import LoadError
from harness.store.loading import Store
from harness.store.schema import Article, Case
from harness.text.figures import Figure, figures_in
from harness.text.matching import normalize
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["MAX_AGE_DAYS", "Finding", "lint_store"]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
MAX_AGE_DAYS = 180
DUPLICATE_JACCARD = 0.5  # the sample store's most alike pair of active articles shares 0.39
MIN_SHARED_WORDS = 3  # figure-conflict: key words two sentences must share, at least
MIN_WORD_SHARE = 0.5  # ... and the share of the longer sentence's key words they cover
AUDIT_SIZE = 20


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    articles: tuple[str, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity,
                "articles": list(self.articles), "message": self.message}

    def line(self) -> str:
        return f"{self.severity} {self.rule}: {self.message}"


# -- articles --------------------------------------------------------------------------------


def _active(store: Store) -> list[Article]:
    """Active articles by id, so that every pair below is named in order."""
    return sorted((a for a in store.articles if a.status == "active"), key=lambda a: a.id)


def _served_together(a: Article, b: Article) -> bool:
    """True when some day lies inside both validity windows."""
    start = max(a.valid_from or dt.date.min, b.valid_from or dt.date.min)
    return start <= min(a.valid_until or dt.date.max, b.valid_until or dt.date.max)


def _pairs(store: Store) -> Iterable[tuple[Article, Article]]:
    """Active articles that a customer can be shown on the same day, each pair once."""
    return ((a, b) for a, b in combinations(_active(store), 2) if _served_together(a, b))


def expired_active(store: Store, today: dt.date) -> list[Finding]:
    return [Finding("expired-active", "error", (a.id,),
                    f"{a.id} is still active after its valid_until {a.valid_until}: set"
                    " `status: archived` (or move valid_until if the offer was extended)")
            for a in _active(store) if a.valid_until and a.valid_until < today]


def stale_reviews(store: Store, today: dt.date, max_age_days: int) -> list[Finding]:
    findings = []
    for a in _active(store):
        if a.reviewed is None:
            why = "has no `reviewed:` date"
        elif (today - a.reviewed).days > max_age_days:
            why = (f"was last reviewed {a.reviewed}, {(today - a.reviewed).days} days ago"
                   f" (limit {max_age_days})")
        else:
            continue
        findings.append(Finding("stale-review", "warning", (a.id,),
                                f"{a.id} {why}: check it and set `reviewed:` to that day"))
    return findings


# -- named facts -----------------------------------------------------------------------------


def _fact_value(value: object) -> str:
    """A comparable form: 49, 49.0 and "49" are equal; text ignores case and spacing."""
    if isinstance(value, bool):
        return str(value).lower()
    text = normalize(str(value)).lower()
    try:
        return f"{float(text.removeprefix('$')):g}"
    except ValueError:
        return text


def _fact_clashes(store: Store) -> list[tuple[str, Article, Article]]:
    """(key, a, b) for every pair served together whose fact `key` differs."""
    return [(key, a, b) for a, b in _pairs(store) for key in sorted(a.facts.keys() & b.facts)
            if _fact_value(a.facts[key]) != _fact_value(b.facts[key])]


def fact_conflicts(store: Store) -> list[Finding]:
    involved: dict[str, dict[str, Article]] = {}
    for key, a, b in _fact_clashes(store):
        involved.setdefault(key, {}).update({a.id: a, b.id: b})
    return [Finding("fact-conflict", "error", tuple(sorted(arts)),
                    f"facts disagree on `{key}`: "
                    + ", ".join(f"{i} says {arts[i].facts[key]}" for i in sorted(arts))
                    + ": correct the wrong article (its text and `facts:`) or archive it")
            for key, arts in sorted(involved.items())]


# -- figures in sentences --------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """One sentence of an article: its key words, the names among them, its figures by unit."""

    article: str
    text: str
    words: frozenset[str]
    names: frozenset[str]  # key words capitalised inside the sentence: Canada, Grinder S2, ...
    figures: Mapping[str, frozenset[tuple[float, ...]]]


def _figure(figure: Figure) -> tuple[str, tuple[float, ...]] | None:
    """A figure as (unit, values); a bare date, time or code is not compared."""
    if figure.kind in ("date", "time", "code"):
        return None
    unit = {"money": "$", "percent": "%"}.get(figure.kind, figure.unit)
    values = (figure.value, figure.high) if figure.high is not None else (figure.value,)
    return unit, values


def _claim(article: str, text: str) -> Claim | None:
    by_unit: dict[str, set[tuple[float, ...]]] = {}
    for unit, value in filter(None, map(_figure, figures_in(text))):
        by_unit.setdefault(unit, set()).add(value)
    if not by_unit:
        return None
    words = frozenset(w for w in tokenize(text) if not any(c.isdigit() for c in w))
    names = frozenset(tokenize(" ".join(w for w in text.split()[1:] if w[:1].isupper())))
    return Claim(article, text, words, names & words, {u: frozenset(v) for u, v in by_unit.items()})


def claims(article: Article) -> list[Claim]:
    """The sentences of `article` that state at least one figure with a unit."""
    texts = sentences(article.body)
    return [c for c in (_claim(article.id, t) for t in texts if t) if c]


def same_question(a: Claim, b: Claim) -> bool:
    """Every key word of the shorter sentence is in the longer, which is not much longer and
    names nothing more: "Standard shipping to Canada takes ..." narrows "Standard shipping
    takes ...", it does not contradict it."""
    small, big = sorted((a, b), key=lambda c: len(c.words))
    if len(small.words) < MIN_SHARED_WORDS or not small.words <= big.words:
        return False
    return len(small.words) / len(big.words) >= MIN_WORD_SHARE and not (
        big.names - small.words)


def _clashing_values(a: Claim, b: Claim) -> set[float]:
    """Values of each unit both sentences give a figure in, where they share none."""
    units = [u for u in a.figures.keys() & b.figures if not a.figures[u] & b.figures[u]]
    return {v for u in units for figure in (*a.figures[u], *b.figures[u]) for v in figure}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _explained(store: Store) -> dict[frozenset[str], set[float]]:
    """Values of named facts already reported as a fact-conflict, by pair of articles."""
    known: dict[frozenset[str], set[float]] = {}
    for key, a, b in _fact_clashes(store):
        values = (_number(_fact_value(a.facts[key])), _number(_fact_value(b.facts[key])))
        known.setdefault(frozenset((a.id, b.id)), set()).update(v for v in values if v is not None)
    return known


def figure_conflicts(store: Store) -> list[Finding]:
    explained, findings = _explained(store), []
    by_article = {a.id: claims(a) for a in _active(store)}
    for a, b in _pairs(store):
        for x in by_article[a.id]:
            for y in by_article[b.id]:
                values = _clashing_values(x, y) if same_question(x, y) else set()
                if values and not values <= explained.get(frozenset((a.id, b.id)), set()):
                    findings.append(_figure_finding(x, y))
    return findings


def _figure_finding(x: Claim, y: Claim) -> Finding:
    shared = ", ".join(sorted(x.words & y.words))
    return Finding("figure-conflict", "warning", (x.article, y.article),
                   f"{x.article} and {y.article} give different figures for the same question"
                   f" (key words: {shared}): {x.article}: \"{x.text}\" vs {y.article}:"
                   f" \"{y.text}\": correct the wrong one (and name the figure in `facts:`)")


def near_duplicates(store: Store) -> list[Finding]:
    words = {a.id: set(tokenize(f"{a.title}\n{a.body}")) for a in _active(store)}
    findings = []
    for a, b in _pairs(store):
        union = words[a.id] | words[b.id]
        share = len(words[a.id] & words[b.id]) / len(union) if union else 0.0
        if share >= DUPLICATE_JACCARD:
            findings.append(Finding("near-duplicate", "warning", (a.id, b.id),
                                    f"{a.id} and {b.id} share {share:.0%} of their words and"
                                    " compete in retrieval: merge them and archive one"))
    return findings


# -- fixtures --------------------------------------------------------------------------------


def _expected_ids(error: LoadError) -> list[str]:
    """The `expect.articles` of a fixture that failed to load on one of them, read raw."""
    if not (error.key or "").startswith("expect.articles."):
        return []
    try:
        data = yaml.safe_load(error.path.read_text(encoding="utf-8"))
        return [str(i) for i in data["expect"]["articles"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return []


def _broken_fixture(store: Store, error: LoadError) -> Finding:
    missing = tuple(i for i in _expected_ids(error) if store.article(i) is None)
    if not missing:
        return Finding("fixture-load", "error", (), f"{error}: fix the fixture so it loads")
    path = error.path
    where = str(path.relative_to(store.root) if path.is_relative_to(store.root) else path)
    where += f" (line {error.line})" if error.line else ""
    return Finding("fixture-article", "error", missing,
                   f"{where} expects {', '.join(missing)}, which is not in"
                   " knowledge/articles/: fix the id or restore the article")


def fixture_articles(store: Store, cases: Sequence[Case], broken: Sequence[LoadError],
                     today: dt.date) -> list[Finding]:
    findings = [_broken_fixture(store, error) for error in broken]
    for case in cases:
        day = case.as_of or today
        for article in filter(None, map(store.article, case.expect.articles)):
            if article.status != "active":
                findings.append(Finding(
                    "fixture-article", "error", (article.id,),
                    f"{case.case_id} expects {article.id}, which is {article.status} and never"
                    " served: point the fixture at the article that replaced it"))
            elif not article.served_on(day):
                findings.append(Finding(
                    "fixture-date", "warning", (article.id,),
                    f"{case.case_id} expects {article.id}, not served on {day} (the case's"
                    " date): pin `as_of:` inside the article's valid_from/valid_until"))
    return findings


# -- retrieval -------------------------------------------------------------------------------


def retrieval_counts(store: Store, cases: Sequence[Case], today: dt.date) -> Counter[str]:
    """How many fixtures have each article in their top-k, each at its own date (no model)."""
    agent, counts = Agent(store, today=today), Counter[str]()
    for case in cases:
        hits, _ = agent.retrieve(case)
        counts.update(hit.article.id for hit in hits)
    return counts


def untested(store: Store, counts: Mapping[str, int], today: dt.date) -> list[Finding]:
    top_k = store.agent.retrieval.top_k
    return [Finding("untested", "info", (a.id,),
                    f"{a.id} is in no fixture's top {top_k}: add a fixture asking what it"
                    " answers (or archive it if no customer asks)")
            for a in _active(store)
            if counts.get(a.id, 0) == 0 and not (a.valid_until and a.valid_until < today)]


def most_retrieved(counts: Counter[str], size: int = AUDIT_SIZE) -> list[Finding]:
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
    if not top:
        return []
    listed = ", ".join(f"{i} ({n})" for i, n in top)
    return [Finding("most-retrieved", "info", tuple(i for i, _ in top),
                    f"the {len(top)} articles fixtures retrieve most, to audit first: {listed}")]


def lint_store(store: Store, cases: Sequence[Case], today: dt.date,
               max_age_days: int = MAX_AGE_DAYS,
               broken: Sequence[LoadError] = ()) -> list[Finding]:
    """Every rule's findings, errors first, then warnings, then info."""
    counts = retrieval_counts(store, cases, today)
    findings = [*expired_active(store, today), *stale_reviews(store, today, max_age_days),
                *fact_conflicts(store), *figure_conflicts(store), *near_duplicates(store),
                *fixture_articles(store, cases, broken, today),
                *untested(store, counts, today), *most_retrieved(counts)]
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


# -- the command -----------------------------------------------------------------------------










