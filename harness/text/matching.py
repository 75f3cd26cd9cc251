"""How a phrase of a fixture or agent.yaml is found in text (FORMATS.md, "Fixture").

A plain phrase matches case-insensitively with runs of white space treated as one space;
`/.../` is a Python regular expression, also case-insensitive. Typographic quotes and dashes
count as their plain forms, so a reply's "don't" matches a fixture's "don't".
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["excerpt", "find_phrase", "find_words", "is_regex", "normalize", "phrase_in"]

_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_TYPOGRAPHY)).strip()


def is_regex(phrase: str) -> bool:
    return len(phrase) >= 2 and phrase.startswith("/") and phrase.endswith("/")


@lru_cache(maxsize=4096)
def _compile(phrase: str) -> re.Pattern[str]:
    if is_regex(phrase):
        return re.compile(phrase[1:-1], re.IGNORECASE)
    return re.compile(re.escape(normalize(phrase)), re.IGNORECASE)


def find_phrase(phrase: str, text: str) -> re.Match[str] | None:
    """The first place `phrase` occurs in `text`, or None."""
    return _compile(phrase).search(normalize(text))


@lru_cache(maxsize=4096)
def _compile_words(phrase: str) -> re.Pattern[str]:
    if is_regex(phrase):
        return _compile(phrase)
    plain = normalize(phrase)
    start = r"(?<![^\W_])" if plain[:1].isalnum() else ""
    end = r"(?![^\W_])" if plain[-1:].isalnum() else ""
    return re.compile(start + re.escape(plain) + end, re.IGNORECASE)


def find_words(phrase: str, text: str) -> re.Match[str] | None:
    """Like `find_phrase`, but a plain phrase only as whole words: a banned "hey" is not in
    "They will reply", a banned "cheap" not in "cheaper"."""
    return _compile_words(phrase).search(normalize(text))


def phrase_in(phrase: str, text: str) -> bool:
    return find_phrase(phrase, text) is not None


def excerpt(text: object, limit: int | None = None) -> str:
    """Text on one line, cut to `limit` characters with "..." when longer: for reports."""
    flat = " ".join(str(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."
