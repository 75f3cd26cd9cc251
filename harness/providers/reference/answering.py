"""The reference model's answer: grounded in what `reading` found in the system prompt.

It answers the last user message by quoting the article sentences that share the most
informative words with it (and the price or status of any product record the customer named),
so editing an article changes its answers the way it would change a grounded LLM's. When
nothing in the prompt covers the question it calls the hand-off tool rather than guess, and
says why: no article in the prompt at all is a different reason from articles that do not
cover the question.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import dropwhile, islice
from typing import Any, NamedTuple

from harness.kb.catalog import fold, name_pattern
from harness.providers.reference.reading import ProductRecord, Understood, read_prompt
from harness.providers.reference_tools import Call, next_calls, result_lines
from harness.text.concepts import expansion
from harness.text.figures import Figure, figures_in
from harness.text.meaning import same_claim, unit_of
from harness.text.questions import Question, questions, same_question
from harness.text.sentences import (
    BOLD_LINE,
    HEADING_LINE,
    TABLE_ROW,
    TABLE_RULE,
    sentences,
    unwrap,
)
from harness.text.tokens import tokenize

__all__ = ["MODEL", "PROVIDER", "answer"]

PROVIDER = "reference"
MODEL = f"{PROVIDER}/kb-grounded"

_ASKS_PRICE_OR_STOCK = re.compile(
    r"\b(price|prices|priced|cost|costs|how much|expensive|cheap|available|availability|stock|"
    r"sell|selling|buy|discontinued|still (make|sell|carry|have)|carry|coming back|come back|"
    r"restock\w*|back in stock|sold out|out of stock|re-?order\w*|order (it|them|more|another)"
    r"( again)?|not (showing|there|listed)|can'?t find|cannot find|disappeared|gone)\b|"
    r"\bwhere (did|has|have) (it|they|the|my|your)\b.*\bgo(ne)?\b|[$\u00a3\u20ac]",
    re.IGNORECASE,
)
# the words of a limit or condition: "within 30 days", "at least 80%", "over $150"
_LIMIT = re.compile(r"\b(within|up to|until|no later than|at least|at most|over|under|more than|"
                    r"less than|minimum|maximum|provided( that)?|as long as|only if)\b", re.I)
# What kind of answer the question asks for, and what a sentence giving it contains.
_INTENTS = (
    (re.compile(r"\b(how much|cost|costs|price|fee|charge|pay)\b", re.I),
     re.compile(r"[$\u20ac\u00a3]\s?\d|\bfree\b", re.I)),
    (re.compile(r"\b(how (long|often|many|soon)|when|until|by what date|deadline)\b", re.I),
     re.compile(r"\d|\b(day|week|month|year|hour|minute)s?\b", re.I)),
    (re.compile(r"\b(codes?|discounts?|deals?|offers?|anything off|money off|% off|promo\w*|"
                r"black friday|cyber monday|black week)\b", re.I),
     re.compile(r"\d\s?%|\d off\b|\b[A-Z][A-Z0-9]{3,}\d+\b")),  # "25% off", "WELCOME10"
    # "can I still send it back?", "is it too late?": the limit or condition that decides it
    (re.compile(r"\b(can|could|may) (i|we) still\b|\bstill (able|eligible|possible|in time|"
                r"allowed|ok|okay)\b|\btoo late\b|\b(am|are) (i|we) (still )?(within|in time|"
                r"eligible)\b", re.I),
     _LIMIT),
)
_INTENT_BONUS = 0.3
_TOLD_BONUS = 0.2  # a sentence with a figure of the kind the customer gave (see _told)
_FAQ_BONUS = 1.0  # the answer to an FAQ question that is the customer's question
_KEYED_BONUS = 1.0  # a table row keyed by a figure the customer gave: the row asked for
_NAME_WEIGHT = 0.5
_ARTICLE_WEIGHT = 0.5  # a sentence of the article about the question beats a stray match
_SUBJECT_WEIGHT = 1.0  # a sentence of the article whose title names the question's subject
_HOW_TO = re.compile(r"\b(how (do|can|should) (i|we)|how to|what (should|do) i do)\b", re.I)
_COVERAGE_NEEDED = 0.3  # share of the question's weight a sentence must carry to be an answer
_TOOLS_ANSWERED = 0.6  # with tool results to answer from, only a close KB sentence is added
_KNOWN_NEEDED = 0.34  # share of the question's own words the articles must mention at all
# Everyday verbs and chat words name no subject: "I was given a gift card", "it turned up with
# a hole", "are they coming back" are about the card, the hole, the product, not about giving,
# turning or coming. They still count, a little, when nothing else matches.
_LIGHT = frozenset(tokenize(
    "give given gave giving take took taken taking come came coming comes turn turned turning "
    "find found finding put putting keep kept look looked looking seem seemed happen happened "
    "happy unhappy massive tbh rn lol honestly literally basically actually anywhere somewhere "
    "ever thing things stuff bit lot guess hope hoping try tried trying use used back "
    "anything something"))
_LIGHT_WEIGHT = 0.3


@dataclass(frozen=True)
class Answer:
    content: str | None
    escalation: dict[str, str] | None = None
    tool: str = ""  # the hand-off tool it calls
    calls: tuple[Call, ...] = ()  # back-end look-ups and actions (reference_tools.py)


@dataclass(frozen=True)
class _Sentence:
    text: str
    article_rank: int
    position: int
    words: frozenset[str]
    around: frozenset[str] = frozenset()  # its article's title, section heading, table header
    section: str = ""  # the heading it stands under
    title: frozenset[str] = frozenset()  # its article's title: what the article is about
    kinds: frozenset[str] = frozenset()  # the kinds of threshold it states (_told, _LIMIT)
    key: tuple[Figure, ...] = ()  # the figures of its table row's first cell ("20 kg")
    labels: frozenset[str] = frozenset()  # a chart row's "uk 9", "us 10" (_row_keys)
    step: int = 0  # its number in a numbered list of steps
    faq: frozenset[str] = frozenset()  # the words of the article's question it answers
    row: bool = False  # a table row


def _told(text: str) -> frozenset[str]:
    """The kinds of figure a text states (a share, a span of time, an amount of money...).
    A customer who gives one ("85-90% is left", "I ordered 5 weeks ago", "my basket is $60")
    asks about the rule with a threshold of that kind ("provided that at least 80% remains")."""
    return frozenset(unit_of(f) for f in figures_in(text) if f.kind not in ("code", "count"))


def _row_keys(cells: list[str], header: list[str]) -> tuple[str, ...]:
    """What names a table row: its first cell, then, in a chart of numbers (a size chart),
    each column's first label word with its value: "uk 9", "eu 43", "us 10"."""
    if not (header and re.fullmatch(r"[\d.,/ -]+", cells[0])):
        return (cells[0],)
    return (cells[0], *(f"{h.split()[0]} {c}" for h, c in zip(header, cells, strict=False)
                        if h.strip() and c))


