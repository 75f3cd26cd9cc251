"""Whether a reply draws on an article: the one rule fixture grading and production scoring
share. A reply draws on an article when one of its sentences (of three or more key words) is
mostly made of the article's words."""

from __future__ import annotations

from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["DRAWN_ON", "drawn_share", "draws_on"]

DRAWN_ON = 0.5  # share of a reply sentence's words found in an article for it to "draw on" it


def drawn_share(reply: str, body: str) -> float:
    """The largest share of a reply sentence's key words (3 or more) that the article holds."""
    article_words = set(tokenize(body))
    shares = [len(words & article_words) / len(words)
              for words in (set(tokenize(s)) for s in sentences(reply)) if len(words) >= 3]
    return max(shares, default=0.0)


def draws_on(reply: str, body: str) -> bool:
    return drawn_share(reply, body) >= DRAWN_ON
