"""What a finished run leaves behind, as the options ask: the JSON, Markdown and HTML reports
and a record in the history database. Each renders the run's one `RunRecord`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.pipeline.record import RunRecord
from harness.pipeline.settings import Settings
from harness.regression.baseline import provenance_of, write_atomic
from harness.reports.html import render_html
from harness.reports.markdown import render_markdown
from harness.store.loading import Store

__all__ = ["record_history", "write_json_report", "write_outputs"]


def write_json_report(path: Path, record: RunRecord) -> None:
    text = json.dumps(record.to_json(), indent=2, ensure_ascii=False)
    write_atomic(path, text + "\n")


def write_outputs(settings: Settings, record: RunRecord, *, stores: Sequence[Store]) -> None:
    if settings.report_path:
        write_json_report(settings.report_path, record)
    if settings.markdown_path:
        write_atomic(settings.markdown_path, render_markdown(record))
    if settings.html_path:
        write_atomic(settings.html_path, render_html(record))
    if settings.history:
        url = None if settings.history == "store" else settings.history
        record_history(url, record, stores)


def record_history(url: str | None, record: RunRecord, stores: Sequence[Store]) -> None:
    """One suite run per store in the history database (the store's SQLite file by default)."""
    from harness.history import open_history, record_suite_run  # SQLAlchemy: only when asked

    for store in stores:
        rows = [{"id": c.case_id, "grades": dict(c.entry.grades), "score": c.entry.score,
                 "review": c.entry.review} for c in record.cases
                if c.root == store.root and c.entry is not None and not c.entry.error]
        if rows:
            record_suite_run(open_history(url, store.root), rows, provenance_of(store),
                             gate="pass" if record.passed else "fail")