def _row_text(cells: list[str], header: list[str]) -> str:
    """A table row as a sentence: "Express: $25; 1-2 business days". A row keyed by a number
    (a size chart) names every column: "UK 9, EU 43, US 10"."""
    named = [f"{h} {c}" if h and len(h.split()) <= 3 else c
             for h, c in zip(header, cells, strict=False) if c]
    if header and re.fullmatch(r"[\d.,/ -]+", cells[0]):
        return ", ".join(named) + "."
    rest = [c for c in cells[1:] if c]
    text = f"{cells[0]}: {'; '.join(rest)}" if rest else cells[0]
    return text if text[-1] in ".!?:" else text + "."  # a sentence of the reply


class _Quote(NamedTuple):
    text: str
    under: str  # the heading (and table header) it stands under
    keys: tuple[str, ...] = ()  # a table row's key cell, then a chart's labels (_row_keys)
    step: int = 0  # its number in a numbered list of steps
    asked: str = ""  # the article's question it answers, right before it ("How long is ...?")


_STEP = re.compile(r"^\s*(\d{1,2})[.)]\s+")


def _quotable(body: str) -> list[_Quote]:
    """The sentences of an article body written in Markdown: a heading is context, not an
    answer; a table row is read as "Express: $25; 1-2 business days" under its header, keyed
    by its first cell ("20 kg") or, in a chart of numbers, by each column's label and value
    ("UK 9", "US 10"); a numbered step keeps its number. A question of the article is what
    the sentences after it answer, not an answer itself."""
    found: list[_Quote] = []
    heading, header, asking = "", "", ""
    header_cells: list[str] = []
    lines = unwrap(body)
    for number, line in enumerate(lines):
        if title := (HEADING_LINE.match(line) or BOLD_LINE.match(line)):
            heading, header = title.group(1), ""
            asking = heading if heading.rstrip().endswith("?") else ""
            continue
        row = TABLE_ROW.match(line)
        if row:
            cells = [c.strip() for c in row.group(1).split("|")]
            rule_next = number + 1 < len(lines) and TABLE_RULE.match(lines[number + 1])
            if rule_next:
                header, header_cells = " ".join(cells), cells
            elif not TABLE_RULE.match(line) and cells and cells[0]:
                found.append(_Quote(_row_text(cells, header_cells), f"{heading} {header}",
                                    _row_keys(cells, header_cells)))
            continue
        header = ""
        step = int(numbered.group(1)) if (numbered := _STEP.match(line)) else 0
        said = [t for t in sentences(_NAMED_POINTER.sub(" ", line)) if not _POINTER.match(t)]
        if len(said) == 1 and said[0].endswith("?") and not step:
            heading = asking = said[0]  # "How long do I have?" on its own line heads its answer
            continue
        for text in said:
            if text.endswith("?"):  # the KB's own question ("How long is the guarantee?")
                asking = text  # is not an answer; the sentence after it is
                continue
            if text[-1] not in ".!?:;)\"'":  # a list item is a sentence of the reply
                text += "."
            found.append(_Quote(text, heading, step=step, asked=asking))
            if len(tokenize(text)) > 1:  # "Sorry about that." answers nothing: read on
                asking = ""
    return found


