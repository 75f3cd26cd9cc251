"""The pull-request summary of a run, in Markdown: what a reviewer needs before merging.

A PR comment must stay readable on a suite of 1,000 cases, so every list is capped and points
at the HTML/JSON artifacts for the rest. Replies and reasons quote customer and KB text, which
is input: `md` escapes it so that it cannot format the comment, break a table, open HTML, turn
prices into LaTeX ($...$ is math on GitHub) or mention a GitHub user.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.grading.fixture import DIMENSIONS, VALUES
from harness.pipeline.record import CaseResult
from harness.regression.baseline import Entry
from harness.text.matching import excerpt

__all__ = [
    "SuiteScore", "blocking_kind", "gate_headline", "md", "render_markdown", "suite_scores",
]

_SPECIAL = re.compile(r"([\\`*_\[\]|~$#])")
_MORE = "... and {n} more (see the HTML/JSON report artifacts)"
_EXCERPT = 160
_KINDS = {  # why a case blocks the gate: singular, plural
    "worse": ("case got worse", "cases got worse"),
    "error": ("error", "errors"),
    "target": ("target does not pass", "targets do not pass"),
    "new": ("new case does not pass", "new cases do not pass"),
    "other": ("blocking case", "blocking cases"),
}


def md(text: object, limit: int | None = None) -> str:
    """Input text as one inert line of Markdown (also safe inside a table cell)."""
    escaped = _SPECIAL.sub(r"\\\1", html.escape(excerpt(text, limit), quote=False))
    return escaped.replace("@", "@\u200b")  # no @mention of a GitHub user


@dataclass(frozen=True)
class SuiteScore:
    """A suite's mean score and per-dimension scores, in %, now and in the baseline."""

    suite: str
    cases: int
    passed: int
    now: Mapping[str, float | None]  # keys: "score" and each dimension
    before: Mapping[str, float | None]


def _mean(entries: Sequence[Entry], name: str) -> float | None:
    """Like the terminal summary: a case that errors counts as 0 on every dimension."""
    if name == "score":
        values = [e.score for e in entries]
    else:
        values = [0.0 if e.error else VALUES[e.grades[name]] for e in entries
                  if e.error or name in e.grades]
    return round(100 * sum(values) / len(values), 1) if values else None


def suite_scores(cases: Iterable[tuple[str, Entry | None, Entry | None]]) -> list[SuiteScore]:
    """Scores per suite from (suite, entry now, baseline entry) of every case."""
    by_suite: dict[str, list[tuple[Entry | None, Entry | None]]] = {}
    for suite, new, old in cases:
        by_suite.setdefault(suite, []).append((new, old))
    scores = []
    for suite in sorted(by_suite):
        now = [n for n, _ in by_suite[suite] if n is not None]
        old = [o for _, o in by_suite[suite] if o is not None]
        names = ("score", *DIMENSIONS)
        scores.append(SuiteScore(
            suite, len(now), sum(e.passed for e in now),
            {k: _mean(now, k) for k in names}, {k: _mean(old, k) for k in names}))
    return scores


def blocking_kind(status: str | None, change: str, *, target: bool, error: bool) -> str | None:
    """Why a case blocks the gate, in one word; None when it does not."""
    if status != "fail":
        return None
    if error:
        return "error"
    if target:
        return "target"
    return change if change in ("worse", "new") else "other"


def gate_headline(passed: bool, kinds: Counter[str], marks: tuple[str, str] = ("✅", "❌")) -> str:
    """The verdict in one line: what blocks, counted."""
    if passed:
        return f"{marks[0]} Gate passed"
    parts = [f"{kinds[k]} {_KINDS[k][kinds[k] != 1]}" for k in _KINDS if kinds[k]]
    return f"{marks[1]} Gate failed" + (f": {', '.join(parts)}" if parts else "")


def _kinds(results: Sequence[CaseResult]) -> Counter[str]:
    return Counter(
        kind for r in results
        if (kind := blocking_kind(r.verdict.status if r.verdict else None, r.comparison.change,
                                  target=bool(r.verdict and r.verdict.target),
                                  error=bool(r.entry and r.entry.error))))


def _counts(results: Sequence[CaseResult]) -> str:
    changes = Counter(r.comparison.change for r in results)
    moved = ", ".join(f"{changes[c]} {c}" for c in ("worse", "better", "same", "new", "removed"))
    errors = sum(1 for r in results if r.entry is not None and r.entry.error)
    known = sum(1 for r in results if r.verdict and r.verdict.status == "known-failure")
    review = sum(1 for r in results if r.entry is not None and r.entry.review)
    return (f"{len(results)} cases: {moved} · errors: {errors} · known failures: {known}"
            f" · review queue: {review}")


def _evidence(result: CaseResult, fields: Iterable[str]) -> str:
    """The part of the reply the first dropped dimension's reason is about."""
    if result.graded is not None:
        for name in fields:
            dimension = result.graded.grades.get(name)
            if dimension is not None and dimension.excerpt:
                return dimension.excerpt
    return result.entry.reply if result.entry else ""


