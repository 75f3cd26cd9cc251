"""Sentences of a reply or an article, the one splitter of the project.

Articles and LLM replies are Markdown: headings, bullets, numbered steps, bold, tables. A line
is never joined to the next (a bullet is a sentence of its own); inside a line, a sentence ends
at ".", "!" or "?" followed by a space and a capital, a digit or a quote, except after common
abbreviations ("e.g.", "approx.", "St.") and inside numbers ("$4.95").
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["BOLD_LINE", "HEADING_LINE", "TABLE_ROW", "TABLE_RULE", "plain_text", "sentences",
           "strip_markup", "unwrap"]

_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+\u2022\u2013\u2014]\s+|\d{1,2}[.)]\s+|"
                          r"\[[ xX]\]\s+)+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`|~~)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$")  # the line under a table's header
_ABBREVIATIONS = ("e.g", "i.e", "etc", "approx", "vs", "st", "no", "mr", "mrs", "ms", "dr",
                  "inc", "ltd", "co", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                  "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                  "u.s", "u.k", "a.m", "p.m")
_END = re.compile(r"(?<=[.!?])[\"')\]\u201d\u2019]*\s+"
                  r"(?=[\"'(\[\u201c\u2018]*[A-Z0-9$\u00a3\u20ac])")


_BLOCK_LINE = re.compile(r"^\s*(?:[-*+\u2022]\s|\d{1,3}[.)]\s|#|\||>|```)")
HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
BOLD_LINE = re.compile(r"^\s*\*\*([^*]+)\*\*:?\s*$")


def unwrap(body: str) -> list[str]:
    """An article's lines with hard-wrapped paragraphs joined: a sentence that the writer's
    editor broke at 100 characters is still one sentence. Headings, list items and table rows
    start lines of their own; a list item's wrapped continuation joins it."""
    lines: list[str] = []
    for line in body.splitlines():
        joinable = (lines and lines[-1].strip() and line.strip() and not _BLOCK_LINE.match(line)
                    and not HEADING_LINE.match(lines[-1]) and not TABLE_ROW.match(lines[-1])
                    and not BOLD_LINE.match(lines[-1]))
        if joinable:
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return lines


def strip_markup(line: str) -> str:
    """One line without its Markdown: bullet or heading marks, emphasis, link targets."""
    line = _LINE_MARKUP.sub("", line)
    line = _LINK.sub(r"\1", line)
    for _ in range(2):  # bold inside italics
        line = _EMPHASIS.sub(r"\2", line)
    return line.replace("|", " ").strip() if line.count("|") >= 2 else line.strip()


def plain_text(text: str) -> str:
    """The text without Markdown, line by line (tables become spaced cells)."""
    return "\n".join(strip_markup(line) for line in text.splitlines()
                     if not TABLE_RULE.match(line))


def _split_line(line: str) -> list[str]:
    parts, start = [], 0
    for match in _END.finditer(line):
        before = line[start:match.start()].rstrip(".!?\"')]\u201d\u2019")
        last = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if last.rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last):
            continue
        parts.append(line[start:match.start()].strip())
        start = match.end()
    parts.append(line[start:].strip())
    return [p for p in parts if p]


@lru_cache(maxsize=8192)
def _sentences(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for line in text.splitlines():
        if TABLE_RULE.match(line):
            continue
        plain = strip_markup(line)
        if plain:
            found += _split_line(plain)
    return tuple(found)


def sentences(text: str) -> list[str]:
    """The sentences of `text`, without Markdown, in order."""
    return list(_sentences(text))