# A sentence that only points to another article ("See *Returns and exchanges*.", "See our
# returns page."): it answers nothing on its own, so a grounded model does not quote it.
_LEAD = r"(?:for (?:more|full) (?:details|information),?\s+)?see\s+(?:our\s+|the\s+)?"
_NAMED_POINTER = re.compile(rf"(?:^|(?<=[.!?]))\s*{_LEAD}(?:\*[^*\n]+\*|_[^_\n]+_|\"[^\"\n]+\")"
                            r"\s*\.", re.IGNORECASE)
_POINTER = re.compile(rf"^\s*{_LEAD}[^.\d]{{0,60}}\b(?:article|page|section|guide|policy)\s*\.?$",
                      re.IGNORECASE)


def _sentences(understood: Understood) -> list[_Sentence]:
    found = []
    for rank, article in enumerate(understood.articles):
        for quote in _quotable(article.body):
            text, keys = quote.text, quote.keys
            words = frozenset(tokenize(f"{quote.asked} {text}"))  # an FAQ's answer: Q and A
            faq = frozenset(tokenize(quote.asked))
            around = frozenset(tokenize(f"{article.title} {quote.under}")) - words
            found.append(_Sentence(text, rank, len(found), words, around, quote.under,
                                   frozenset(tokenize(article.title)),
                                   _told(text) if _LIMIT.search(text) else frozenset(),
                                   tuple(f for k in keys[:1] for f in figures_in(k)),
                                   frozenset(k.lower() for k in keys[1:]), quote.step, faq,
                                   bool(keys)))
    return found


def _named(records: Sequence[ProductRecord], question: str, context: str
           ) -> list[ProductRecord]:
    """The records the customer names: by name or alias, else by most of the name's words
    (a grounded model knows "the parachute cargos" are the Parachute Cargo Trousers)."""
    exact = [r for r in records
             if any(name_pattern(n).search(fold(question)) for n in (r.name, *r.aliases) if n)]
    asked = set(tokenize(f"{question} {context}"))
    if exact:
        # "how much is the serum lumiere 30ml? and the lumiere refill?": a word the names
        # found do not explain ("refill") names one more record
        explained = {w for r in exact for n in (r.name, *r.aliases) for w in tokenize(n)}
        unexplained = set(tokenize(question)) - explained
        return [*exact, *(r for r in records if r not in exact and _share(r, asked) >= 0.5
                          and set(tokenize(r.name)) & unexplained)]
    scored = [(share, r) for r in records if (share := _share(r, asked)) >= 0.5]
    best = max((s for s, _ in scored), default=0.0)
    if not scored:  # the records sent are those the customer named, in words of their own
        return [r for r in records if set(tokenize(r.name)) & asked - _LIGHT][:3]
    return [r for s, r in scored if s == best]


def _share(record: ProductRecord, asked: set[str]) -> float:
    """How much of a record's name the customer's words hold."""
    words = set(tokenize(record.name))
    return len(words & asked) / len(words) if words else 0.0


def _product_lines(records: Sequence[ProductRecord], question: str, context: str) -> list[str]:
    """Price or status of the products named, when the customer asks about price or stock."""
    if not _ASKS_PRICE_OR_STOCK.search(question):
        return []
    lines = []
    for record in _named(records, question, context):
        if record.status == "discontinued":
            lines.append(f"The {record.name} has been discontinued and is no longer available.")
        elif record.price:
            lines.append(f"The {record.name} costs {record.price} and is in our range.")
    return lines


