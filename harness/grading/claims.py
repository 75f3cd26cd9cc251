"""The claim checker: every checkable claim of a reply, held against the KB and the catalog.

One module for fixture grading (`grading.fixture`) and production scoring (`coach.production`).
A claim is a figure of the reply (a duration, deadline or date, time, amount of money,
percentage, count, temperature or code, read by `text.figures`) with the sentence around it.
Each is aligned with the statements about the same subject: the served articles' sentences
(and `facts:`), the catalog's prices, and the fixture's expected facts. Alignment needs the
same unit kind and the same subject, measured as the key words the two sentences share; a
statement sharing more of them wins, so one shared word ("returns") does not make a sentence
about another thing the authority. A claim is then

    supported     a statement about its subject states it (or the fixture expects it)
    contradicted  the best-aligned statement (two shared key words or more) states another
                  value of the same kind, and none as close states this one
    unserved      only an article not served that day (archived, draft, out of its dates)
                  states it, and the served KB states otherwise or nothing
    unsupported   nothing backs it (a code nothing mentions is an invented code)

A figure the customer stated is not the AI's claim, nor one that the reply denies or contrasts
("not the 14 days of our old policy", "instead of our usual 45 days").
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from harness.kb.catalog import Mention, find_products
from harness.store.schema import Article, Catalog
from harness.text.concepts import expansion
from harness.text.figures import Figure, figures_in
from harness.text.matching import normalize
from harness.text.meaning import count_noun, figures_agree, to_digits, unit_of
from harness.text.sentences import TABLE_ROW, TABLE_RULE, sentences, strip_markup, unwrap
from harness.text.tokens import STOPWORDS, stem, tokenize

__all__ = ["Claim", "ClaimBase", "ClaimCheck", "Contradiction", "Exclusion", "Statement",
           "Verdict", "clause_of", "denied", "key_words"]

Verdict = Literal["supported", "contradicted", "unserved", "unsupported"]

_UNIT_WORDS = frozenset(tokenize(
    "day days hour hours week weeks month months year years minute minutes business working"
    " calendar percent per cent degrees"))
# What makes a figure not the reply's own claim: it is denied or contrasted.
_DENIED_BEFORE = re.compile(
    r"(?:\binstead of|\brather than|\bnot|n't|\bnever|\bno longer|\bno need|\bwithout|"
    r"\bused to(?: be)?|"
    r"\bformerly|\bprevious(?:ly)?|\bold|\bearlier|\bunlike|\bexcept)"
    r"(?:\s+[\w'-]+){0,4}\s*[\"'(*]*\s*$",
    re.IGNORECASE,
)
_DENIED_AFTER = re.compile(
    r"^[^.;!?,]{0,30}?(?:\bno longer\b|\bhas ended\b|\bhave ended\b|\bended\b|\bexpired\b|"
    r"\bdoes(?: not|n't) apply\b|\bof (?:the|our) (?:old|previous|former|outdated)\b|"
    r"\bis(?: not|n't) (?:available|running|valid)\b)",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|\s-\s|\b(?:and|but|so|which|while|or)\b",
                     re.IGNORECASE)
# Claims that stand without a KB source when nothing contradicts them: a count, date or time
# is often the customer's own situation worked out ("2 pairs", "until November 23").
_NEED_SOURCE = ("duration", "money", "percent", "temperature")
_CHECKED = ("duration", "money", "percent", "count", "temperature", "date", "time", "code")
_FACT_UNITS = {"days": "days", "hours": "hours", "months": "months", "minutes": "minutes",
               "percent": "percent", "pct": "percent", "usd": "USD", "eur": "EUR",
               "gbp": "GBP", "cad": "CAD", "aud": "AUD", "chf": "CHF"}
# Words a count reading takes for its noun that are verbs or adverbs: "100 stay", "3 left".
_NOT_NOUNS = frozenset(("stay", "left", "remain", "back", "get", "come", "go", "ship", "work",
                        "last", "apply", "count", "cover", "run", "take", "need", "make"))


@dataclass(frozen=True)
class Statement:
    """A sentence of the KB (or a catalog record) with its figures and subject words."""

    source: str  # an article id, "catalog" or "fixture"
    text: str
    words: frozenset[str]
    figures: tuple[Figure, ...]
    article: Article | None = None
    context: frozenset[str] = frozenset()  # a table's header words, part of `words`

    @property
    def own(self) -> frozenset[str]:
        """Its own subject words, without a table header's (which every row shares)."""
        return self.words - self.context

    def states(self, figure: Figure) -> bool:
        return any(figures_agree(figure, f) for f in self.figures)

    def said(self, unit: str) -> str:
        return " / ".join(dict.fromkeys(f.shown() for f in self.figures if unit_of(f) == unit))


@dataclass(frozen=True)
class Claim:
    figure: Figure
    sentence: str
    verdict: Verdict
    statement: Statement | None = None  # the KB statement it was aligned with
    reason: str = ""
    conflict: str = ""  # two served articles disagree on this claim's subject: which, and how


def key_words(text: str) -> frozenset[str]:
    """The subject words of a sentence: stemmed, without figures and unit words."""
    return _key_words(text)


def _key_words(text: str) -> frozenset[str]:
    return frozenset(w for w in tokenize(text) if not w[0].isdigit() and w not in _UNIT_WORDS)


def denied(sentence: str, start: int, end: int) -> bool:
    """The reply states what stands at `start:end` as *not* the case, or as an old value."""
    before = sentence[max(0, start - 60):start]
    clause = re.split(r"[.;:!?,]|\bbut\b|\band\b", before)[-1]
    return bool(_DENIED_BEFORE.search(clause) or _DENIED_AFTER.match(sentence[end:]))


