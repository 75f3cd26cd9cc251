"""The rules every report shares, written once: so the terminal, Markdown and HTML reports can
never order the review queue differently or name a different worst grade."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.grading.rubric import DIMENSIONS, VALUES
from harness.pipeline.record import CaseResult
from harness.regression.baseline import Entry

__all__ = [
    "KINDS", "SuiteScore", "blocking_kind", "blocking_kinds", "evidence", "gate_headline",
    "latency", "pass_hats", "review_queue", "slowest", "suite_scores", "worst_reason",
]

KINDS = {  # why a case blocks the gate: singular, plural
    "worse": ("case got worse", "cases got worse"),
    "error": ("error", "errors"),
    "target": ("target does not pass", "targets do not pass"),
    "new": ("new case does not pass", "new cases do not pass"),
    "other": ("blocking case", "blocking cases"),
}


def latency(result: CaseResult) -> float:
    """Seconds the model took for the case (all samples); 0 for cached or offline replies."""
    return round(sum(r.latency_s for r in result.runs), 3)


def pass_hats(entry: Entry | None) -> str:
    """"pass^1 80%, pass^5 33%" for a case run with --repeat K: how often one customer, and a
    customer asking K times, gets a reply that passes everything; "" for a single sample."""
    if entry is None:
        return ""
    shown = [(k, entry.pass_hat(k)) for k in sorted({1, entry.samples})]
    return ", ".join(f"pass^{k} {value:.0%}" for k, value in shown if value is not None)


def slowest(cases: Iterable[CaseResult], n: int = 3) -> list[CaseResult]:
    timed = [c for c in cases if latency(c) > 0 and c.run is not None
             and not c.run.model.startswith("reference/")]  # the offline model: not a server
    return sorted(timed, key=lambda c: (-latency(c), c.case_id))[:n]


def worst_reason(entry: Entry) -> tuple[str, str, str] | None:
    """(dimension, grade, reason) of the lowest grade, ties broken by dimension order."""
    below = [n for n in DIMENSIONS if n in entry.grades and entry.grades[n] != "pass"]
    if not below:
        return None
    name = min(below, key=lambda n: VALUES[entry.grades[n]])
    return name, entry.grades[name], entry.reasons.get(name, "")


def review_queue(cases: Iterable[CaseResult]) -> list[CaseResult]:
    """The cases for the weekly review, worst score first, then by case id."""
    queued = [c for c in cases if c.entry is not None and c.entry.review]
    return sorted(queued, key=lambda c: (c.entry.score if c.entry else 0.0, c.case_id))


def evidence(result: CaseResult, fields: Iterable[str] = DIMENSIONS) -> str:
    """The part of the reply the first non-passing dimension's reason is about."""
    if result.graded is not None:
        for name in sorted(fields, key=lambda n: VALUES.get(
                result.graded.grades[n].grade if n in result.graded.grades else "pass", 1)):
            dimension = result.graded.grades.get(name)
            if dimension is not None and dimension.grade != "pass" and dimension.excerpt:
                return dimension.excerpt
    return result.entry.reply if result.entry else ""


def blocking_kind(result: CaseResult) -> str | None:
    """Why a case blocks the gate, in one word; None when it does not."""
    verdict, entry = result.verdict, result.entry
    if verdict is None or verdict.status != "fail":
        return None
    if entry is not None and entry.error:
        return "error"
    if verdict.target:
        return "target"
    change = result.comparison.change
    return change if change in ("worse", "new") else "other"


def blocking_kinds(cases: Iterable[CaseResult]) -> Counter[str]:
    return Counter(kind for c in cases if (kind := blocking_kind(c)))


def gate_headline(passed: bool, kinds: Counter[str], marks: tuple[str, str] = ("✅", "❌")) -> str:
    """The verdict in one line: what blocks, counted."""
    if passed:
        return f"{marks[0]} Gate passed"
    parts = [f"{kinds[k]} {KINDS[k][kinds[k] != 1]}" for k in KINDS if kinds[k]]
    return f"{marks[1]} Gate failed" + (f": {', '.join(parts)}" if parts else "")


@dataclass(frozen=True)
class SuiteScore:
    """A suite's mean score and per-dimension scores, in %, now and in the baseline."""

    suite: str
    cases: int
    passed: int
    now: Mapping[str, float | None]  # keys: "score" and each dimension
    before: Mapping[str, float | None]


def _mean(entries: Sequence[Entry], name: str) -> float | None:
    """A case that errors counts as 0 on every dimension."""
    if name == "score":
        values = [e.score for e in entries]
    else:
        values = [0.0 if e.error else VALUES[e.grades[name]] for e in entries
                  if e.error or name in e.grades]
    return round(100 * sum(values) / len(values), 1) if values else None


def suite_scores(cases: Iterable[CaseResult]) -> list[SuiteScore]:
    """Scores per suite, now and in the baseline."""
    by_suite: dict[str, list[CaseResult]] = {}
    for case in cases:
        by_suite.setdefault(case.suite, []).append(case)
    scores = []
    for suite in sorted(by_suite):
        now = [c.comparison.new for c in by_suite[suite] if c.comparison.new is not None]
        old = [c.comparison.old for c in by_suite[suite] if c.comparison.old is not None]
        names = ("score", *DIMENSIONS)
        scores.append(SuiteScore(suite, len(now), sum(e.passed for e in now),
                                 {k: _mean(now, k) for k in names},
                                 {k: _mean(old, k) for k in names}))
    return scores
