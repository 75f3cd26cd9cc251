"""Calendar changes: a case whose retrieved articles moved because a dated article entered or
left its validity window since the baseline was recorded.

Such a change is the calendar's doing, not the pull request's: the reports name the article and
its dates, so the team can tell "Black Friday content went live" from "this edit broke it".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.regression.baseline import Entry
from harness.store.schema import Article

__all__ = ["CalendarNote", "calendar_notes"]


@dataclass(frozen=True, slots=True)
class CalendarNote:
    """A dated article that a case now retrieves (or no longer retrieves)."""

    article: str
    now_retrieved: bool
    valid_from: dt.date | None
    valid_until: dt.date | None

    @property
    def window(self) -> str:
        return f"served {self.valid_from or '...'} to {self.valid_until or '...'}"

    def __str__(self) -> str:
        verb = "now retrieves" if self.now_retrieved else "no longer retrieves"
        return f"{verb} {self.article} ({self.window})"

    def to_json(self) -> dict[str, Any]:
        return {"article": self.article, "now_retrieved": self.now_retrieved,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalendarNote:
        def day(text: str | None) -> dt.date | None:
            return dt.date.fromisoformat(text) if text else None

        return cls(data["article"], bool(data["now_retrieved"]), day(data.get("valid_from")),
                   day(data.get("valid_until")))


def calendar_notes(old: Entry | None, new: Entry | None, articles: Sequence[Article]
                   ) -> tuple[CalendarNote, ...]:
    """One note per dated article that a case now retrieves or no longer retrieves."""
    if old is None or new is None or new.error:
        return ()
    by_id = {a.id: a for a in articles}
    notes = []
    for article_id in sorted(set(old.retrieved) ^ set(new.retrieved)):
        article = by_id.get(article_id)
        if article is not None and (article.valid_from or article.valid_until):
            notes.append(CalendarNote(article_id, article_id in new.retrieved,
                                      article.valid_from, article.valid_until))
    return tuple(notes)
