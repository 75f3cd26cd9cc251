"""What a finished run leaves behind, as the options ask: the JSON, Markdown and HTML reports
and a record in the history database. Each consumes the run's results; none changes them."""

from __future__ import annotations

from collections.abc import Sequence

from harness.pipeline.record import CaseResult
from harness.pipeline.settings import Settings
from harness.providers.client import CallStats
from harness.regression.baseline import provenance_of, write_atomic
from harness.reports.html import render_html
from harness.reports.markdown import render_markdown
from harness.reports.terminal import write_json_report
from harness.store.loading import Store

__all__ = ["record_history", "write_outputs"]


def write_outputs(settings: Settings, results: Sequence[CaseResult], *, passed: bool,
                  stats: CallStats, notes: Sequence[str], stores: Sequence[Store]) -> None:
    if settings.report_path:
        write_json_report(settings.report_path, results, passed, stats)
    if settings.markdown_path:
        write_atomic(settings.markdown_path,
                     render_markdown(results, gate_passed=passed, warnings=notes))
    if settings.html_path:
        write_atomic(settings.html_path, render_html(results, gate_passed=passed))
    if settings.history:
        url = None if settings.history == "store" else settings.history
        record_history(url, results, stores, passed=passed)


def record_history(url: str | None, results: Sequence[CaseResult], stores: Sequence[Store], *,
                   passed: bool) -> None:
    """One suite run per store in the history database (the store's SQLite file by default)."""
    from harness.history import open_history, record_suite_run  # SQLAlchemy: only when asked

    for store in stores:
        rows = [{"id": r.case_id, "grades": dict(r.entry.grades), "score": r.entry.score,
                 "review": r.entry.review} for r in results
                if r.root == store.root and r.entry is not None and not r.entry.error]
        if rows:
            record_suite_run(open_history(url, store.root), rows, provenance_of(store),
                             gate="pass" if passed else "fail")