def _rank(
    sentences: Sequence[_Sentence], question: list[str], context: list[str], asked_text: str,
    related: Sequence[str] = (), names: set[str] | frozenset[str] = frozenset(),
    told: frozenset[str] = frozenset(), said: str = "",
) -> list[tuple[float, _Sentence]]:
    total = len(sentences) or 1
    frequency: dict[str, int] = {}
    for sentence in sentences:
        for word in sentence.words:
            frequency[word] = frequency.get(word, 0) + 1

    def idf(word: str) -> float:  # a product's name says which item, not what is asked
        weight = (_NAME_WEIGHT if word in names else
                  _LIGHT_WEIGHT if word in _LIGHT or word.isdigit() else 1.0)
        return weight * math.log(1 + (total + 0.5) / (frequency.get(word, 0) + 0.5))

    asked = {w for w in question if w in frequency}  # words no article mentions: ungroundable
    mass = sum(idf(w) for w in asked) or 1.0
    articles: dict[int, set[str]] = {}
    for sentence in sentences:
        articles.setdefault(sentence.article_rank, set()).update(sentence.words | sentence.around)
    spread = {w: sum(w in words for words in articles.values()) for w in asked}

    def article_idf(word: str) -> float:
        return math.log(1 + (len(articles) + 0.5) / (spread.get(word, 0) + 0.5))

    article_mass = sum(article_idf(w) for w in asked) or 1.0
    topical = {rank: sum(article_idf(w) for w in asked & words) / article_mass
               for rank, words in articles.items()}  # how much the article is about the question
    meant_only = set(related) - asked
    subject_mass = (sum(idf(w) for w in asked) + 0.5 * sum(idf(w) for w in meant_only)) or 1.0
    subject = {s.article_rank: (sum(idf(w) for w in asked & s.title)
                                + 0.5 * sum(idf(w) for w in meant_only & s.title)) / subject_mass
               for s in sentences}  # how much its title names what is asked
    given = figures_in(said) if said else ()
    spoken = " ".join(re.findall(r"[a-z]+|\d+(?:\.\d+)?", said.lower()))  # "us 10 in mens"

    def keys_match(sentence: _Sentence) -> bool:
        return (any(same_claim(f, k) for f in given for k in sentence.key)
                or any(re.search(rf"\b{re.escape(label)}\b", spoken)
                       for label in sentence.labels))

    # a chart with the customer's row: its other rows are not theirs ("she's 20kg")
    charted = {(s.article_rank, s.section) for s in sentences
               if (s.key or s.labels) and keys_match(s)}
    scored = []
    for sentence in sentences:
        if (sentence.article_rank, sentence.section) in charted and not keys_match(sentence):
            continue
        direct = sum(idf(w) for w in asked & sentence.words) / mass
        nearby = sum(idf(w) for w in (set(context) - asked) & sentence.words) / mass
        under = sum(idf(w) for w in asked & sentence.around) / mass
        meant = sum(idf(w) for w in (set(related) - asked) & sentence.words) / mass
        # the row of a chart keyed by what the customer gave: "she's 20kg" and "20 kg: 250-300 g"
        keyed = bool(direct or meant or under) and (sentence.article_rank,
                                                    sentence.section) in charted
        # an everyday verb alone ("turn" of "it turned up") does not make the sentence one
        # about the question: no article bonus for it
        matched = bool((asked & sentence.words) - _LIGHT or meant or keyed)
        score = (direct + 0.5 * meant + 0.25 * (nearby + under) - 0.06 * sentence.article_rank
                 + (_ARTICLE_WEIGHT * topical[sentence.article_rank]
                    + _SUBJECT_WEIGHT * subject[sentence.article_rank]) * matched
                 + _KEYED_BONUS * keyed)
        if matched and any(q.search(asked_text) and a.search(sentence.text)
                           for q, a in _INTENTS):
            score += _INTENT_BONUS
        if sentence.kinds & told:
            score += _TOLD_BONUS
        if sentence.faq and same_question(sentence.faq, asked):
            score += _FAQ_BONUS  # the KB asks the customer's question and answers it here
        if not asked or not matched:
            continue  # no word of the question in the articles: bonuses make no answer
        scored.append((score, sentence))
    scored.sort(key=lambda pair: (-pair[0], pair[1].position))
    return scored


_FIGURE = re.compile(r"\d|\b(free|never|no longer)\b", re.I)


def _with_figures(chosen: list[_Sentence], every: Sequence[_Sentence], asked: str
                  ) -> list[_Sentence]:
    """Give the figure the customer needs, as a grounded model does: when no chosen sentence
    holds what the question asks for (an amount, a time) or any figure at all, add the nearest
    sentence of the same article and section that does."""
    if not chosen:
        return chosen
    wanted = [a for q, a in _INTENTS if q.search(asked)] or [_FIGURE]
    top = chosen[0]
    for pattern in wanted:
        if any(pattern.search(s.text) for s in chosen):
            continue
        near = [s for s in every if s.article_rank == top.article_rank and s not in chosen
                and s.section == top.section and 0 < abs(s.position - top.position) <= 2
                and pattern.search(s.text)]
        if near:
            chosen = [*chosen, min(near, key=lambda s: (abs(s.position - top.position),
                                                        s.position))]
    return chosen


# "every 100 points gives a $5 reward", "100 points = £5 off", "100 points take $5 off"
_RATE = re.compile(r"\b(?:every\s+)?(\d[\d,]*)\s+(?:[\w-]+\s+)?(points?)\s+(?:=|equals?|"
                   r"(?:is|are|will(?: still)? be) worth|gives?(?: you)?|takes?|gets? you|"
                   r"converts? to)\s+(?:a\s+|an\s+)?([$\u00a3\u20ac])\s?(\d+(?:\.\d{2})?)", re.I)
_HELD = re.compile(r"(?<![$\u00a3\u20ac\d.,])\b(\d{1,3}(?:,\d{3})+|\d+)\b(?!\s*(?:[$\u00a3\u20ac%]|"
                   r"days?|weeks?|months?|years?|hours?|minutes?|am|pm|kg|g|ml|cm))", re.I)


