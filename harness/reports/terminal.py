"""The terminal: a failing item's text, the live progress line and the run's summary.

The summary is read by a person at the end of a CI log or in a terminal, so it fits the
terminal's width, shows only what changed or fails (every case with `-v`), and ends with the
verdict, coloured on a terminal. It renders a `RunRecord`; it runs and grades nothing.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence
from typing import Any

from harness.grading.rubric import DIMENSIONS
from harness.pipeline.record import CaseResult, RunRecord, usage
from harness.regression.baseline import Entry
from harness.reports.common import (
    evidence,
    latency,
    pass_hats,
    review_queue,
    slowest,
    suite_scores,
    worst_reason,
)
from harness.reports.tool_calls import tool_lines
from harness.text.matching import excerpt

__all__ = ["Progress", "failure_text", "first_problem", "summary_lines"]

_EXCERPT = 160  # characters of a reply in a failure text
_SHORT = {"accuracy": "acc", "relevance": "rel", "tone": "tone", "resolution": "res"}
_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def _quoted(part: str, whole: str) -> str:
    """An excerpt of the reply in quotes, with "..." where it was cut from the whole."""
    flat, full = " ".join(part.split()), " ".join(whole.split())
    shown = excerpt(flat, _EXCERPT)
    start = full.find(flat[:40]) if flat else 0
    before = "..." if start > 0 else ""
    after = "..." if not shown.endswith("...") and start + len(flat) < len(full) else ""
    return f'"{before}{shown}{after}"'


def _steps(steps: Sequence[Any]) -> str:
    return ", ".join(f"{s.field} {s.old} -> {s.new}" for s in steps)


def failure_text(result: CaseResult) -> str:
    """A few lines for a failing item: what got worse, old grade to new, why, what improved,
    and the part of the reply the reason is about."""
    comparison, verdict, entry = result.comparison, result.verdict, result.entry
    lines = [f"{result.case_id}: {verdict.why if verdict else ''}"]
    if entry is None or entry.error:
        return "\n".join(lines)
    shown = {s.field for s in comparison.worse}
    for step in comparison.worse:
        reason = entry.reasons.get(step.field, "")
        because = f": {reason}" if reason else ""
        lines.append(f"  {step.field}: {step.old} -> {step.new}{because}")
    for name in DIMENSIONS:
        grade = entry.grades.get(name)
        if grade and grade != "pass" and name not in shown:
            lines.append(f"  {name}: {grade}: {entry.reasons.get(name, '')}")
    if comparison.worse and comparison.better:
        lines.append(f"  improved: {_steps(comparison.better)}")
    lines += [f"  seasonal content: {note}" for note in result.calendar]
    if any(r.truncated for r in result.runs):
        lines.append("  note: the reply was cut off at max_tokens (finish_reason: length)")
    lines += [f"  tool {line}" for line in tool_lines(result)]
    lines.append(f"  reply: {_quoted(evidence(result), entry.reply)}")
    return "\n".join(lines)


def first_problem(result: CaseResult) -> str:
    worst = worst_reason(result.entry) if result.entry else None
    return f"{worst[0]} {worst[1]}: {worst[2]}" if worst else ""


class Progress:
    """One live line on a terminal ("harness: 120/1000 model runs, 2 errors"); nothing when the
    output is not a terminal (a CI log wants no progress noise)."""

    def __init__(self, reporter: Any, minimum: int = 20, every_s: float = 0.2) -> None:
        writer = getattr(reporter, "_tw", None)
        self.writer = writer if writer is not None and getattr(writer, "isatty", False) else None
        self.minimum, self.every_s = minimum, every_s
        self._last = 0.0

    def __call__(self, done: int, total: int, errors: int) -> None:
        if self.writer is None or total < self.minimum:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.every_s:
            return
        self._last = now
        line = f"harness: {done}/{total} model runs" + (f", {errors} errors" if errors else "")
        end = "\n" if done >= total else ""
        self.writer.write(f"\r{line[: self.writer.fullwidth - 1]}{end}", flush=True)


def _wrap(text: str, width: int) -> list[str]:
    """A note must be read whole: wrapped to the width, never cut."""
    indent = " " * (len(text) - len(text.lstrip()) + 2)
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 3, 10)] + "..."


def _pct(now: float | None, before: float | None) -> str:
    if now is None:
        return "-"
    if before is None or round(now - before, 1) == 0:
        return f"{now:.1f}"
    return f"{now:.1f} ({now - before:+.1f})"


def _table(rows: list[list[str]], width: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    return [_fit(line, width) for line in lines]


def _scores(record: RunRecord, width: int) -> list[str]:
    rows = [["suite", "cases", "pass", "score", *(_SHORT[d] for d in DIMENSIONS)]]
    for s in suite_scores(record.cases):
        rows.append([s.suite, str(s.cases), str(s.passed), _pct(s.now["score"], s.before["score"]),
                     *(_pct(s.now[d], s.before[d]) for d in DIMENSIONS)])
    return [*_table(rows, width), "(% now; change vs baseline in brackets)"]


def _grades(entry: Entry | None) -> str:
    if entry is None:
        return "-"
    if entry.error:
        return "error"
    return " ".join(f"{_SHORT[d]}:{entry.grades.get(d, '-')[:4]}" for d in DIMENSIONS)


def _detail(result: CaseResult) -> str:
    """What moved (old grade -> new), or the error, or the worst reason."""
    entry = result.shown
    if entry is not None and entry.error:
        return entry.error
    moved = _steps(result.comparison.worse or result.comparison.better)
    if moved:
        return moved
    worst = worst_reason(entry) if entry else None
    return f"{worst[0]} {worst[1]}: {worst[2]}" if worst else ""


def _section(title: str, cases: Sequence[CaseResult], width: int) -> list[str]:
    if not cases:
        return []
    lines = [f"{title.format(n=len(cases))}:"]
    for case in cases:
        detail = _detail(case)
        lines += _wrap(f"  {case.case_id}: {detail}" if detail else f"  {case.case_id}", width)
    return lines


def _cases(record: RunRecord, verbose: bool, width: int) -> list[str]:
    """What changed or fails, by kind; with -v every case and its reply too."""
    cases = record.cases

    def kind(change: str) -> list[CaseResult]:
        return [c for c in cases if c.comparison.change == change]

    errors = [c for c in cases if c.entry is not None and c.entry.error]
    known = [c for c in cases if c.verdict and c.verdict.status == "known-failure"]
    drift = [c for c in cases if c.verdict and c.verdict.status == "calendar"]
    lines: list[str] = []
    if verbose:
        lines += [f"cases ({len(cases)}):"]
        for c in cases:
            entry = c.shown
            said = excerpt((entry.error or entry.reply) if entry else "", width)
            lines.append(_fit(f"{c.case_id}  {entry.outcome if entry else '-'}"
                              f"  {entry.score if entry else 0:.2f}  {c.comparison.change}"
                              f"  {_grades(entry)}{_hats(entry)}  {latency(c):.2f}s  {said}",
                              width))
        for c in cases:
            if c.entry is not None and c.entry.reply:
                lines.append(_fit(f"--- {c.case_id} [{c.entry.outcome}]", width))
                lines += [_fit(f"    tool {line}", width) for line in tool_lines(c)]
                lines += [f"    {line}" for line in c.entry.reply.splitlines() if line.strip()]
    lines += _section("worse ({n})", [c for c in kind("worse") if c not in drift], width)
    lines += _section("calendar changes ({n}; worse only because of the day they ran, not"
                      " this change's doing; re-record the baseline)", drift, width)
    lines += _section("errors ({n}; neither pass nor fail, they block the gate)", errors, width)
    lines += _section("better ({n})", kind("better"), width)
    lines += _section("new ({n})", kind("new"), width)
    lines += _section("removed ({n})", kind("removed"), width)
    lines += _section("known failures ({n}; failed in the baseline too)", known, width)
    return lines


def _review(record: RunRecord, width: int) -> list[str]:
    queue = review_queue(record.cases)
    if not queue:
        return []
    lines = [f"review queue ({len(queue)}, worst first):"]
    for case in queue[:10]:
        entry = case.entry
        assert entry is not None
        worst = worst_reason(entry)
        why = f"error: {entry.error}" if entry.error else (
            f"{worst[0]} {worst[1]}: {worst[2]}" if worst else "")
        lines.append(_fit(f"  {case.case_id}  {entry.score:.2f}  {why}", width))
    if len(queue) > 10:
        lines.append(f"  ... and {len(queue) - 10} more (see the JSON or HTML report)")
    return lines


def _hats(entry: Entry | None) -> str:
    hats = pass_hats(entry)
    return f"  {hats}" if hats else ""


def _flaky(record: RunRecord, width: int) -> list[str]:
    flaky = [c for c in record.cases if c.entry is not None and c.entry.flaky]
    if not flaky:
        return []
    lines = [f"flaky ({len(flaky)}; passed and failed within this run):"]
    for c in flaky:
        assert c.entry is not None
        rates = ", ".join(f"{d} {r:.0%} pass" for d, r in c.entry.pass_rates.items())
        hats = pass_hats(c.entry)
        lines.append(_fit(f"  {c.case_id}: {', '.join(c.entry.flaky)}"
                          f"{'; ' + hats if hats else ''} ({rates})", width))
    return lines


def _calendar(record: RunRecord, width: int) -> list[str]:
    """Cases that retrieve a dated article differently from the baseline, by article."""
    moved = [c for c in record.cases if c.calendar]
    if not moved:
        return []
    by_note: dict[tuple[bool, str, str], list[str]] = {}
    for case in moved:
        for note in case.calendar:
            key = (note.now_retrieved, note.article, note.window)
            by_note.setdefault(key, []).append(f"{case.case_id} [{case.comparison.change}]")
    lines = [f"seasonal content ({len(moved)} cases changed by dated articles):"]
    for (now, article, window), cases in sorted(by_note.items(), key=lambda kv: kv[0][1:]):
        verb = "now retrieved by" if now else "no longer retrieved by"
        lines += _wrap(f"  {article} ({window}) {verb}:", width)
        lines += textwrap.wrap(", ".join(cases), width, initial_indent="    ",
                               subsequent_indent="    ", break_on_hyphens=False)
    return lines


def _usage(record: RunRecord) -> list[str]:
    lines = []
    for who in ("agent", "judge"):
        if who == "judge" and not any(c.judged for c in record.cases):
            continue
        spent = usage(record.cases, who)
        cost = "unknown" if spent["cost_usd"] is None else f"${spent['cost_usd']:.4f}"
        lines.append(f"{who}: {spent['prompt_tokens']:,} prompt + "
                     f"{spent['completion_tokens']:,} completion tokens, cost {cost}")
    stats = record.stats
    took = f" in {record.model_seconds:.2f} s" if record.model_seconds is not None else ""
    lines.append(f"model calls: {stats.requests} provider requests, {stats.cache_hits} cache"
                 f" hits, {stats.retries} retries{took}")
    slow = slowest(record.cases)
    if slow:
        lines.append("slowest: " + ", ".join(f"{c.case_id} ({latency(c):.1f} s)" for c in slow))
    return lines


def _targets(record: RunRecord) -> list[str]:
    targets = [c for c in record.cases if c.verdict and c.verdict.target]
    lines = [f"target {t}: not run (deselected, or its suite was not collected)"
             for t in record.gate.unknown_targets]
    for c in targets:
        fixed = c.verdict is not None and c.verdict.status == "ok"
        lines.append(f"target {c.case_id}: {'passes' if fixed else 'does not pass'}")
    return lines


def _verdict(record: RunRecord, colour: bool) -> list[str]:
    cases = record.cases
    count = {s: sum(1 for c in cases if c.verdict and c.verdict.status == s)
             for s in ("ok", "fail", "known-failure")}
    drift = sum(1 for c in cases if c.verdict and c.verdict.status == "calendar")
    worse = sum(1 for c in cases if c.comparison.change == "worse") - drift
    errors = sum(1 for c in cases if c.entry is not None and c.entry.error)
    ran = sum(1 for c in cases if c.entry is not None)
    if record.updated:
        return [f"baseline written: {', '.join(record.updated)}",
                "hint: review the baseline diff with `git diff` and commit it with the change."]
    head = "GATE PASS" if record.passed else "GATE FAIL"
    line = (f"{head}: {ran} cases, {count['fail']} blocking, {worse} worse, {errors} errors,"
            f" {count['known-failure']} known failures")
    if drift:
        line += f", {drift} calendar changes"
    if record.interrupted:
        line += " (interrupted: only the cases finished so far)"
    if colour:
        line = f"{_BOLD}{_GREEN if record.passed else _RED}{line}{_RESET}"
    return [_hint(record, count["known-failure"], errors, count["fail"]), line]


def _hint(record: RunRecord, known: int, errors: int, blocking: int) -> str:
    cases = record.cases
    if record.passed and known:
        return "hint: a known failure can be fixed by a KB or prompt change run with --target."
    if record.passed:
        return "hint: nothing got worse; the change can ship."
    if record.gate.passed and not record.interrupted and any(
            n.startswith("baseline not written") for n in record.notes):
        return ("hint: no baseline was written (the note above says why); fix that and run"
                " --update-baseline again.")
    if errors and blocking == errors:
        return ("hint: only errors block: a fixture that cannot load names its file and line"
                " above; a provider error clears when the provider answers again (cached"
                " replies are not requested twice).")
    if any(c.comparison.change == "new" and c.verdict and c.verdict.status == "fail"
           for c in cases):
        return ("hint: fix the failing cases, or record new ones with --update-baseline once"
                " their expectations are right.")
    return ("hint: read the failures above; fix the article or prompt that made a case worse"
            " and run again.")


def summary_lines(record: RunRecord, *, verbose: bool = False, width: int = 80,
                  colour: bool = False, written: Sequence[str] = ()) -> list[str]:
    """The run's summary, the verdict last."""
    width = max(width, 40)
    lines = [*_scores(record, width), "", *_cases(record, verbose, width)]
    for part in (_review(record, width), _flaky(record, width), _calendar(record, width)):
        lines += part
    lines += ["", *_usage(record)]
    lines += [line for n in record.notes for line in _wrap(f"note: {n}", width)]
    lines += [line for w in record.warnings for line in _wrap(f"warning: {w}", width)]
    lines += _targets(record)
    lines += [line for w in written for line in _wrap(w, width)]
    lines += _verdict(record, colour)
    return lines
