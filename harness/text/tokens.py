"""Words as retrieval, claims and the reference model compare them: lower-cased, stemmed
(PyStemmer's English Snowball), without stop words and chat filler ("hi", "thanks", "wondering").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

__all__ = ["STOPWORDS", "fold", "stem", "tokenize"]

# Words that carry no topic in a support chat, on top of the usual English stop words.
_CHAT_WORDS = {
    "hi", "hello", "hey", "thanks", "thank", "please", "pls", "want", "wanted", "know", "get",
    "got", "would", "could", "also", "us", "can", "like", "need", "question", "quick", "just",
    "ok", "okay", "yes", "yeah", "guys", "team", "help", "tell", "im", "ive", "id", "dont",
    "cant", "wont", "didnt", "doesnt", "isnt", "one", "still", "much", "many", "long", "way",
    "let", "really", "go", "going", "make", "see", "say", "said", "anyone", "something",
    "bought", "last", "week", "yesterday", "ago", "recently", "today", "sure", "wondering",
    "gotten", "think", "thinking", "don", "won", "didn", "doesn", "isn", "wasn", "hasn",
}
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | _CHAT_WORDS
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_stemmer = Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Accents off, one character for one ("Sérum Lumière" -> "Serum Lumiere"): a customer
    who types "serum lumiere" means the same words, and offsets into the text stay right.
    ASCII text (most of it) is returned as it is, without a look at each character."""
    if text.isascii():
        return text
    return "".join(unicodedata.normalize("NFKD", c)[0] if ord(c) > 127 else c for c in text)


# Snowball keeps a word's derived forms apart where a customer and an article differ:
# "pregnant" / "pregnancy", "allergic" / "allergy". Folding those endings makes them one word.
_DERIVED = re.compile(r"(?<=[a-z]{3})(?:an[ct]|en[ct])$|(?<=[a-z]{4}[^aeiou])i$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmed = _stemmer.stemWord(word)
    return _DERIVED.sub(lambda m: m.group(0)[:2] if len(m.group(0)) == 3 else "", stemmed)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed words, without stop words: the unit of retrieval and overlap."""
    return list(_tokens(text))


# A sale day's name is one word: "Black Friday" has nothing of a "Monday to Friday" opening
# time, and the KB that never says "Black Friday" must not seem to by its "Friday".
_SALE_DAYS = re.compile(r"\b(black|cyber|green|small business)[\s-]+(friday|monday|saturday|"
                        r"week)\b")
_ELIDED = re.compile(r"^(?:d|l|qu)'(?=[a-z])")  # "Nuit d'Orangerie", "L'Atelier": the name


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    """Kept for the texts graded again and again: an article's body and sentences are
    tokenized for every reply checked against them (200,000 conversations: millions of
    times). Customer texts come and go through the least recently used end."""
    lowered = _SALE_DAYS.sub(lambda m: m.group(1) + m.group(2),
                             fold(text.lower().replace("\u2019", "'")))
    words = (_ELIDED.sub("", w).split("'")[0] for w in _WORD.findall(lowered))
    stems = (stem(w) for w in words if (w not in STOPWORDS and len(w) > 1) or w.isdigit())
    # a stop word spelled without its apostrophe or inflected ("whats", "getting") is one
    return tuple(s for s in stems if s not in STOPWORDS or s.isdigit())