def _worked_out(last: str, chosen: Sequence[_Sentence]) -> list[str]:
    """What the customer's points are worth, worked out from the KB's rate as a grounded
    model does ("I have 740" and "every 100 points gives a $5 reward": $35): points are
    spent in whole steps of the rate. Only when one number is given and a chosen sentence,
    or one of the chosen sentences' articles, states the rate."""
    held = [int(m.group(1).replace(",", "")) for m in _HELD.finditer(last)]
    if len(held) != 1 or not re.search(r"\bpoints?\b", last, re.I):
        return []
    points = held[0]
    for sentence in chosen:
        rate = _RATE.search(sentence.text)
        if not rate:
            continue
        step, sign, value = int(rate.group(1).replace(",", "")), rate.group(3), float(rate.group(4))
        if not step or points < step:
            continue
        steps = points // step
        worth = steps * value
        amount = f"{worth:,.0f}" if worth == int(worth) else f"{worth:,.2f}"
        return [f"{points:,} points give {sign}{amount} ({steps} x {step} points)."]
    return []


_TIME_WORDS = frozenset(expansion("when"))  # what any "when" stands for: no subject
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|this|that|these|those|one|ones)\b", re.I)
# "is it possible to ...", "is it too late to ...": an "it" that stands for nothing before it
_DUMMY_IT = re.compile(r"\b(?:is|was|would|will|isn't|it's)\s+(?:it\s+)?(?:be\s+)?(?:possible|"
                       r"ok|okay|alright|all right|too late|too early|worth|true|normal|fine|"
                       r"allowed|likely|necessary)\b|\bdoes it matter\b", re.I)


def _points_back(text: str) -> bool:
    """Whether a question leans on the story for what it asks about ("can I still change it?")."""
    return bool(_REFERS_BACK.search(_DUMMY_IT.sub(" ", text)))


def _focus(last: str, asked: Sequence[Question], words: list[str]
           ) -> tuple[str, list[str], list[str], list[str]]:
    """The question a turn asks, apart from the story around it ("I sent it back on Monday and
    tracking says you got it Thursday. When do I get my money back?"): its words are what is
    asked; the story before it is context, what follows it often narrows it ("... for
    Christmas? UK, both standard and next day"). A question with too little of its own
    ("what now?"), or one that points back into the story ("can I still change it?"), keeps
    the turn. Returns the question, its words, the words before and the words after it."""
    text = " ".join(q.asks for q in asked)
    focus = tokenize(text)
    if (len(set(focus) - _LIGHT) + len(expansion(text)) < 2 or set(focus) == set(words)
            or _points_back(text)):
        return last, words, [], []
    end = last.lower().rfind(asked[-1].asks.lower())
    after = set(tokenize(last[end + len(asked[-1].asks):])) if end >= 0 else set()
    story = [w for w in words if w not in focus]
    return (text, focus, [w for w in story if w not in after],
            [w for w in story if w in after])


def _covered(last: str, asked: Sequence[Question], known: set[str], names: set[str]) -> bool:
    """Whether the articles speak of what is asked at all: "do you do wholesale?" to a KB that
    never says "wholesale" is a question for a person, however many sentences mention shops.
    The question's own words (not its story, product names or figures) are looked for in the
    articles, titles and headings included, with the support words they stand for; a question
    pointing back into the story ("can I still change it?") is looked for with its story."""
    asks = " ".join(q.asks for q in asked)
    texts = [asks, last] if _points_back(asks) else [asks]
    return any(_speaks_of(text, known, names) for text in texts)


def _known(every: Sequence[_Sentence]) -> set[str]:
    """Every word the articles of the prompt use, titles and headings included."""
    return set().union(*(s.words | s.around for s in every)) if every else set()


# What a shop offers in kinds: "student discount", "express delivery", "trade account"
_KINDS_OF = frozenset(tokenize(
    "price prices pricing discount discounts account accounts rate rates code codes offer offers "
    "deal deals delivery shipping plan plans programme program scheme membership subscription "
    "card cards payment payments option options service services warranty guarantee"))
_PAIR = re.compile(r"\b([a-z][a-z'-]{2,})\s+([a-z]+)\b")


def _misspelt(word: str, known: set[str]) -> bool:
    """A known word with a letter or two wrong or swapped ("studnet" for "student")."""
    return any(k[0] == word[0] and abs(len(k) - len(word)) <= 1
               and SequenceMatcher(None, word, k).ratio() >= 0.7 for k in known if k)


def _kind_unknown(asks: str, known: set[str], names: set[str]) -> str:
    """The question asks for a kind of something the KB never names: "do you do wholesale
    pricing?", "is there a military discount?" to a KB that speaks of prices and discounts
    but never of wholesale or the military. A grounded model does not answer with the
    discounts it has; it hands over. A misspelt known word ("dicount") is not a kind.
    Returns the words asked for ("wholesale pricing"), or ""."""
    text = asks.lower()
    for match in islice(_PAIR.finditer(text), 40):  # a question's words, not a whole essay
        thing = tokenize(match.group(2))
        # the kind read with the word before it: "black friday" is one word of the KB's
        before = " ".join(text[:match.start(1)].split()[-1:])
        kind = tokenize(f"{before} {match.group(1)}")[-1:]
        if not kind or not thing or thing[0] not in _KINDS_OF or thing[0] not in known:
            continue
        word = kind[0]
        if (word in known or word in names or word in _LIGHT or word in _KINDS_OF
                or not word.isalpha() or _misspelt(word, known)):
            continue
        return match.group(0)
    return ""


