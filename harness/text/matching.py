"""How a phrase of a fixture or agent.yaml is found in text (FORMATS.md, "Fixture").

A plain phrase matches case-insensitively with runs of white space treated as one space;
`/.../` is a Python regular expression, also case-insensitive. Typographic quotes and dashes
count as their plain forms, so a reply's "don't" matches a fixture's "don't".

Patterns come from pull requests, so they run on the `regex` engine with a time limit: a pattern
that backtracks catastrophically raises `PatternTimeout` (one failed case), never hangs CI, and
`slow_pattern` lets `harness check` find such a pattern before any run.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex

from harness.errors import HarnessError

__all__ = [
    "PATTERN_SECONDS", "PatternTimeout", "excerpt", "find_phrase", "is_regex", "normalize",
    "phrase_in", "slow_pattern",
]

PATTERN_SECONDS = 2.0  # one search of one reply; a sane pattern takes microseconds
_PROBE_SECONDS = 0.2

_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Typography plain, white space single. Kept: a text is normalized once for each of the
    escalation rules' phrases looked up in it."""
    return _SPACES.sub(" ", text.translate(_TYPOGRAPHY)).strip()


def is_regex(phrase: str) -> bool:
    return len(phrase) >= 2 and phrase.startswith("/") and phrase.endswith("/")


class PatternTimeout(HarnessError):
    """A `/.../` phrase took longer than the limit on one text: it backtracks catastrophically."""


@lru_cache(maxsize=4096)
def _compile(phrase: str) -> regex.Pattern[str]:
    if is_regex(phrase):
        return regex.compile(phrase[1:-1], regex.IGNORECASE | regex.VERSION0)
    return regex.compile(re.escape(normalize(phrase)), regex.IGNORECASE | regex.VERSION0)


def _search(phrase: str, text: str, seconds: float) -> regex.Match[str] | None:
    """A plain phrase is a literal, which cannot backtrack: it runs without the time limit,
    whose clock costs a literal search 10 times over (3.4 us against 0.3 us a search)."""
    try:
        return _compile(phrase).search(text, timeout=seconds if is_regex(phrase) else None)
    except TimeoutError:
        raise PatternTimeout(
            f"the pattern {phrase} took over {seconds:g} s on a text of {len(text)} characters;"
            " it backtracks catastrophically (nested repeats such as (a+)+ or (a|a)*):"
            " simplify it") from None


def find_phrase(phrase: str, text: str) -> regex.Match[str] | None:
    """The first place `phrase` occurs in `text`, or None; PatternTimeout past the limit."""
    return _search(phrase, normalize(text), PATTERN_SECONDS)


def _probes(pattern: str) -> list[str]:
    """Texts that make a backtracking pattern explode: long runs of one character (those of
    the pattern's own literals included), words and spaces, each followed by a misfit."""
    chars = {"a", "x", "1", " ", ".", "-", "\n"} | {c for c in pattern if c.isalnum()}
    runs = [c * 48 for c in sorted(chars)] + ["ab " * 24, "a1" * 24, "a." * 24, "a\n" * 24]
    return [run + end for run in runs for end in ("!", "\x00")]


def slow_pattern(phrase: str) -> str | None:
    """Why a `/.../` phrase is dangerous (it exceeds a short limit on a probe), or None."""
    if not is_regex(phrase):
        return None
    for probe in _probes(phrase[1:-1]):
        try:
            _compile(phrase).search(probe, timeout=_PROBE_SECONDS)
        except TimeoutError:
            return (f"the pattern {phrase} took over {_PROBE_SECONDS:g} s on a"
                    f" {len(probe)}-character text ({probe[:12]!r}...): it backtracks"
                    " catastrophically (nested repeats such as (a+)+ or (a|a)*); simplify it")
    return None


def phrase_in(phrase: str, text: str) -> bool:
    return find_phrase(phrase, text) is not None


def excerpt(text: object, limit: int | None = None) -> str:
    """Text on one line, cut to `limit` characters with "..." when longer: for reports."""
    flat = " ".join(str(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."
