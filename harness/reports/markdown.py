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
from collections.abc import Callable, Sequence

from harness.grading.rubric import DIMENSIONS
from harness.pipeline.record import CaseResult, RunRecord
from harness.regression.baseline import Entry
from harness.reports.common import (
    blocking_kinds,
    evidence,
    gate_headline,
    latency,
    pass_hats,
    review_queue,
    slowest,
    suite_scores,
    worst_reason,
)
from harness.reports.tool_calls import tool_lines
from harness.text.matching import excerpt

__all__ = ["md", "render_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]|~$#])")
_MORE = "... and {n} more (see the HTML/JSON report artifacts)"
_EXCERPT = 160


def md(text: object, limit: int | None = None) -> str:
    """Input text as one inert line of Markdown (also safe inside a table cell)."""
    escaped = _SPECIAL.sub(r"\\\1", html.escape(excerpt(text, limit), quote=False))
    return escaped.replace("@", "@\u200b")  # no @mention of a GitHub user


def _counts(results: Sequence[CaseResult]) -> str:
    changes = Counter(r.comparison.change for r in results)
    moved = ", ".join(f"{changes[c]} {c}" for c in ("worse", "better", "same", "new", "removed"))
    errors = sum(1 for r in results if r.entry is not None and r.entry.error)
    known = sum(1 for r in results if r.verdict and r.verdict.status == "known-failure")
    review = sum(1 for r in results if r.entry is not None and r.entry.review)
    slow = slowest(results)
    timing = (" · slowest: " + ", ".join(f"{md(c.case_id)} {latency(c):.1f} s" for c in slow)
              if slow else "")
    return (f"{len(results)} cases: {moved} · errors: {errors} · known failures: {known}"
            f" · review queue: {review}{timing}")


def _score_move(result: CaseResult) -> str:
    old, new = result.comparison.old, result.comparison.new
    if old is None or new is None:
        return ""
    hats = pass_hats(new)
    return f"score {old.score:.2f} → {new.score:.2f}" + (f" ({hats})" if hats else "")


def _code(text: str) -> str:
    """Text for a Markdown code span: no backtick can end it early."""
    return text.replace("`", "'").replace("\n", " ")


def _worse(result: CaseResult) -> list[str]:
    entry = result.entry
    steps = [s for s in result.comparison.worse if s.field in DIMENSIONS]
    lines = [f"- **{md(result.case_id)}**: {_score_move(result)}"]
    for step in steps:
        reason = entry.reasons.get(step.field, "") if entry else ""
        lines.append(f"  - {step.field}: {md(step.old)} → **{md(step.new)}**: {md(reason)}")
    shown = evidence(result, [s.field for s in steps])
    lines += [f"  - tool step {t.step}: `{_code(t.call)}` → `{_code(t.result)}`"
              + (" (error)" if t.error else "") for t in tool_lines(result)]
    lines.append(f"  - reply: “{md(shown, _EXCERPT)}”")
    return lines


def _error(result: CaseResult) -> list[str]:
    error = result.entry.error if result.entry else ""
    return [f"- **{md(result.case_id)}**: {md(error, 300)}"]


def _better(result: CaseResult) -> list[str]:
    steps = ", ".join(f"{s.field} {md(s.old)} → {md(s.new)}" for s in result.comparison.better
                      if s.field in DIMENSIONS)
    return [f"- **{md(result.case_id)}**: {_score_move(result)}" + (f"; {steps}" if steps else "")]


def _worst_reason(entry: Entry) -> str:
    worst = worst_reason(entry)
    if worst is None:
        return "passes every dimension"
    return f"{worst[0]} {worst[1]}: {md(worst[2], _EXCERPT)}"


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
    scores = suite_scores(results)
    lines = ["", "#### Scores now vs baseline (%)"]
    for s in scores:
        lines += ["", f"**{md(s.suite)}**: {s.cases} cases, {s.passed} pass", "",
                  "| | now | baseline | change |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {_pct(s.now[name])} | {_pct(s.before[name])} |"
                  f" {_delta(s.now[name], s.before[name])} |" for name in s.now]
    return lines


def render_markdown(record: RunRecord, *, limit: int = 15) -> str:
    """The PR comment: verdict first, then what moved, the scores and the review queue."""
    results, warnings = record.cases, record.warnings

    def changed(change: str) -> list[CaseResult]:
        return [r for r in results if r.comparison.change == change
                and not (r.entry is not None and r.entry.error)]

    errors = [r for r in results if r.entry is not None and r.entry.error]
    review = review_queue(results)
    lines = [f"### {gate_headline(record.passed, blocking_kinds(results))}", "",
             _counts(results)]
    if record.notes:
        lines += ["", *[f"> {md(note)}  " for note in record.notes]]
    if record.interrupted:
        lines += ["", "> ⚠️ The run was interrupted: only the cases finished so far are here."]
    if warnings:
        lines += ["", *[f"> ⚠️ {md(w)}  " for w in warnings]]
    drift = [r for r in results if r.verdict and r.verdict.status == "calendar"]
    lines += _section("Worse", [r for r in changed("worse") if r not in drift], _worse, limit)
    lines += _section("Calendar changes (not this change's doing: re-record the baseline)",
                      drift, _worse, limit)
    lines += _section("Errors", errors, _error, limit)
    lines += _section("Better", changed("better"), _better, limit)
    lines += _section("New", changed("new"), _new, limit)
    lines += _section("Removed", changed("removed"), _removed, limit)
    lines += _scores(results)
    lines += _section("Review queue, worst first", review, _review, limit)
    return "\n".join(lines) + "\n"