def _speaks_of(text: str, known: set[str], names: set[str]) -> bool:
    words = set(tokenize(text))
    own = {w for w in words if w not in _LIGHT and w not in names and not w.isdigit()}
    if not own or words & names:  # a question about a product the records answer
        return True
    # "when do I get my money back?" to a KB saying "refund", "Black Friday" to one saying
    # "Black Week": a word the KB says otherwise counts once as known
    otherwise = bool((set(expansion(text)) - _TIME_WORDS) & known) and bool(own - known)
    return (len(own & known) + otherwise) / len(own) >= _KNOWN_NEEDED


def _per_question(chosen: list[_Sentence], ranked: list[tuple[float, _Sentence]],
                  every: Sequence[_Sentence], last: str, asked: Sequence[Question],
                  context: list[str], names: set[str]) -> list[_Sentence]:
    """A turn asking several things ("how much is delivery, and how much do I need to spend to
    get it free?") gets the best sentence for each question first, then the turn's best. A
    question's best must be about the turn too (a quarter of the turn's best score): "will I
    have to set it up again?" alone would match any sentence that sets something."""
    if len(asked) < 2 or not ranked:
        return chosen
    on_topic = {s: score for score, s in ranked}
    needed = ranked[0][0] * 0.25
    firsts: list[_Sentence] = []
    turn = [*context, *tokenize(last), *expansion(last)]  # the rest of the turn: what "it" is
    subject = ""  # the last question that named what it asks about
    referent = _referent(asked[0], every)
    for part in asked:
        words, meant = tokenize(part.asks), expansion(part.asks)
        if subject and (_points_back(part.asks) or not words) and len(set(words) - _LIGHT) < 2:
            # "do you ship to Germany? how much is it, and how long does it take?"; "how do
            # the paw points work? how many do I get": of the points
            words, meant = [*tokenize(subject), *words], [*expansion(subject), *meant]
        else:
            subject = part.asks
            if _points_back(part.asks):  # "got a gift card ... can I use it on ...?"
                words = [*(w for w in referent if w not in words), *words]
        fitting = [(score + 0.5 * on_topic.get(sentence, 0.0), sentence)
                   for score, sentence in _rank(every, words, turn, part.asks, meant, names)[:3]
                   if sentence not in firsts  # the answer to an earlier question: look further
                   and score >= _COVERAGE_NEEDED and on_topic.get(sentence, 0.0) >= needed]
        if fitting:  # the best for the question, in the turn's light ("... any off treats?")
            firsts.append(max(fitting, key=lambda pair: pair[0])[1])
    return list(dict.fromkeys([*firsts, *chosen]))


def _referent(first: Question, every: Sequence[_Sentence]) -> list[str]:
    """What the story before the first question names by an article's whole title ("got a
    €50 gift card from my sister for my birthday" names "Gift cards"): the thing its "it"
    stands for ("how long do I have to use it?")."""
    end = first.text.lower().rfind(first.asks.lower())
    story = set(tokenize(first.text[:end])) if end > 0 else set()
    titles = dict.fromkeys(s.title for s in every if s.title and s.title - _LIGHT)
    return [w for title in titles if title <= story for w in sorted(title)]


def _by_priority(chosen: list[_Sentence], max_words: int | None, sign_off: str | None,
                 products: list[str]) -> list[_Sentence]:
    """The sentences that fit the word limit, most wanted first, then in the articles' order
    (so a reply reads as the article does)."""
    budget = _budget(max_words, sign_off)
    used = sum(len(p.split()) for p in products)
    kept: list[_Sentence] = []
    for sentence in chosen:
        size = len(sentence.text.split())
        if kept and used + size > budget:
            continue
        kept.append(sentence)
        used += size
    return sorted(kept, key=lambda s: s.position)


def _with_lists(chosen: list[_Sentence], every: Sequence[_Sentence],
                wanted: frozenset[str] = frozenset(), how_to: bool = False) -> list[_Sentence]:
    """A sentence that ends with a colon ("one of these usually fixes it:") is answered by what
    follows it: the first two items under it come along; so do those of a short lead-in right
    after a chosen sentence ("... a personal code worth $35. The code:"); a numbered step
    brings the rest of its procedure (up to five steps)."""
    found = list(chosen)
    for sentence in chosen:
        after = every[sentence.position + 1] if sentence.position + 1 < len(every) else None
        if (after is not None and after.article_rank == sentence.article_rank
                and after.section == sentence.section and after.text.rstrip().endswith(":")
                and len(after.text.split()) <= 5):
            sentence = after  # "... a code worth $35. The code:" and what the code is
            found.append(sentence)
        if sentence.text.rstrip().endswith(":"):
            items = [s for s in every[sentence.position + 1:sentence.position + 3]
                     if s.article_rank == sentence.article_rank
                     and s.section == sentence.section]
            found += items + _procedure(items[0], every) if items and items[0].step else items
        elif (after is not None and after.step == 1 and not sentence.step
              and after.article_rank == sentence.article_rank
              and after.section == sentence.section):
            found += _procedure(after, every)  # "Let us know within 7 days." and how
    for sentence in chosen:
        if sentence.step:
            found += _procedure(sentence, every)
        found += _table_under(sentence, every, wanted, chosen, how_to)
    return list(dict.fromkeys(found))


