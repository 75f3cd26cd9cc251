"""Reports of a finished run: the terminal summary (tabulate), failure texts and JSON.

They consume `CaseResult`s; none of them runs or grades anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.grading.fixture import DIMENSIONS, VALUES
from harness.pipeline.record import CaseResult
from harness.providers.client import CallStats
from harness.regression.baseline import Entry, write_atomic
from harness.store.loading import Store
from harness.text.matching import excerpt

__all__ = [
    "Progress", "failure_text", "seasonal_lines", "summary_lines", "write_json_report",
]

Write = Callable[[str], None]
_EXCERPT = 160  # characters of a reply in a failure text
_SHORT = {"accuracy": "acc", "relevance": "rel", "tone": "tone", "resolution": "res"}


def failure_text(result: CaseResult) -> str:
    """A few lines for a failing item: what got worse, old grade to new, why, the reply."""
    comparison, verdict, entry = result.comparison, result.verdict, result.entry
    lines = [f"{result.case_id}: {verdict.why if verdict else ''}"]
    if entry is not None and entry.error:
        return "\n".join(lines)
    shown = {s.field for s in comparison.worse}
    for step in comparison.worse:
        reason = entry.reasons.get(step.field, "") if entry else ""
        because = f": {reason}" if reason else ""
        lines.append(f"  {step.field}: {step.old} -> {step.new}{because}")
    if entry is not None:
        for name in DIMENSIONS:
            grade = entry.grades.get(name)
            if grade and grade != "pass" and name not in shown:
                lines.append(f"  {name}: {grade}: {entry.reasons.get(name, '')}")
        evidence = _evidence(result)
        lines.append(f"  reply: \"{excerpt(evidence, _EXCERPT)}\"")
    return "\n".join(lines)


def _evidence(result: CaseResult) -> str:
    """The excerpt of the reply that the worst dimension's reason is about."""
    graded = result.graded
    if graded is None:
        return result.entry.reply if result.entry else ""
    worst = sorted(graded.grades.items(), key=lambda item: VALUES[item[1].grade])
    for _, dimension in worst:
        if dimension.grade != "pass" and dimension.excerpt:
            return dimension.excerpt
    return result.entry.reply if result.entry else ""


def _mean(entries: Sequence[Entry | None], name: str | None = None) -> float | None:
    values = []
    for entry in entries:
        if entry is None:
            continue
        if name is None:
            values.append(entry.score)
        elif entry.error:
            values.append(0.0)
        elif name in entry.grades:
            values.append(VALUES[entry.grades[name]])
    return round(100 * sum(values) / len(values), 1) if values else None


def _pair(now: float | None, before: float | None) -> str:
    if now is None:
        return "-"
    return f"{now:.1f}" if before is None else f"{now:.1f} ({before:.1f})"


def suite_table(results: Sequence[CaseResult]) -> str:
    rows = []
    for suite in sorted({r.suite for r in results}):
        mine = [r for r in results if r.suite == suite]
        now = [r.comparison.new for r in mine]
        old = [r.comparison.old for r in mine if r.comparison.old is not None]
        passed = sum(1 for e in now if e is not None and e.passed)
        row = [suite, len([e for e in now if e is not None]), passed,
               _pair(_mean(now), _mean(old) if old else None)]
        row += [_pair(_mean(now, d), _mean(old, d) if old else None) for d in DIMENSIONS]
        rows.append(row)
    headers = ["suite", "cases", "passed", "score % (baseline)", *DIMENSIONS]
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def _grade_letters(entry: Entry | None) -> str:
    if entry is None:
        return "-"
    if entry.error:
        return "error"
    return " ".join(f"{_SHORT[d]}:{entry.grades.get(d, '-')[:4]}" for d in DIMENSIONS)


def cases_table(results: Sequence[CaseResult], width: int = 70) -> str:
    rows = []
    for r in results:
        entry = r.entry
        if entry is None:
            continue
        rows.append([r.case_id, entry.outcome or "error", f"{entry.score:.2f}", r.comparison.change,
                     _grade_letters(entry), excerpt(entry.error or entry.reply, width)])
    return tabulate(rows, headers=["case", "outcome", "score", "change", "grades", "reply"],
                    tablefmt="simple", disable_numparse=True)


