"""`harness review --week 2026-W48`: the weekly coaching review, from the history store.

The week's scored conversations (`harness score`) are summed up the way the weekly review
meeting reads them (see the coaching practice the project serves):

1. automated resolution (resolved by the AI alone, with no problem of resolution) vs last
   week, flagged when it drops more than 2 points;
2. escalations (a person took over) by topic, with why;
3. the 10 worst conversations, with why;
4. KB gaps: customer questions no served article covered well (retrieval confidence below
   agent.yaml's `escalation.min_confidence`, or its default);
5. each rubric dimension vs its rolling average over the 4 weeks before, flagged when it is
   more than 3 points below (weeks without data are left out of the average);
6. the 3-5 changes the team decides on: an empty numbered list to fill in.

It is written as Markdown (to commit beside the store, with the team's list filled in) and
as a self-contained HTML page (`review_page`). Weeks are ISO weeks of `started_at`, in UTC.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.history import DIMENSIONS, History
from harness.store.schema import DEFAULT_MIN_CONFIDENCE

__all__ = ["Trend", "WeeklyReview", "build_review", "kept_changes", "parse_week"]

RESOLUTION_DROP = 2.0  # points
DIMENSION_DROP = 3.0  # points below the rolling average
ROLLING_WEEKS = 4
TREND_WEEKS = 8  # shown in the chart
WORST = 10
GAPS_SHOWN = 20
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
_DAY = dt.timedelta(days=1)


def parse_week(text: str) -> dt.date:
    """The Monday of ISO week `YYYY-Www`."""
    match = _WEEK.match(text.strip())
    try:
        if not match:
            raise ValueError
        return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise HarnessError(f"--week {text!r}: expected an ISO week like 2026-W48") from None


def week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time())
    return start, start + 7 * _DAY


@dataclass(frozen=True)
class Trend:
    """A percentage this week against what it is compared with (last week, or an average)."""

    name: str
    now: float | None
    before: float | None
    weeks: int = 1  # weeks with data in `before`
    limit: float = DIMENSION_DROP

    @property
    def change(self) -> float | None:
        return None if self.now is None or self.before is None else self.now - self.before

    @property
    def alert(self) -> bool:
        return self.change is not None and self.change < -self.limit


@dataclass(frozen=True)
class Escalations:
    topic: str
    count: int
    reasons: Mapping[str, int]


@dataclass(frozen=True)
class WeeklyReview:
    week: str
    monday: dt.date
    count: int
    automated: int
    resolution: Trend
    escalated: int
    escalations: tuple[Escalations, ...]
    worst: tuple[Mapping[str, Any], ...]
    gaps_total: int
    gaps: tuple[Mapping[str, Any], ...]
    gap_below: float
    dimensions: tuple[Trend, ...]
    series: Mapping[str, tuple[float | None, ...]]  # name -> one value per week of `weeks`
    weeks: tuple[str, ...]
    made_with: Mapping[str, Any] | None = None
    changes: tuple[str, ...] = field(default=("",) * 5)

    @property
    def sunday(self) -> dt.date:
        return self.monday + 6 * _DAY


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _rates(totals: Mapping[str, Any]) -> dict[str, float | None]:
    count = totals["count"]
    rates = {name: _percent(totals[name]) if count else None for name in DIMENSIONS}
    rates["score"] = _percent(totals["score"]) if count else None
    rates["automated"] = _percent(totals["automated"] / count) if count else None
    return rates


def _average(values: list[float | None]) -> tuple[float | None, int]:
    known = [v for v in values if v is not None]
    return (round(sum(known) / len(known), 1), len(known)) if known else (None, 0)


def _why(grades: Mapping[str, str], reasons: Mapping[str, str]) -> str:
    failing = sorted((n for n in grades if grades[n] != "pass"), key=lambda n: grades[n] != "fail")
    return "; ".join(f"{name} {grades[name]}: {reasons.get(name, '')}" for name in failing)


def _first_customer(messages: list[Mapping[str, str]]) -> str:
    return next((m["text"] for m in messages if m.get("role") == "customer"), "")


def build_review(history: History, monday: dt.date,
                 gap_below: float = DEFAULT_MIN_CONFIDENCE) -> WeeklyReview:
    """Everything the review shows, read from the history (queries, no whole-table reads)."""
    mondays = [monday - 7 * _DAY * back for back in range(TREND_WEEKS - 1, -1, -1)]
    rates = [_rates(history.week_totals(*_bounds(m))) for m in mondays]
    now, last = rates[-1], rates[-2]
    start, end = _bounds(monday)
    totals = history.week_totals(start, end)
    if not totals["count"]:
        raise HarnessError(f"no scored conversation of {week_label(monday)} in the history"
                           f" ({history.shown}); run `harness score EXPORT.jsonl` first")
    trends = []
    for name in (*DIMENSIONS, "score"):
        average, weeks = _average([r[name] for r in rates[-1 - ROLLING_WEEKS:-1]])
        trends.append(Trend(name if name != "score" else "overall score", now[name], average,
                            weeks))
    gaps_total, gap_rows = history.gaps(start, end, GAPS_SHOWN)
    return WeeklyReview(
        week=week_label(monday), monday=monday, count=totals["count"],
        automated=totals["automated"],
        resolution=Trend("automated resolution", now["automated"], last["automated"],
                         limit=RESOLUTION_DROP),
        escalated=totals["escalated"], escalations=_escalations(history, start, end),
        worst=tuple({**row, "why": _why(row["grades"], row["reasons"]),
                     "asked": _first_customer(row["messages"])}
                    for row in history.worst(start, end, WORST)),
        gaps_total=gaps_total,
        gaps=tuple({**gap, "conversation": row["id"]} for row in gap_rows
                   for gap in row["gaps"])[:GAPS_SHOWN],
        gap_below=gap_below, dimensions=tuple(trends),
        series={name: tuple(r[name] for r in rates) for name in (*DIMENSIONS, "automated")},
        weeks=tuple(week_label(m) for m in mondays),
        made_with=history.provenance_of_week(start, end),
    )


def _escalations(history: History, start: dt.datetime, end: dt.datetime
                 ) -> tuple[Escalations, ...]:
    topics: dict[str, dict[str, int]] = {}
    for topic, reason, count in history.escalations(start, end):
        topics.setdefault(topic, {})[reason] = count
    found = [Escalations(t, sum(r.values()), r) for t, r in topics.items()]
    return tuple(sorted(found, key=lambda e: (-e.count, e.topic)))


# -- the command -----------------------------------------------------------------------------

_CHANGES_HEADING = re.compile(r"^## 6\. Changes we decided on\b.*$", re.MULTILINE)
_ITEM = re.compile(r"^\s*\d+\.[ \t]*(.*)$", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)")


def _plain(item: str) -> str:
    """An item as the team typed it: the Markdown and HTML escaping of the page undone."""
    return html.unescape(_ESCAPED.sub(r"\1", item)).replace("\u200b", "").strip()


def kept_changes(path: Path) -> tuple[str, ...] | None:
    """The team's filled-in list from an earlier Markdown review, to keep when regenerating.

    The section is the last line that *starts* with its heading: customer text is quoted
    escaped and never at the start of a line, so a message holding the heading cannot take
    the section over."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    headings = list(_CHANGES_HEADING.finditer(text))
    if not headings:
        return None
    items = tuple(_plain(item) for item in _ITEM.findall(text[headings[-1].end():]))
    return items if any(items) else None