_BELOW = re.compile(r"\b(?:below|the following|as follows)\b", re.I)


def _table_under(sentence: _Sentence, every: Sequence[_Sentence], wanted: frozenset[str],
                 chosen: Sequence[_Sentence], how_to: bool = False) -> list[_Sentence]:
    """The rows, of the table right under a sentence, that the question names by a word the
    other rows lack: "Here are the last days to order for delivery before Christmas." and the
    row for the EU, asked about Spain; for a how-to, the table is the how (a 7-day plan).
    None when a row of it is chosen already."""
    rows = []
    pointing = bool(_BELOW.search(sentence.text))  # "... by the dates below."
    ahead = every[sentence.position + 1:sentence.position + 15]
    if pointing:  # the table may come a sentence or two further on
        ahead = list(dropwhile(lambda s: not s.row, ahead[:3])) + ahead[3:]
    for s in ahead:
        if s.article_rank != sentence.article_rank or not s.row:
            break
        rows.append(s)
    if not rows or any(s in chosen for s in rows):
        return []
    if how_to or pointing:
        return rows[:4 if how_to else 3]
    every_row = frozenset.intersection(*(s.words for s in rows))  # "uk", "eu" of a size chart
    return [s for s in rows if (s.words - every_row) & wanted][:2]


def _procedure(step: _Sentence, every: Sequence[_Sentence]) -> list[_Sentence]:
    """The numbered steps a step belongs to, in order: step 3 of a procedure needs steps 1
    and 2 ("open Order history"), step 1 the steps after it ("enter the code LOOPSTU15")."""
    near = every[max(0, step.position - 8):step.position + 9]
    same = [s for s in near if s.article_rank == step.article_rank and s.section == step.section
            and s.step]
    steps, last = [], 0
    for s in same:  # the one list around the step: its numbers go up without a break
        if s.step < last or s.step > last + 1:
            if step in steps:
                break
            steps = []
        steps.append(s)
        last = s.step
    return [s for s in steps if s.step <= 5] if step in steps else []


def _opens_the_section(sentence: _Sentence, every: Sequence[_Sentence],
                       question: Sequence[str]) -> bool:
    """The first sentence of a section whose heading names what is asked, with more of the
    section after it: its next sentence goes on with the same answer."""
    before = every[sentence.position - 1] if sentence.position else None
    after = every[sentence.position + 1] if sentence.position + 1 < len(every) else None
    heading = set(tokenize(sentence.section))
    return (bool(heading) and len(heading & set(question)) * 2 >= len(heading)
            and (before is None or before.section != sentence.section
                 or before.article_rank != sentence.article_rank)
            and after is not None and after.section == sentence.section
            and after.article_rank == sentence.article_rank and not after.row and not after.step)


def _budget(max_words: int | None, sign_off: str | None) -> int:
    """The words a reply's body may take: the limit less the sign-off's."""
    return (max_words or 10_000) - len((sign_off or "").split())


def _fit(parts: list[str], max_words: int | None, sign_off: str | None) -> str:
    budget = _budget(max_words, sign_off)
    kept: list[str] = []
    for part in parts:
        if kept and sum(len(p.split()) for p in [*kept, part]) > budget:
            break
        kept.append(part)
    words = " ".join(kept).split()[: max(budget, 1)]
    body = " ".join(words)
    return f"{body}\n\n{sign_off}" if sign_off else body


def answer(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] = ()) -> Answer:
    """The reference model's reply to an OpenAI-style message list."""
    system = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    understood = read_prompt(system)
    handoff = handoff_tool(tools)
    if calls := next_calls(messages, tools, handoff):
        return Answer(None, calls=calls)
    facts = result_lines(messages, tools, last, handoff)
    return grounded_answer(understood, last, users[:-1], handoff, facts)