def clause_of(sentence: str, start: int, end: int) -> str:
    """The clause a figure stands in: between the separators around it."""
    cuts = [m for m in _CLAUSE.finditer(sentence)]
    left = max((m.end() for m in cuts if m.end() <= start), default=0)
    right = min((m.start() for m in cuts if m.start() >= end), default=len(sentence))
    return sentence[left:right]


def _checkable(figures: Iterable[Figure]) -> list[Figure]:
    return [f for f in figures if f.kind in _CHECKED]


def _fact_figure(key: str, value: object) -> Figure | None:
    unit = _FACT_UNITS.get(key.rsplit("_", 1)[-1].lower())
    if unit is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if unit == "percent":
        return Figure("percent", float(value), "%", f"{value:g}%")
    if unit.isupper():
        return Figure("money", float(value), unit, f"{value:g} {unit}")
    return Figure("duration", float(value), unit, f"{value:g} {unit}")


def _article_statements(article: Article, currency: str) -> tuple[Statement, ...]:
    found = []
    header = ""
    for line in unwrap(article.body):
        if not TABLE_ROW.match(line):
            header = ""
        elif not header:
            header = line  # a table's first row names what its columns are
            continue
        elif TABLE_RULE.match(line):
            continue
        context = _key_words(strip_markup(header)) if header else frozenset()
        for text in [_row_text(line, header)] if header else sentences(line):
            words = _key_words(text) | context
            figures = tuple(_compound_counts(_checkable(figures_in(to_digits(text), currency)),
                                             to_digits(text)))
            if figures:
                found.append(Statement(article.id, text, words, figures, article,
                                       context - _key_words(text)))
    for key, value in article.facts.items():
        figure = _fact_figure(key, value)
        if figure:
            words = _key_words(key.replace("_", " "))
            found.append(Statement(article.id, f"{key}: {value}", words, (figure,), article))
    return tuple(found)


_ZONE = re.compile(r"^\s*\(?\s*(pacific|eastern|central|mountain|uk|pst|pdt|pt|est|edt|et|cst|"
                   r"cdt|ct|mst|mdt|mt|gmt|bst|cet)\b", re.IGNORECASE)
_ZONE_NAMES = {"p": "Pacific", "e": "Eastern", "c": "Central", "m": "Mountain", "u": "UK",
               "g": "UK", "b": "UK"}


def _zone_after(text: str, end: int) -> str:
    """The time zone named after a time of day ("1 pm Pacific", "11:59 pm ET"), or ""."""
    match = _ZONE.match(text[end:])
    if not match:
        return ""
    word = match.group(1).lower()
    return "CET" if word == "cet" else _ZONE_NAMES[word[0]]


def _zoned(claim: Claim, plain: str) -> Claim:
    """A time of day backed by the KB, but in another time zone than the KB's: wrong."""
    zone, statement = _zone_after(plain, claim.figure.end), claim.statement
    if not zone or statement is None:
        return claim
    text = to_digits(statement.text)
    for figure in statement.figures:
        theirs = _zone_after(text, figure.end) if figure.kind == "time" else ""
        if theirs and theirs != zone and figures_agree(claim.figure, figure):
            return replace(claim, verdict="contradicted", reason=(
                f"states {claim.figure.shown()!r} {zone} time; article {statement.source} says"
                f" {figure.shown()} {theirs} time: {statement.text!r}"))
    return claim


_WORD = re.compile(r"[a-z]+")


def _kind_of(name: str) -> str:
    """The kind of product a catalog name is: its last word ("Burr Grinder S2": grinder)."""
    words = [w for w in _WORD.findall(name.lower()) if len(w) > 2]
    return words[-1].rstrip("s") if words else ""


def _plural(kinds: Iterable[str]) -> str:
    return ", ".join(f"{k}s" for k in sorted(kinds))


def _cells(row: str) -> list[str]:
    return [strip_markup(c) for c in row.strip().strip("|").split("|")]


def _row_text(row: str, header: str) -> str:
    """A table row as one statement, cells kept apart ("100 | £5" is not "100 £"), a bare
    number read with its column's name ("100" under "Points" is 100 points)."""
    names = _cells(header)
    cells = _cells(row)
    return "; ".join(
        f"{cell} {names[i]}" if re.fullmatch(r"[\d.,]+", cell) and i < len(names)
        and re.fullmatch(r"[A-Za-z][A-Za-z ]*", names[i]) else cell
        for i, cell in enumerate(cells) if cell)


@dataclass(frozen=True)
class Exclusion:
    """A KB sentence saying what something does not cover or apply to: "The summer sale does
    not apply to subscriptions", "Worn burrs are not covered by the warranty"."""

    source: str
    text: str
    thing: frozenset[str]  # what it is about ("summer sale", "warranty")
    excluded: tuple[tuple[str, ...], ...]  # each thing excluded, its head noun last
    links: tuple[str, ...]  # words a reply that applies it anyway uses ("cover", "on top of")


@dataclass(frozen=True)
class Contradiction:
    """A statement of the reply (not a figure) that a served KB sentence denies."""

    sentence: str
    reason: str
    source: str


_EXCLUDES = re.compile(
    r"^(?P<x>.+?)\s+(?:does not|doesn't|do not|don't|cannot|can't|can not|won't|will not)\s+"
    r"(?:be\s+)?(?P<v>apply|applied|combined?|used?|stack|cover|include)\w*\s+"
    r"(?:to|with|on|for)?\s*(?P<y>[^.;:]+)", re.IGNORECASE)
_NOT_COVERED = re.compile(
    r"^(?P<y>.+?)\s+(?:is|are)\s+(?:not|n't)\s+(?P<v>covered|included)\s+(?:by|in)\s+"
    r"(?P<x>[^.;:,]+)", re.IGNORECASE)
