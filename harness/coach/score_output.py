"""What `harness score` shows and writes: the summary and table (tabulate), the --json list.

They consume scored conversations one at a time and keep no more than the rows they show:
every row of a small export, the worst N of a large one (a heap).
"""

from __future__ import annotations

import heapq
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tabulate import tabulate

from harness.coach.production import Scored
from harness.grading.rubric import VALUES

__all__ = ["JsonList", "Tally", "readable", "table", "why"]

SHOW_ALL_UP_TO = 30  # conversations; beyond that the table shows the worst N
_SHORT = {"accuracy": "acc", "relevance": "rel", "tone": "tone", "resolution": "res"}


@dataclass
class Tally:
    """Totals for the summary, every row of a small export, the worst rows of a large one."""

    worst_n: int = 10
    count: int = 0
    automated: int = 0
    escalated: int = 0
    review: int = 0
    score: float = 0.0
    dimensions: dict[str, list[float]] = field(default_factory=dict)  # name -> [sum, judged]
    rows: list[Scored] = field(default_factory=list)
    _worst: list[tuple[float, int, Scored]] = field(default_factory=list)

    def add(self, scored: Scored) -> None:
        self.count += 1
        self.automated += scored.automated
        self.escalated += scored.outcome == "escalate"
        self.review += scored.review
        self.score += scored.score
        for name, dimension in scored.grades.items():
            total = self.dimensions.setdefault(name, [0.0, 0])
            total[0] += VALUES[dimension.grade]
            total[1] += 1
        if len(self.rows) <= SHOW_ALL_UP_TO:
            self.rows.append(scored)
        heapq.heappush(self._worst, (-scored.score, -self.count, scored))
        if len(self._worst) > self.worst_n:
            heapq.heappop(self._worst)

    @property
    def worst(self) -> list[Scored]:
        return [s for _, _, s in sorted(self._worst, key=lambda item: (-item[0], -item[1]))]

    def lines(self, source: str, skipped: int) -> list[str]:
        if not self.count:
            return [f"no conversation scored from {source} ({skipped} line(s) skipped)"]
        dims = "  ".join(f"{name} {100 * total / n:.1f}" + ("" if n == self.count else
                                                          f" (judged in {n})")
                         for name, (total, n) in self.dimensions.items())
        lines = [
            f"{self.count} conversation(s) scored from {source}"
            + (f"; {skipped} line(s) skipped" if skipped else ""),
            f"score {100 * self.score / self.count:.1f}%  {dims}",
            f"resolved by the AI alone: {self.automated} ({_share(self.automated, self.count)});"
            f" handed to a person: {self.escalated}; review queue: {self.review}",
            "",
        ]
        small = self.count <= SHOW_ALL_UP_TO
        shown = self.rows if small else self.worst
        if not small:
            lines.append(f"the {len(shown)} worst of {self.count} (--worst N shows more):")
        return [*lines, table(shown)]


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _letters(scored: Scored) -> str:
    return " ".join(f"{short}:{scored.grades[name].grade[:4] if name in scored.grades else '-'}"
                    for name, short in _SHORT.items())


def why(scored: Scored, width: int = 80) -> str:
    """The reasons of the dimensions below pass, failures first, cut to `width`."""
    failing = sorted(((n, d) for n, d in scored.grades.items() if d.grade != "pass"),
                     key=lambda item: item[1].grade != "fail")
    text = " | ".join(f"{name}: {' '.join(d.reason.split())}" for name, d in failing)
    return text if len(text) <= width else text[: width - 3] + "..."


def table(rows: list[Scored]) -> str:
    body = [[s.id, s.started_at.strftime("%Y-%m-%d %H:%M"), s.topic or "-", s.outcome,
             f"{s.score:.2f}", "yes" if s.review else "", _letters(s), why(s)] for s in rows]
    return tabulate(body, headers=["conversation", "started (UTC)", "topic", "outcome", "score",
                                   "review", "grades", "why"],
                    tablefmt="simple", disable_numparse=True)


def readable(path: Path) -> None:
    """Give a file written through a private temporary file the usual permissions (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


class JsonList:
    """A JSON list written one item at a time to a temporary file, renamed when complete."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.path, self._temporary = path, Path(name)
        self._handle: TextIO = os.fdopen(fd, "w", encoding="utf-8")
        self._first = True
        self._handle.write("[")

    def add(self, item: Mapping[str, Any]) -> None:
        self._handle.write(("\n  " if self._first else ",\n  ")
                           + json.dumps(item, ensure_ascii=False, sort_keys=True))
        self._first = False

    def close(self) -> None:
        self._handle.write("\n]\n" if not self._first else "]\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temporary, self.path)
        readable(self.path)

    def abort(self) -> None:
        self._handle.close()
        self._temporary.unlink(missing_ok=True)