def grounded_answer(understood: Understood, last: str, earlier: Sequence[str],
                    handoff: str, facts: Sequence[str] = ()) -> Answer:
    """The answer from the KB and product records understood (and the back end's `facts`,
    the tool results' lines), to the `last` user message."""
    if understood.brand and understood.brand.lower() in last.lower():  # not the topic
        last = re.sub(re.escape(understood.brand), " ", last, flags=re.IGNORECASE)
    question = tokenize(last)
    context = [w for text in earlier for w in tokenize(text)]
    max_words, sign_off = understood.max_words, understood.sign_off
    names = {w for record in understood.products for w in tokenize(record.name)}
    products = [*facts, *_product_lines(understood.products, last, " ".join(earlier))]
    if facts:  # the tool results answer what they mention; the KB only what is left
        said = {w for line in facts for w in tokenize(line)}
        question = [w for w in question if w not in said]
    asked_text, story = last, []
    asked = questions(last)  # the questions of the turn, apart from its story
    if not facts:
        asked_text, question, before, story = _focus(last, asked, question)
        context = [*context, *before]
    every = _sentences(understood)
    known = _known(every)  # every word of the prompt's articles
    kind = "" if facts else _kind_unknown(" ".join(q.asks for q in asked), known, names)
    if kind and handoff:
        reason = f"The knowledge base in my instructions never mentions {kind!r}."
        return Answer(None, {"topic": "other", "reason": reason}, handoff)
    covered = bool(facts) or _covered(last, asked, known, names)
    if not facts and covered and not any(w in s.words for s in every for w in question):
        # "when do I get my money back?": no article says "money", the KB's word is "refund"
        question = [*question, *(w for w in expansion(asked_text) if w not in _TIME_WORDS)]
    if not covered:
        ranked: list[tuple[float, _Sentence]] = []
    else:
        ranked = _rank(every, question, context, asked_text, [*expansion(asked_text), *story],
                       names, _told(last), last)
    best = ranked[0][0] if ranked else 0.0
    if handoff and not facts and best >= _COVERAGE_NEEDED and _ROUTED.search(ranked[0][1].text):
        reason = f"The knowledge base says people handle this: {ranked[0][1].text}"
        return Answer(None, {"topic": "other", "reason": reason}, handoff)
    floor = max(_TOOLS_ANSWERED if facts else _COVERAGE_NEEDED, best * 0.5)
    chosen = [s for score, s in ranked[:1 if facts else 3]
              if best and score >= floor and question]
    if not facts:
        chosen = _per_question(chosen, ranked, every, last, asked, context, names)
    if chosen and _HOW_TO.search(last):  # a how-to answer goes on to the next step
        follow = chosen[0].position + 1
        if follow < len(every) and every[follow].article_rank == chosen[0].article_rank:
            chosen = list(dict.fromkeys([*chosen, every[follow]]))
    # the opening of the section the question names goes on to its next sentence ("... Pay
    # in 3 at checkout. You pay a third today and the rest in two more payments, with no
    # interest and no fees.")
    chosen = list(dict.fromkeys(
        [x for s in chosen for x in ([s, every[s.position + 1]]
                                     if _opens_the_section(s, every, question) else [s])]))
    wanted = frozenset([*question, *expansion(asked_text)])
    chosen = _with_figures(_with_lists(chosen, every, wanted, bool(_HOW_TO.search(last))),
                           every, last)
    ranks = {s.article_rank for s in chosen}
    products = [*products, *_worked_out(last, [*chosen, *(s for s in every
                                                         if s.article_rank in ranks)])]
    grounded = [s.text for s in _by_priority(chosen, max_words, sign_off, products)]
    if not products and not grounded:
        reason = ("The knowledge base in my instructions does not cover this question."
                  if understood.articles else
                  f"I found no knowledge base articles in my instructions: {understood.notes[0]}.")
        if handoff:
            return Answer(None, {"topic": "other", "reason": reason}, handoff)
        return Answer(_fit(["I'm not certain about that, so I won't guess."], max_words, sign_off))
    return Answer(_fit([*products, *grounded], max_words, sign_off))


# A KB sentence that gives the question to people ("questions about pregnancy are answered
# individually by our formulation team"): a grounded model hands over rather than answer.
_ROUTED = re.compile(
    r"\b(?:answered|handled|dealt with|reviewed|assessed|advised on)\s+(?:individually\s+|"
    r"personally\s+|case by case\s+)?by\s+(?:our|the|a)\s+(?:[\w-]+\s+){0,3}?(?:team|"
    r"specialists?|experts?|pharmacists?|vets?|department)\b|\bput you in touch with\b|"
    r"\b(?:our|the)\s+(?:[\w-]+\s+){0,3}?team\s+(?:will|must)\s+(?:handle|assess|advise on|"
    r"answer)\b", re.IGNORECASE)
_HANDOFF = re.compile(r"escalat|hand_?off|human|transfer|person|agent", re.IGNORECASE)


def handoff_tool(tools: Sequence[dict[str, Any]]) -> str:
    """The name of the tool that hands the conversation to a person, if one is offered: read
    from the tool list as any model would (its name), not from the harness's code."""
    for tool in tools:
        name = str(tool.get("function", {}).get("name") or "")
        if _HANDOFF.search(name):
            return name
    return ""


def to_openai_message(result: Answer) -> dict[str, Any]:
    """The answer as an OpenAI chat message, tool call included."""
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.calls:
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": c.arguments}} for c in result.calls]
    if result.escalation:
        message["tool_calls"] = [{
            "id": "call_reference_0",
            "type": "function",
            "function": {"name": result.tool, "arguments": json.dumps(result.escalation)},
        }]
    return message