_LINKS = {"appli": ("appli", "on top of", "stack", "plus"),
          "combin": ("combin", "on top of", "stack", "plus", "together"),
          "use": ("on top of", "stack", "plus", "together with"),  # "use" alone is any use
          "stack": ("stack", "on top of", "combin", "plus"),
          "cover": ("cover",), "includ": ("includ",)}
_FREE = re.compile(r"(?<![\w-])free\b|\bon us\b|\bno (?:shipping|delivery) (?:cost|charge|fee)",
                   re.IGNORECASE)
_SHIPPING = re.compile(r"\b(?:ship\w*|deliver\w*|postage|it's free|it is free)\b", re.IGNORECASE)
_OVER = re.compile(r"\b(?:over|above|more than|at least|from|exceeds?|threshold|minimum)\b",
                   re.IGNORECASE)
_ANY_NEGATION = re.compile(r"\b(?:not|never|cannot|no|nothing|without)\b|n't\b", re.IGNORECASE)
_REASON = re.compile(r"\b(?:because|unless|but|so|even|as|since|when|while)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Needless:
    """A step the KB says the customer need not (or must not) take: "You don't need to send
    the pen back", "Please do not send it back"."""

    source: str
    text: str
    verb: str  # the step's verb, stemmed ("send")
    rest: frozenset[str]  # its other key words ("pen", "back")


_NEED_NOT = re.compile(
    r"(?:\b(?:you|customers?)\s+(?:do not|don't|won't|will not|never)\s+(?:need|have)\s+to|"
    r"\b(?:there is|there's)?\s*no need to|^\s*(?:please\s+)?(?:do not|don't|never))\s+"
    r"(?P<x>[^.;:!?]+)", re.IGNORECASE)
# Verbs that name one step (general English): "post it back" is "send it back".
_SAME_VERB = {"post": "send", "mail": "send", "ship": "send", "return": "send", "email": "contact",
              "call": "contact", "phone": "contact", "messag": "contact", "ring": "contact"}
_INSTRUCTS = re.compile(
    r"(?:^|[,:]|\band\b|\bthen\b|\byou(?:'ll| will)? (?:need|have) to\b|\byou must\b|"
    r"\bmake sure (?:you )?)\s*(?:(?:please|just|also|then|simply)\s+)*(?P<v>[a-z]+)",
    re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:if|unless|only when|in case)\b", re.IGNORECASE)
_STEP_ENDS = re.compile(r"\b(?:for|with|within|during|after|before|until|each|every|in that)\b",
                        re.IGNORECASE)


def _needless(article: Article, text: str) -> Needless | None:
    match = _NEED_NOT.search(normalize(text))
    if not match:
        return None
    step = _REASON.split(re.split(r"\bunless\b|\bif\b", match["x"])[0])[0]
    # the step is its verb and object: "send it again for every order" is sending it again,
    # and "order" names no part of it
    step = _STEP_ENDS.split(step)[0]
    words = [w for w in tokenize(step) if not w[0].isdigit()]
    if re.match(r"\s*\w+\s+(?:it|them)\b", step):  # "it" is what the sentence is about
        words += tokenize(normalize(text)[:match.start()])[:1]  # "A prescription stays..."
    if len(words) < 2:
        return None
    verb = _SAME_VERB.get(words[0], words[0])
    return Needless(article.id, text, verb, frozenset(words[1:]))


def _instructs(needless: Needless, sentence: str, about: frozenset[str]) -> bool:
    """The reply tells the customer to take the step anyway ("post it back to us"): its verb
    as an instruction, its particle ("back"), and what it is done to named in the reply or
    the question (`about`, with the support words they stand for: "cracked" is damaged)."""
    plain = normalize(sentence).lower()
    if _ANY_NEGATION.search(plain) or _CONDITION.search(plain):
        return False
    words = _key_words(plain)
    if "back" in needless.rest and "back" not in words:
        return False
    things = needless.rest - {"back"}
    for match in _INSTRUCTS.finditer(plain):
        if [_SAME_VERB.get(v, v) for v in tokenize(match["v"])] != [needless.verb]:
            continue
        if things & words:
            return True  # "contact the courier yourself"
        if re.match(r"\s+(?:it|them|this|that)\b", plain[match.end():]) and things & about:
            return True  # "post it back", "it" being what the question names
    return False


@dataclass(frozen=True)
class NoDelivery:
    """A KB sentence naming places the shop does not deliver to: "We can't deliver anywhere
    else yet, so that includes Norway, Switzerland, Canada and Australia"."""

    source: str
    text: str
    places: tuple[str, ...]  # as written, capitalized ("Norway", "Great Britain")


_NO_DELIVERY = re.compile(
    r"\b(?:can't|cannot|can not|don't|do not|won't|will not|are unable to|are not able to|"
    r"aren't able to)\s+(?:currently\s+|yet\s+)?(?:deliver|ship|send|post)\b(?P<rest>[^.;!?]*)",
    re.IGNORECASE)
_PLACE = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_NOT_A_PLACE = re.compile(r"\b(?:outside|except|apart from|other than|beyond)\s+(?:the\s+)?"
                          r"[A-Z][A-Za-z]*(?:\s+[A-Z][a-z]+)*", re.IGNORECASE)


def _no_delivery(article: Article, text: str) -> NoDelivery | None:
    plain = normalize(text)
    match = _NO_DELIVERY.search(plain)
    if not match or re.match(r"\s*(?:if|when|unless|once)\b", plain, re.IGNORECASE):
        return None
    rest = _NOT_A_PLACE.sub(" ", match["rest"])  # "anywhere outside the EU" names the EU in
    places = tuple(dict.fromkeys(p for p in _PLACE.findall(rest) if p.lower() not in STOPWORDS))
    return NoDelivery(article.id, text, places) if places else None


def _delivers_to(rule: NoDelivery, sentence: str, asked: str) -> str:
    """The place of `rule` the reply's sentence says the shop delivers to (a sentence that
    names it, negates nothing, and is about delivery or answers a question that is)."""
    plain = normalize(sentence)
    if _ANY_NEGATION.search(plain) or not (_SHIPPING.search(plain) or _SHIPPING.search(asked)
                                           or figures_in(plain)):
        return ""
    return next((p for p in rule.places
                 if re.search(rf"\b{re.escape(p)}\b", plain, re.IGNORECASE)), "")


def _exclusion(article: Article, text: str) -> Exclusion | None:
    plain = normalize(text)
    match = _EXCLUDES.match(plain) or _NOT_COVERED.match(plain)
    if not match or re.match(r"\s*(?:if|when|unless|once)\b", plain, re.IGNORECASE):
        return None  # a condition ("if a gift card does not cover the order"), not a rule
    excluded = _REASON.split(match["y"])[0]
    alternatives = tuple(tuple(dict.fromkeys(w for w in tokenize(part) if not w[0].isdigit()))
                         for part in re.split(r",|\bor\b|\band\b", excluded))
    alternatives = tuple(a for a in alternatives if a)
    verb = (tokenize(match["v"]) or [match["v"].lower()])[0]
    thing = _key_words(match["x"])
    if not thing or not alternatives:
        return None
    return Exclusion(article.id, text, thing, alternatives, _LINKS.get(verb, (verb,)))


def _applies(exclusion: Exclusion, sentence: str, named_out: str, figured: bool) -> bool:
    """The reply's sentence applies the thing to what it excludes: it names both, says how
    ("we'll cover the burrs", "on top of"), and negates nothing. The sentence comes without
    its product names ("Burr Grinder S3" does not name burrs)."""
    plain = normalize(sentence).lower()
    if _ANY_NEGATION.search(plain):
        return False
    words = _key_words(plain)
    if not figured and len(exclusion.thing & words) / len(exclusion.thing) < 0.6:
        return False
    words = _key_words(named_out)
    if not words:
        return False
    if not any(a[-1] in words and (len(words.intersection(a)) >= min(2, len(a)))
               for a in exclusion.excluded):
        return False  # the excluded thing itself ("burrs"), and enough of its words
    return any(link in plain or link in words for link in exclusion.links)


class ClaimCheck:
    """The claims of replies against the KB served on one day, the catalog and the fixture."""

    def __init__(self, served: Sequence[Statement], unserved: Sequence[Statement],
                 catalog: Catalog, day: dt.date | None,
                 exclusions: Sequence[Exclusion] = (),
                 articles: Sequence[Article] = (),
                 needless: Sequence[Needless] = (),
                 no_delivery: Sequence[NoDelivery] = ()) -> None:
        self.served, self.unserved = tuple(served), tuple(unserved)
        self.needless, self.no_delivery = tuple(needless), tuple(no_delivery)
        self.articles = tuple(articles) or tuple(
            {s.article.id: s.article for s in served if s.article is not None}.values())
        self.exclusions = tuple(exclusions)
        self.catalog, self.day = catalog, day
        self._windows: dict[str, tuple[int, int, str] | None] = {}  # see _in_season
        self._kinds = {stem(k): k for p in catalog.products if (k := _kind_of(p.name))}
        self._counted = {count_noun(f.unit) for s in (*served, *unserved) for f in s.figures
                         if f.kind == "count"}

    def claims(self, reply: str, *, customer_said: str = "", asked: str = "",
               expected: Sequence[str] = ()) -> list[Claim]:
        """Every checkable claim of `reply`, with its verdict. A claim nothing aligns with in
        its own sentence is read in context, as a reviewer reads it: with the reply's sentence
        before it ("... a reset link. It stays valid for 24 hours.") and the question it
        answers (`asked`, the customer's last turn)."""
        currency = self.catalog.currency
        said = to_digits(customer_said)
        theirs = _checkable(figures_in(said, currency))
        bare = _bare_numbers(said)
        # "is delivery free over £30 now?" answered "Yes! ... over £30": the figure the
        # customer asked about, affirmed, is the reply's claim, not an echo of their own
        questioned = _yes_no_asked(to_digits(asked))
        affirmed = [t for t in _checkable(figures_in(questioned, currency))
                    if _BOUND_BEFORE.search(questioned[:t.start])
                    ] if _AFFIRMS.match(strip_markup(reply)) else []
        fixture = [Statement("fixture", fact, _key_words(fact), tuple(
            _checkable(figures_in(to_digits(fact), currency)))) for fact in expected]
        named = {round(m.product.price, 2)  # names as written: "Crema One", not "Crema 1"
                 for m in find_products(f"{customer_said} {reply}", self.catalog)}
        pool = _Pool(self, reply, customer_said, named)
        found = []
        before = _key_words(to_digits(asked))
        for sentence in sentences(reply):
            plain = to_digits(sentence)
            context, before = before, before | _key_words(plain)
            products = find_products(sentence, self.catalog)
            figures = _split_pairs(_checkable(figures_in(plain, currency)))
            for figure in figures:
                echoed = (any(figures_agree(figure, t) or figures_agree(t, figure)
                              or _same_count(figure, t, said) for t in theirs) or (
                    figure.kind == "count" and figure.value in bare)) and not any(
                    figures_agree(figure, t) for t in affirmed)
                if denied(plain, figure.start, figure.end) or self._not_a_claim(figure, plain):
                    continue
                if figure.kind == "money" and (products or figure.value in named):
                    continue  # a product's price: the catalog check's to judge
                if any(s.states(figure) for s in fixture):
                    near = _key_words(plain) | context  # which article says it too
                    kb = max((st for st in self.served if st.states(figure)), default=None,
                             key=lambda st: len(st.words & near))
                    found.append(Claim(figure, sentence, "supported", kb, "an expected fact"))
                    continue
                others = [f for f in figures if f is not figure]
                claim = self._verdict(figure, sentence, plain, others)
                if claim.verdict == "unsupported" and context and figure.kind in _NEED_SOURCE:
                    read = self._verdict(figure, sentence, plain, others, context)
                    claim = read if read.verdict == "contradicted" else claim
                elif claim.verdict == "contradicted" and claim.statement and not claim.conflict \
                        and context:
                    # "It takes up to 5 working days": the sentence before says what "it" is
                    read = self._verdict(figure, sentence, plain, others, context)
                    claim = read if read.verdict == "supported" and not read.conflict else claim
                if figure.kind == "time" and claim.verdict == "supported":
                    claim = _zoned(claim, plain)
                if figure.kind == "percent" and claim.verdict == "supported":
                    claim = self._scoped(claim, plain, products)
                if claim.verdict == "supported":
                    claim = self._in_season(claim)
                if echoed and claim.verdict != "unserved":
                    continue  # the customer's own figure, unless only an unserved article has it
                if claim.verdict in ("unsupported", "contradicted") and pool.derives(
                        figure, _key_words(plain), own=claim.verdict == "unsupported"):
                    claim = Claim(figure, sentence, "supported", None, "worked out from figures"
                                  " the KB, catalog or conversation give")
                if claim.verdict == "unsupported" and (figure.kind not in _NEED_SOURCE
                                                       or _one_of_a_unit(figure)):
                    continue
                found.append(claim)
        return found

    def _free_below(self, reply: str, asked: str) -> list[Contradiction]:
        """Shipping called free for the order the conversation names, where every served
        threshold for free shipping is above that order's value ("it's free for your French
        Press": $42.50; the policy: free over $49)."""
        named = {m.product.sku: m.product.price for text in (asked, reply)
                 for m in find_products(text, self.catalog)}
        if not named:
            return []
        value = sum(named.values())
        thresholds = [(st, f.value) for st in self.served
                      if _FREE.search(st.text) and _SHIPPING.search(st.text)
                      for f in st.figures if f.kind == "money"
                      and _OVER.search(to_digits(st.text)[max(0, f.start - 25):f.start])]
        if not thresholds or any(value >= t for _, t in thresholds):
            return []
        unconditional = [_key_words(text) for a in self.articles
                         for text in sentences("\n".join(unwrap(a.body)))
                         if _FREE.search(text) and not _OVER.search(text)]
        for sentence in sentences(reply):
            plain = normalize(sentence)
            if any(len(words & _key_words(plain)) >= 3 for words in unconditional):
                continue  # free as an article says, for something else ("wholesale orders")
            if (_FREE.search(plain) and _SHIPPING.search(plain) and not _ANY_NEGATION.search(plain)
                    and not _OVER.search(plain) and not any(
                        f.kind == "money" for f in figures_in(to_digits(plain),
                                                              self.catalog.currency))):
                statement, limit = thresholds[0]
                return [Contradiction(sentence, (
                    f"says shipping is free for an order of {value:,.2f} {self.catalog.currency};"
                    f" article {statement.source} makes it free over {limit:,.2f}:"
                    f" {statement.text!r}"), statement.source)]
        return []

    def contradictions(self, reply: str, claims: Sequence[Claim] = (),
                       asked: str = "") -> list[Contradiction]:
        """Sentences of the reply that apply what a served KB sentence says something does
        not cover or apply to ("we'll cover the burrs" where worn burrs are not covered). A
        sentence names the thing by its words, or by a figure of its article it claims ("the
        20% on top of the 10% subscription discount": the summer sale's 20%)."""
        found = self._free_below(reply, asked)
        about = _key_words(f"{asked} {reply}") | frozenset(expansion(asked))
        for sentence in sentences(reply):
            backed = {c.statement.source for c in claims if c.sentence == sentence
                      and c.verdict == "supported" and c.statement is not None}
            named_out = sentence
            for mention in reversed(find_products(sentence, self.catalog)):
                named_out = named_out[:mention.start] + " " + named_out[mention.end:]
            found += [Contradiction(sentence, f"says what article {e.source} rules out:"
                                              f" {e.text!r}", e.source)
                      for e in self.exclusions
                      if _applies(e, sentence, named_out, e.source in backed)]
            found += [Contradiction(sentence, f"asks for a step article {n.source} says is not"
                                              f" needed: {n.text!r}", n.source)
                      for n in self.needless if _instructs(n, sentence, about)]
            found += [Contradiction(sentence, f"says the shop delivers to {place}, which"
                                              f" article {r.source} rules out: {r.text!r}",
                                    r.source)
                      for r in self.no_delivery if (place := _delivers_to(r, sentence, asked))]
        return found[:1]

    def _scoped(self, claim: Claim, plain: str, products: Sequence[Mention]) -> Claim:
        """A percentage the KB gives for one kind of product ("25% off all grinders"),
        claimed for another kind only ("25% off coffee beans", "the Crema One is 25% off")."""
        said = {self._kinds.get(stem(w), "") for w in _WORD.findall(plain.lower())}
        said |= {_kind_of(m.product.name) for m in products}
        said.discard("")
        if not said:
            return claim
        scopes = []
        for statement in self.served:
            if statement.states(claim.figure):
                kinds = {self._kinds[w] for w in tokenize(statement.text) if w in self._kinds}
                if not kinds or kinds & said:
                    return claim
                scopes.append((statement, kinds))
        if not scopes:
            return claim
        statement, kinds = scopes[0]
        return replace(claim, verdict="contradicted", statement=statement, reason=(
            f"states {claim.figure.shown()!r} for {_plural(said)}; article"
            f" {statement.source} gives it for {_plural(kinds)} only:"
            f" {statement.text!r}"))

    def _in_season(self, claim: Claim) -> Claim:
        """A figure the KB gives only for a sale (a sentence of a sale's article, "During the
        sale, delivery is free on orders over £30"), claimed as holding now on a day outside
        the dates the article says the sale runs ("from 20 to 30 November"): an announcement
        served early says what will hold, not what holds. A claim about the future ("will
        be", "from Friday"), a date, or a figure another article backs on the same subject
        stands."""
        statement = claim.statement
        if (self.day is None or statement is None or statement.article is None
                or claim.figure.kind in ("date", "time") or _FUTURE.search(claim.sentence)):
            return claim
        if statement.article.id not in self._windows:
            self._windows[statement.article.id] = _sale_window(statement.article)
        window = self._windows[statement.article.id]
        today = self.day.month * 100 + self.day.day
        if window is None or _within(today, window):
            return claim
        if any(s.states(claim.figure) and s.article is not statement.article
               and len(s.words & statement.words) >= 2 for s in self.served):
            return claim
        return replace(claim, verdict="contradicted", reason=(
            f"states {claim.figure.shown()!r} as holding{day_text(self.day)}; article"
            f" {statement.source} gives it only for its sale, {window[2]}:"
            f" {statement.text!r}"))

    def _not_a_claim(self, figure: Figure, sentence: str) -> bool:
        if figure.kind == "duration" and "weekday" in figure.text.lower():
            return True  # "a weekday" names a kind of day, not a duration
        if figure.kind == "count" and _in_a_name(figure, self.catalog):
            return True  # "Milk Pitcher 600ml" names a product, it does not claim a size
        if figure.kind == "count":  # only a count of what the KB counts is checked
            return (figure.value < 2 or count_noun(figure.unit) not in self._counted
                    or figure.unit in _NOT_NOUNS)
        if figure.kind == "code":  # a product name or SKU, not a promo code
            code = figure.code
            return any(code in p.name.upper() or code == p.sku.upper()
                       or any(code in a.upper() for a in p.aliases)
                       for p in self.catalog.products)
        return False

    def _verdict(self, figure: Figure, sentence: str, plain: str,
                 companions: Sequence[Figure] = (),
                 context: frozenset[str] = frozenset()) -> Claim:
        """Aligned by shared key words, and by the sentence's other figures: a statement
        that also gives another figure of the reply's sentence is about the same thing, and
        one whose figures of this kind the sentence states beside this one ("wait 10
        minutes ... then 24 hours") is another step's, not a contradiction, when a statement
        backs this one too ("4 payments, or 3 payments" backed by nothing stays contradicted)."""
        words = _key_words(plain) | context
        own = clause_of(plain, figure.start, figure.end)
        local = _key_words(own)
        if len(local) < 3:  # too short a clause to name a subject: the sentence does ("...
            # and takes 3-7 days"); when it names one ("your return should reach us in 2-3
            # days, then we process refunds ..."), less the clauses of the other figures
            theirs = {w for c in companions if (clause := clause_of(plain, c.start, c.end))
                      != own for w in _key_words(clause)} if len(local) == 2 else set()
            local = (words - theirs) | local
        unit = unit_of(figure)
        if figure.kind == "code":
            return self._code(figure, sentence)

        def near(s: Statement, within: frozenset[str]) -> int:
            return len(s.words & within) + sum(1 for c in companions if s.states(c))

        same = [s for s in self.served if any(unit_of(f) == unit for f in s.figures)]
        backing = [s for s in same if s.states(figure)]
        other = [s for s in same if not s.states(figure) and (not backing or any(
            unit_of(f) == unit and not any(figures_agree(c, f) for c in companions)
            for f in s.figures))]
        back = max((near(s, words) for s in backing), default=-1)
        best_other = max(other, key=lambda s: (near(s, local), -len(s.words)), default=None)
        against = near(best_other, local) if best_other else 0
        back = max(back, max((near(s, local) for s in backing), default=-1))
        if backing and (back >= 1 or not words):
            best = max(backing, key=lambda s: (near(s, local), near(s, words)))
            rival = _rival(best, other, figure, local | words)
            if rival is not None:
                return _conflict(figure, sentence, best, rival, unit)
            if back >= against:
                return Claim(figure, sentence, "supported", best, f"article {best.source}")
        source = self._unserved_source(figure, words)
        if best_other is not None and against >= 2 and against > back:
            says = best_other.said(unit)
            return Claim(figure, sentence, "contradicted", best_other, (
                f"states {figure.shown()!r}; article {best_other.source} says {says}:"
                f" {best_other.text!r}{source}"))
        if source:
            return Claim(figure, sentence, "unserved", None,
                         f"states {figure.shown()!r}, which no article served{day_text(self.day)}"
                         f" supports (backed only by{source})")
        return Claim(figure, sentence, "unsupported", None,
                     f"states {figure.shown()!r}, which no article served{day_text(self.day)}"
                     " or the catalog backs")

    def _code(self, figure: Figure, sentence: str) -> Claim:
        for statement in self.served:
            if any(f.kind == "code" and f.code == figure.code for f in statement.figures):
                return Claim(figure, sentence, "supported", statement,
                             f"article {statement.source}")
        source = self._unserved_source(figure, frozenset())
        if source:
            return Claim(figure, sentence, "unserved", None,
                         f"gives the code {figure.code}, backed only by{source}")
        return Claim(figure, sentence, "contradicted", None,
                     f"gives the code {figure.code}, which no article or catalog record has"
                     " (an invented code)")

    def _unserved_source(self, figure: Figure, words: frozenset[str]) -> str:
        need = 0 if figure.kind == "code" else 2
        for statement in self.unserved:
            if statement.states(figure) and len(statement.words & words) >= need:
                article = statement.article
                why = _why_unserved(article, self.day) if article else "not served"
                return f" article {statement.source}, {why}"
        return ""


def _rival(best: Statement, other: Sequence[Statement], figure: Figure,
           words: frozenset[str]) -> Statement | None:
    """A served statement of another article on the same subject as `best` (three shared key
    words or more, most of the shorter's) that gives this kind of figure another value."""
    unit = unit_of(figure)
    for statement in other:
        if statement.source == best.source or statement.source in ("catalog", "fixture"):
            continue
        shared = best.own & statement.own
        smaller = min(len(best.own), len(statement.own)) or 1
        if (len(shared) >= 3 and len(shared) / smaller >= 0.6
                and len(statement.words & words) >= max(2, len(best.words & words))
                and any(unit_of(f) == unit for f in statement.figures)):
            return statement
    return None


def _conflict(figure: Figure, sentence: str, backing: Statement, rival: Statement,
              unit: str) -> Claim:
    """The claim agrees with one served article and contradicts another: the more recently
    reviewed article is taken as the KB's word, and the conflict is named for the review."""
    note = (f"KB conflict: article {backing.source} says {backing.said(unit)}, article"
            f" {rival.source} says {rival.said(unit)}")
    if _reviewed(rival) > _reviewed(backing):
        return Claim(figure, sentence, "contradicted", rival, (
            f"states {figure.shown()!r} as article {backing.source} does; article {rival.source}"
            f" (reviewed later) says {rival.said(unit)}: {rival.text!r}"), note)
    return Claim(figure, sentence, "supported", backing, f"article {backing.source}", note)


def _reviewed(statement: Statement) -> dt.date:
    article = statement.article
    return (article.reviewed or dt.date.min) if article else dt.date.min


# "The sale runs from 20 to 30 November": the dates a sale's article says it runs
_RUNS = re.compile(r"\b(?:sale|event|promotion|offer|deals?|week|weekend)\b[^.]{0,60}?"
                   r"\b(?:runs?|lasts?|is on|takes place|goes live|starts?)\b", re.IGNORECASE)


# a reply speaking of what will hold: "it will be free", "from Friday", "once the sale starts"
_FUTURE = re.compile(r"\b(?:will|won't|'ll|going to|from|starts?|starting|begins?|once|when|"
                     r"next|upcoming|coming|soon|early access)\b", re.IGNORECASE)


_AFFIRMS = re.compile(r"^\W*(?:yes|yep|yeah|yup|correct|that's right|that is right|it is|"
                      r"it does|you can|absolutely|sure)\b", re.IGNORECASE)
_YES_NO = re.compile(r"(?:^|(?<=[.!?]\s))\s*((?:is|are|do|does|can|could|will|would|has|have)"
                     r"\b[^?.!]{0,300}\?)", re.IGNORECASE)


# a figure asked about as a rule's bound ("free over £30?"), not as the customer's own
# situation ("if I spend £35")
_BOUND_BEFORE = re.compile(r"\b(?:over|under|above|below|within|up to|at least|at most|more than|"
                           r"less than|minimum of|maximum of)\s*$", re.IGNORECASE)


def _yes_no_asked(text: str) -> str:
    """The customer's yes/no questions ("is delivery free over £30 now?"), for their figures."""
    return " ".join(m.group(1) for m in _YES_NO.finditer(text[:5000]))


def _sale_window(article: Article) -> tuple[int, int, str] | None:
    """The first and last day (as month * 100 + day) its article says the sale runs, and
    the sentence's words for them; None when it says no such thing."""
    for text in sentences("\n".join(unwrap(strip_markup(article.body)))):
        if _RUNS.search(text):
            dates = [f for f in figures_in(text) if f.kind == "date"]
            if len(dates) >= 2:
                return dates[0].value, dates[1].value, f"{dates[0].text} to {dates[1].text}"
    return None


def _within(day: int, window: tuple[int, int, str]) -> bool:
    start, end = window[0], window[1]
    return start <= day <= end if start <= end else day >= start or day <= end


def day_text(day: dt.date | None) -> str:
    return f" on {day}" if day else ""


def _why_unserved(article: Article, day: dt.date | None) -> str:
    if article.status != "active":
        return f"which is {article.status}"
    if day and article.valid_from and day < article.valid_from:
        return f"which is not served before {article.valid_from}"
    return f"which is not served after {article.valid_until}"


class ClaimBase:
    """A store's statements, read once; `check_for(day)` gives the check for one day."""

    def __init__(self, articles: Sequence[Article], catalog: Catalog) -> None:
        self.catalog = catalog
        self._articles = tuple(articles)
        self._by_article = {a.id: _article_statements(a, catalog.currency) for a in articles}
        self._exclusions = {a.id: tuple(e for text in sentences("\n".join(unwrap(a.body)))
                                        if (e := _exclusion(a, text)))
                            for a in articles}
        self._needless = {a.id: tuple(n for text in sentences("\n".join(unwrap(a.body)))
                                      if (n := _needless(a, text)))
                          for a in articles}
        self._no_delivery = {a.id: tuple(n for text in sentences("\n".join(unwrap(a.body)))
                                         if (n := _no_delivery(a, text)))
                             for a in articles}
        self._cache: dict[tuple[str, ...], ClaimCheck] = {}

    def check_for(self, day: dt.date | None, served: Iterable[str] | None = None) -> ClaimCheck:
        """The check for the articles served on `day` (or exactly `served`, when given)."""
        ids = tuple(served) if served is not None else tuple(
            a.id for a in self._articles if day is None or a.served_on(day))
        if ids not in self._cache:
            inside = [s for a in ids for s in self._by_article.get(a, ())]
            outside = [s for a in self._articles if a.id not in ids
                       for s in self._by_article[a.id]]
            self._cache[ids] = ClaimCheck(inside, outside, self.catalog, day, [
                e for a in ids for e in self._exclusions.get(a, ())],
                [a for a in self._articles if a.id in ids],
                [n for a in ids for n in self._needless.get(a, ())],
                [n for a in ids for n in self._no_delivery.get(a, ())])
        check = self._cache[ids]
        if check.day != day:  # the same articles served on another day: the same statements
            check = copy.copy(check)
            check.day = day
        return check


def _in_a_name(figure: Figure, catalog: Catalog) -> bool:
    squeezed = re.sub(r"\s+", "", figure.text).lower()
    return any(squeezed in re.sub(r"\s+", "", name).lower()
               for p in catalog.products for name in (p.name, *p.aliases))


def _split_pairs(figures: list[Figure]) -> list[Figure]:
    """"30 and 60 days", "3 or 4 payments": two figures, not a range."""
    found = []
    for figure in figures:
        if figure.high is not None and re.search(r"\b(?:and|or)\b", figure.text, re.I):
            found += [replace(figure, high=None), replace(figure, value=figure.high, high=None)]
        else:
            found.append(figure)
    return found


def _compound_counts(figures: list[Figure], text: str) -> list[Figure]:
    """A KB count of a two-word noun counts its last word too: "100 rewards points" are
    100 points."""
    found = []
    for figure in figures:
        found.append(figure)
        after = re.match(r"\s+([a-z]{3,})\b", text[figure.end:])
        if figure.kind == "count" and after and tokenize(after.group(1)):
            found.append(replace(figure, unit=after.group(1)))
    return found


_BARE = re.compile(r"(?<![\d.,$\u00a3\u20ac#])\b(\d{1,3}(?:,\d{3})+|\d+)\b(?![\d.,%]|\s*[a-z])",
                   re.I)


def _bare_numbers(said: str) -> set[float]:
    """The numbers the customer wrote with no unit ("I have 740"): a reply saying "740
    points" gives their figure back."""
    return {float(m.group(1).replace(",", "")) for m in _BARE.finditer(said)}


def _same_count(figure: Figure, theirs: Figure, said: str) -> bool:
    """The customer's count in other words: "I have 300 rewards points", "your 300 points"."""
    if figure.kind != "count" or theirs.kind != "count" or figure.value != theirs.value:
        return False
    return count_noun(figure.unit) in {count_noun(w) for w in _WORD.findall(
        said[theirs.start:theirs.end + 20].lower())}


def _one_of_a_unit(figure: Figure) -> bool:
    """"a month", "an hour": a rough span or a rate ("10 kg a month"), not a precise claim."""
    return figure.kind == "duration" and bool(re.match(r"(?:a|an|one)\b", figure.text, re.I))


class _Pool:
    """The figures a reply may work a figure out from: sums, differences, shares and
    multiples of the conversation's figures, the prices of the products it names and the
    figures of the served KB sentences about the same subject."""

    def __init__(self, check: ClaimCheck, reply: str, customer_said: str,
                 prices: set[float]) -> None:
        currency = check.catalog.currency
        self.check = check
        self.said = [f for f in figures_in(to_digits(f"{customer_said} {reply}"), currency)]
        self.theirs = [f for f in figures_in(to_digits(customer_said), currency)]
        self.prices = prices
        self.percents = {f.value for f in self.said if f.kind == "percent"}
        self.factors = {f.value for f in self.said if f.kind == "count" and 1 < f.value <= 1000}

    def derives(self, figure: Figure, words: frozenset[str], *, own: bool) -> bool:
        """Whether `figure` is worked out from two other figures. A figure the KB
        contradicts counts as worked out only from the customer's own figures ("£50 free
        delivery, your basket is £42: £8 to go"); an unsupported one also from the reply's."""
        if figure.kind not in ("money", "duration") or figure.high is not None:
            return False
        unit = unit_of(figure)
        near = [f for s in self.check.served if len(s.words & words) >= 2 for f in s.figures]
        sources = [("customer", self.theirs), ("kb", near)]
        if own:
            sources.append(("reply", [f for f in self.said if f not in self.theirs]))
        values = [(v, where) for where, found in sources for f in found
                  if unit_of(f) == unit and (f.start, f.end, f.text) != (
                      figure.start, figure.end, figure.text)
                  for v in (f.value, f.high) if v is not None and v != figure.value]
        if figure.kind == "money":
            values += [(p, "catalog") for p in self.prices if p != figure.value]
        target = figure.value

        def allowed(*where: str) -> bool:
            return "customer" in where if not own else any(w != "kb" for w in where)

        for i, (a, wa) in enumerate(values):
            for j, (b, wb) in enumerate(values):
                if i == j or not allowed(wa, wb):
                    continue
                if abs(a + b - target) < 0.011 or (a > b and abs(a - b - target) < 0.011):
                    return True
            if not allowed(wa, "customer" if own else wa):
                continue
            for p in self.percents:
                if abs(a * p / 100 - target) < 0.011 or abs(a * (1 - p / 100) - target) < 0.011:
                    return True
            for n in self.factors:
                if abs(a * n - target) < 0.011:
                    return True
        return False