def summary_lines(
    results: Sequence[CaseResult],
    *,
    gate_passed: bool,
    unknown_targets: Sequence[str],
    warnings: Sequence[str],
    updated: Sequence[str],
    verbose: bool,
    stats: CallStats | None = None,
    model_seconds: float | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    lines = ["", suite_table(results), ""]
    lines += [cases_table(results), ""]
    if verbose:
        for r in results:
            if r.entry is not None and r.entry.reply:
                lines.append(f"--- {r.case_id} [{r.entry.outcome}] {r.run.why if r.run else ''}")
                lines += [f"    {line}" for line in r.entry.reply.splitlines() if line.strip()]
        lines.append("")
    for change in ("worse", "better", "new", "removed"):
        moved = [r for r in results if r.comparison.change == change]
        if moved:
            lines.append(f"{change} ({len(moved)}):")
            lines += [f"  {r.case_id}{_movement(r)}" for r in moved]
    review = sorted((r for r in results if r.entry is not None and r.entry.review),
                    key=lambda r: (r.entry.score if r.entry else 0, r.case_id))
    if review:
        lines.append(f"review queue ({len(review)}, worst first):")
        lines += [f"  {r.case_id}  {r.entry.score:.2f}  {_worst_reason(r.entry)}"
                  for r in review if r.entry is not None]
    errors = [r for r in results if r.entry is not None and r.entry.error]
    if errors:
        lines.append(f"errors ({len(errors)}; neither pass nor fail, they block the gate):")
        lines += [f"  {r.case_id}: {excerpt(r.entry.error or '', 200)}" for r in errors
                  if r.entry is not None]
    flaky = [r for r in results if r.entry is not None and r.entry.flaky]
    if flaky:
        lines.append(f"flaky ({len(flaky)}; passed and failed within this run):")
        lines += [f"  {r.case_id}: {', '.join(r.entry.flaky)} ("
                  + ", ".join(f"{d} {rate:.0%} pass" for d, rate in r.entry.pass_rates.items())
                  + ")" for r in flaky if r.entry is not None]
    lines += extra
    lines += usage_lines(results, stats, model_seconds)
    lines += [f"warning: {w}" for w in warnings]
    lines += [f"target not found among the cases run: {t}" for t in unknown_targets]
    lines += _verdict(results, gate_passed, updated)
    return lines


def usage(results: Sequence[CaseResult], who: str = "agent") -> dict[str, Any]:
    """Tokens and cost of the agent's (or the judge's) model calls; cached replies are free."""
    calls: list[Any] = [x for r in results for x in (r.runs if who == "agent" else r.judged)]
    costs = [c.cost for c in calls if c.cost is not None]
    return {
        "prompt_tokens": sum(c.prompt_tokens for c in calls),
        "completion_tokens": sum(c.completion_tokens for c in calls),
        "cost_usd": round(sum(costs), 6) if costs else None,
    }


def usage_lines(results: Sequence[CaseResult], stats: CallStats | None,
                model_seconds: float | None = None) -> list[str]:
    lines = []
    for who in ("agent", "judge"):
        spent = usage(results, who)
        if who == "judge" and not any(r.judged for r in results):
            continue
        cost = "unknown" if spent["cost_usd"] is None else f"${spent['cost_usd']:.4f}"
        lines.append(f"{who}: {spent['prompt_tokens']:,} prompt + {spent['completion_tokens']:,}"
                     f" completion tokens, cost {cost}")
    if stats is not None:
        took = f" in {model_seconds:.2f} s" if model_seconds is not None else ""
        lines.append(f"model calls: {stats.requests} provider requests, {stats.cache_hits}"
                     f" cache hits, {stats.retries} retries{took}")
    return lines


def _movement(result: CaseResult) -> str:
    steps = result.comparison.worse or result.comparison.better
    shown = ", ".join(f"{s.field} {s.old} -> {s.new}" for s in steps if s.field != "error")
    error = result.entry.error if result.entry is not None else None
    return f": {shown}" if shown else (f": {error}" if error else "")


def _worst_reason(entry: Entry) -> str:
    if entry.error:
        return f"error: {entry.error}"
    for name in sorted(entry.grades, key=lambda n: VALUES[entry.grades[n]]):
        if entry.grades[name] != "pass":
            return f"{name} {entry.grades[name]}: {excerpt(entry.reasons.get(name, ''), 100)}"
    return ""


def _verdict(results: Sequence[CaseResult], passed: bool, updated: Sequence[str]) -> list[str]:
    count = {s: sum(1 for r in results if r.verdict and r.verdict.status == s)
             for s in ("ok", "fail", "known-failure")}
    worse = sum(1 for r in results if r.comparison.change == "worse")
    errors = sum(1 for r in results if r.entry is not None and r.entry.error)
    if updated:
        return [f"baseline written: {', '.join(updated)}",
                "hint: review the baseline diff with `git diff` and commit it with the change."]
    head = "GATE PASS" if passed else "GATE FAIL"
    ran = sum(1 for r in results if r.entry is not None)
    line = (f"{head}: {ran} cases, {count['fail']} blocking, {worse} worse,"
            f" {errors} errors, {count['known-failure']} known failures")
    if passed and count["known-failure"]:
        hint = "hint: a known failure can be fixed by a KB or prompt change run with --target."
    elif passed:
        hint = "hint: nothing got worse; the change can ship."
    elif errors and count["fail"] == errors:
        hint = ("hint: only errors block: a fixture that cannot load names its file and line"
                " above; a provider error clears when the provider answers again (cached"
                " replies are not requested twice).")
    elif any(r.comparison.change == "new" and r.verdict and r.verdict.status == "fail"
             for r in results):
        hint = ("hint: fix the failing cases, or record new ones with --update-baseline once"
                " their expectations are right.")
    elif not any(r.verdict and r.verdict.status == "fail" for r in results):
        hint = "hint: check the --target ids: each must be SUITE/ID of a case in this run."
    else:
        hint = ("hint: read the failures above; fix the article or prompt that made a case worse"
                " and run again.")
    return [line, hint]


class Progress:
    """A line every tenth of a long run, so a run of thousands of calls shows it is alive."""

    def __init__(self, reporter: Any, minimum: int = 50) -> None:
        self.reporter = reporter
        self.minimum = minimum
        self.shown = 0

    def __call__(self, done: int, total: int, errors: int) -> None:
        if self.reporter is None or total < self.minimum:
            return
        step = max(1, total // 10)
        if done // step > self.shown // step or done == total > self.shown:
            self.shown = done
            self.reporter.write_line(f"harness: {done}/{total} model runs done ({errors} errors)")


def seasonal_lines(results: Iterable[CaseResult], stores: Sequence[Store]) -> list[str]:
    """Cases whose retrieved articles changed by a seasonal (dated) article, and which."""
    lines = []
    for result in results:
        old, new = result.comparison.old, result.comparison.new
        if old is None or new is None or new.error:
            continue
        moved = []
        for article_id in sorted(set(old.retrieved) ^ set(new.retrieved)):
            article = next((a for s in stores if (a := s.article(article_id))), None)
            if article is not None and (article.valid_from or article.valid_until):
                verb = "now retrieves" if article_id in new.retrieved else "no longer retrieves"
                window = f"{article.valid_from or '...'} to {article.valid_until or '...'}"
                moved.append(f"{verb} {article_id} (served {window})")
        if moved:
            lines.append(f"  {result.case_id} [{result.comparison.change}]: " + "; ".join(moved))
    return ([f"seasonal content ({len(lines)} cases changed by dated articles):", *lines]
            if lines else [])


def report_document(
    results: Sequence[CaseResult], gate_passed: bool, stats: CallStats | None = None
) -> dict[str, Any]:
    cases = []
    for r in results:
        entry = r.entry or r.comparison.old  # a removed case is reported with its last entry
        if entry is None:
            continue
        run = r.run
        cases.append({
            "id": r.case_id,
            "suite": r.suite,
            "score": entry.score,
            "grades": dict(entry.grades),
            "review": entry.review,
            "change": r.comparison.change,
            "verdict": r.verdict.status if r.verdict else None,
            "target": bool(r.verdict and r.verdict.target),
            "outcome": entry.outcome,
            "why": run.why if run else None,
            "reasons": dict(entry.reasons),
            "reply": entry.reply,
            "retrieved": [x.id for x in run.retrieved] if run else [],
            "as_of": run.as_of.isoformat() if run else None,
            "tokens": {"prompt": sum(x.prompt_tokens for x in r.runs),
                       "completion": sum(x.completion_tokens for x in r.runs)},
            "cost_usd": _cost(r),
            "samples": entry.samples,
            "pass_rates": dict(entry.pass_rates) or None,
            "flaky": list(entry.flaky),
            "judge": dict(entry.judge) or None,
            "error": entry.error,
        })
    document: dict[str, Any] = {"gate": "pass" if gate_passed else "fail", "cases": cases}
    document["usage"] = {"agent": usage(results), "judge": usage(results, "judge")}
    if stats is not None:
        document["usage"]["requests"] = stats.requests
        document["usage"]["cache_hits"] = stats.cache_hits
        document["usage"]["retries"] = stats.retries
    return document


def _cost(result: CaseResult) -> float | None:
    costs = [run.cost for run in result.runs if run.cost is not None]
    return round(sum(costs), 6) if costs else None


def write_json_report(
    path: Path, results: Sequence[CaseResult], gate_passed: bool, stats: CallStats | None = None
) -> None:
    document = report_document(results, gate_passed, stats)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    write_atomic(path, text + "\n")
