"""Serve the knowledge base as of a date, and retrieve articles for a conversation.

Ranking is BM25 (the bm25s library). Each hit also gets a confidence in [0, 1]: the share of
the question's informative words (weighted by rarity, IDF) that the article contains. Words
the KB has never seen weigh as much as its rarest words, so a question about something the
shop does not cover gets a low confidence. Words of catalog product names count as covered
(the catalog answers for them), and weigh half in the ranking: they say which item, not
what is asked. Unlike a raw BM25 score the confidence means the same thing in a
store of 10 articles or 10,000, so `min_confidence` in agent.yaml can be set once and kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import bm25s

from harness.store.schema import Article
from harness.text.concepts import expansion
from harness.text.questions import questions, same_question
from harness.text.tokens import tokenize

__all__ = ["Hit", "Index", "KnowledgeBase", "serve_articles"]

_TITLE_BOOST = 0.5  # an article whose whole title the question names scores 1.5 times
_QUESTION_BOOST = 0.5  # and once more when one of its headings asks the customer's question

# A heading inside an article: Markdown "## ...", a line in bold, or a short line that is a
# question ("How long do I have to return a product?"): how FAQ articles name their answers.
_HEADING = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+(.+?)[ \t#]*|\*\*([^*\n]+?)\*\*:?|"
                      r"((?:[^\s?]+[ \t]+){1,15}[^\s?]+\?))[ \t]*$", re.MULTILINE)


def _headings(body: str) -> list[str]:
    return [next(g for g in m.groups() if g).rstrip(":") for m in _HEADING.finditer(body)]


def serve_articles(articles: Iterable[Article], day: dt.date) -> tuple[Article, ...]:
    """The articles a customer could be shown on `day`: active and inside their window."""
    return tuple(a for a in articles if a.served_on(day))


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    confidence: float


class Index:
    """A BM25 index over the articles served on one day."""

    def __init__(self, articles: Sequence[Article], names: frozenset[str] = frozenset(),
                 brand: str = "") -> None:
        self.articles = tuple(articles)
        self._names = names  # stemmed words of catalog product names
        # the shop's own name: "a Loop & Thread gift card" is about gift cards
        self._brand = re.compile(re.escape(brand), re.IGNORECASE) if brand.strip() else None
        self._docs = [set(tokenize(f"{a.title}\n{a.topic}\n{a.body}")) for a in self.articles]
        # an article answers to its title and to each of its headings
        # (a one-word heading, "Returns", labels a section rather than names a question)
        self._titles = [[set(tokenize(a.title)) - names,
                         *(h for h in (set(tokenize(h)) - names for h in _headings(a.body))
                           if len(h) > 1)] for a in self.articles]
        self._asked = [[frozenset(tokenize(h)) - names for h in _headings(a.body)
                        if h.endswith("?")] for a in self.articles]  # an FAQ's questions
        self._bm25 = bm25s.BM25()
        if self.articles:
            corpus = [tokenize(f"{a.title}\n{a.title}\n{a.topic}\n{a.body}") for a in self.articles]
            self._bm25.index(corpus, show_progress=False)
        total = len(self.articles)
        frequency: dict[str, int] = {}
        for words in self._docs:
            for word in words:
                frequency[word] = frequency.get(word, 0) + 1
        self._idf = {w: self._idf_of(n, total) for w, n in frequency.items()}
        self._unknown_idf = self._idf_of(0, total)

    def _title_share(self, doc: int, words: set[str]) -> float:
        """Share of the article title's (or one heading's) words the question uses: a
        customer asking about "a gift card" names the article "Gift cards", however often
        other articles mention gift cards in passing; "how long do I have to return a
        product?" names the FAQ whose heading asks just that."""
        return max((len(title & words) / len(title) for title in self._titles[doc] if title),
                   default=0.0)

    @staticmethod
    def _idf_of(df: int, total: int) -> float:
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    def coverage(self, words: Sequence[str], doc: int, related: Sequence[str] = ()) -> float:
        """Share of the words' IDF mass that document `doc` contains. `related` words (what
        the question's phrases stand for, text/concepts.py) count only where the document has
        them: saying "money back" to an article about refunds is covered, not diluted."""
        unique = set(words)
        also = {w for w in related if w not in unique and w in self._docs[doc]}
        mass = sum(self._idf.get(w, self._unknown_idf) for w in unique | also)
        if not mass:
            return 0.0
        found = sum(self._idf.get(w, self._unknown_idf) for w in unique | also
                    if w in self._docs[doc] or w in self._names)
        return found / mass

    def search(self, queries: Sequence[str], top_k: int) -> tuple[Hit, ...]:
        """Rank for all `queries` together; confidence is the best coverage of any one query.

        The last customer turn alone ("what about sale items?") may be too short to cover an
        article, the whole conversation too long: the better of the two is taken.
        """
        texts = [q for q in queries if q.strip()]
        if self._brand is not None:
            texts = [self._brand.sub(" ", q) if self._brand.sub(" ", q).strip() else q
                     for q in texts]
        token_sets = [tokenize(q) for q in texts]
        related = [list(expansion(q)) for q in texts]
        words = [w for tokens in token_sets for w in tokens]
        known = [w for w in words if w in self._idf]
        if not self.articles or not known:
            return ()
        weighted = known + [w for w in known if w not in self._names]  # topic words count twice
        # what the last turn asks counts once more than the story around it ("I sent it back
        # Monday and tracking says you got it. When do I get my money back?")
        asks = frozenset(tokenize(" ".join(q.asks for q in questions(texts[0])))) - self._names
        weighted += [w for w in asks if w in self._idf]
        own = self._bm25.get_scores(weighted)
        weighted += [w for extra in related for w in dict.fromkeys(extra) if w in self._idf]
        scores = [float(score) * (1 + _TITLE_BOOST * self._title_share(doc, set(words))
                                  + _QUESTION_BOOST * any(same_question(q, asks)
                                                          for q in self._asked[doc]))
                  for doc, score in enumerate(self._bm25.get_scores(weighted))]
        ranked = sorted(range(len(self.articles)), key=lambda i: (-scores[i], self.articles[i].id))
        hits = []
        for rank, doc in enumerate(ranked[:top_k]):
            if scores[doc] <= 0:
                break
            if rank and own[doc] <= 0:
                continue  # matched only through related words: it ranks, it does not pad the list
            confidence = max(self.coverage(tokens, doc, extra)
                             for tokens, extra in zip(token_sets, related, strict=True))
            hits.append(Hit(self.articles[doc], float(scores[doc]), round(confidence, 4)))
        return tuple(hits)


class KnowledgeBase:
    """All articles of a store; builds (once) the index of what is served on a given day."""

    def __init__(self, articles: Sequence[Article], names: Iterable[str] = (),
                 brand: str = "") -> None:
        self.articles = tuple(articles)
        self._names = frozenset(w for name in names for w in tokenize(name))
        self._brand = brand
        self._indexes: dict[tuple[str, ...], Index] = {}

    def index_for(self, day: dt.date) -> Index:
        served = serve_articles(self.articles, day)
        key = tuple(a.id for a in served)
        if key not in self._indexes:
            self._indexes[key] = Index(served, self._names, self._brand)
        return self._indexes[key]