def _score_move(result: CaseResult) -> str:
    old, new = result.comparison.old, result.comparison.new
    if old is None or new is None:
        return ""
    return f"score {old.score:.2f} → {new.score:.2f}"


def _worse(result: CaseResult) -> list[str]:
    entry = result.entry
    steps = [s for s in result.comparison.worse if s.field in DIMENSIONS]
    lines = [f"- **{md(result.case_id)}**: {_score_move(result)}"]
    for step in steps:
        reason = entry.reasons.get(step.field, "") if entry else ""
        lines.append(f"  - {step.field}: {md(step.old)} → **{md(step.new)}**: {md(reason)}")
    evidence = _evidence(result, [s.field for s in steps])
    lines.append(f"  - reply: “{md(evidence, _EXCERPT)}”")
    return lines


def _error(result: CaseResult) -> list[str]:
    error = result.entry.error if result.entry else ""
    return [f"- **{md(result.case_id)}**: {md(error, 300)}"]


def _better(result: CaseResult) -> list[str]:
    steps = ", ".join(f"{s.field} {md(s.old)} → {md(s.new)}" for s in result.comparison.better
                      if s.field in DIMENSIONS)
    return [f"- **{md(result.case_id)}**: {_score_move(result)}" + (f"; {steps}" if steps else "")]


def _worst_reason(entry: Entry) -> str:
    for name in sorted(entry.grades, key=lambda n: (VALUES[entry.grades[n]], n)):
        if entry.grades[name] != "pass":
            return f"{name} {entry.grades[name]}: {md(entry.reasons.get(name, ''), _EXCERPT)}"
    return "passes every dimension"


def _new(result: CaseResult) -> list[str]:
    entry = result.entry
    assert entry is not None  # a new case has an entry now
    return [f"- **{md(result.case_id)}**: score {entry.score:.2f}, {_worst_reason(entry)}"]


def _removed(result: CaseResult) -> list[str]:
    return [f"- **{md(result.case_id)}**: in the baseline, no fixture any more"]


def _review(result: CaseResult) -> list[str]:
    entry = result.entry
    assert entry is not None
    why = f"error: {md(entry.error, _EXCERPT)}" if entry.error else _worst_reason(entry)
    return [f"- **{md(result.case_id)}** {entry.score:.2f}: {why}"]


def _section(title: str, rows: Sequence[CaseResult], item: Callable[[CaseResult], list[str]],
             limit: int) -> list[str]:
    if not rows:
        return []
    lines = ["", f"#### {title} ({len(rows)})", ""]
    for row in rows[:limit]:
        lines += item(row)
    if len(rows) > limit:
        lines.append(f"- {_MORE.format(n=len(rows) - limit)}")
    return lines


def _delta(now: float | None, before: float | None) -> str:
    if now is None or before is None or round(now - before, 1) == 0:
        return ""
    change = f"{now - before:+.1f}"
    return f"**{change}**" if now < before else change


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _scores(results: Sequence[CaseResult]) -> list[str]:
    scores = suite_scores((r.suite, r.comparison.new, r.comparison.old) for r in results)
    lines = ["", "#### Scores now vs baseline (%)"]
    for s in scores:
        lines += ["", f"**{md(s.suite)}**: {s.cases} cases, {s.passed} pass", "",
                  "| | now | baseline | change |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {_pct(s.now[name])} | {_pct(s.before[name])} |"
                  f" {_delta(s.now[name], s.before[name])} |" for name in s.now]
    return lines


def render_markdown(
    results: Sequence[CaseResult], *, gate_passed: bool, warnings: Sequence[str] = (),
    limit: int = 15,
) -> str:
    """The PR comment: verdict first, then what moved, the scores and the review queue."""
    def changed(change: str) -> list[CaseResult]:
        return [r for r in results if r.comparison.change == change
                and not (r.entry is not None and r.entry.error)]

    errors = [r for r in results if r.entry is not None and r.entry.error]
    review = sorted((r for r in results if r.entry is not None and r.entry.review),
                    key=lambda r: (r.entry.score if r.entry else 0.0, r.case_id))
    lines = [f"### {gate_headline(gate_passed, _kinds(results))}", "", _counts(results)]
    if warnings:
        lines += ["", *[f"> ⚠️ {md(w)}  " for w in warnings]]
    lines += _section("Worse", changed("worse"), _worse, limit)
    lines += _section("Errors", errors, _error, limit)
    lines += _section("Better", changed("better"), _better, limit)
    lines += _section("New", changed("new"), _new, limit)
    lines += _section("Removed", changed("removed"), _removed, limit)
    lines += _scores(results)
    lines += _section("Review queue, worst first", review, _review, limit)
    return "\n".join(lines) + "\n"
