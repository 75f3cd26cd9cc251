"""What a finished run leaves behind, as the options ask: the JSON, Markdown and HTML reports
and a record in the history database. Each renders the run's one `RunRecord`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.pipeline.record import RunRecord
from harness.pipeline.settings import Settings
from harness.regression.baseline import provenance_of, write_atomic
from harness.reports.html import render_html
from harness.reports.markdown import render_markdown
from harness.store.loading import Store

__all__ = ["json_report", "json_report_parts", "record_history", "write_json_report",
           "write_outputs"]


def json_report_parts(record: RunRecord) -> Iterator[str]:
    """The run as JSON text, in pieces: one line per top-level key and one per case, so that
    it reads and diffs by case, and each case is rendered only as it is written (10,000 cases
    as one document would be held whole). An indented dump would go through json's
    pure-Python encoder, half a millisecond per case; each line is one call of the C one."""
    document = record.to_json(cases=False)

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    yield "{\n"
    for number, (key, value) in enumerate(document.items()):
        yield ",\n" if number else ""
        if key == "cases" and record.cases:
            yield f"{dump(key)}: [\n"
            for index, case in enumerate(record.cases):
                yield ("  " if index == 0 else ",\n  ") + dump(case.to_json())
            yield "\n]"
        else:
            yield f"{dump(key)}: {dump(value)}"
    yield "\n}\n"


def json_report(record: RunRecord) -> str:
    return "".join(json_report_parts(record))


def write_json_report(path: Path, record: RunRecord) -> None:
    write_atomic(path, json_report_parts(record))


def write_outputs(settings: Settings, record: RunRecord, *, stores: Sequence[Store]
                  ) -> list[str]:
    """Write what the options ask for; one line per output, saying where it went."""
    done = []
    for path, render in ((settings.report_path, lambda: json_report_parts(record)),
                         (settings.markdown_path, lambda: render_markdown(record)),
                         (settings.html_path, lambda: render_html(record))):
        if path:
            write_atomic(path, render())
            done.append(f"wrote {path}")
    if settings.history:
        url = None if settings.history == "store" else settings.history
        done += record_history(url, record, stores)
    return done


def record_history(url: str | None, record: RunRecord, stores: Sequence[Store]) -> list[str]:
    """One suite run per store in the history database (the store's SQLite file by default)."""
    import sqlalchemy as sa  # only when asked

    from harness.history import open_history, record_suite_run

    done = []
    for store in stores:
        rows = [{"id": c.case_id, "grades": dict(c.entry.grades), "score": c.entry.score,
                 "review": c.entry.review} for c in record.cases
                if c.root == store.root and c.entry is not None and not c.entry.error]
        if not rows:
            continue
        try:
            history = open_history(url, store.root)
            run_id = record_suite_run(history, rows, provenance_of(store),
                                      gate="pass" if record.passed else "fail")
        except (HarnessError, sa.exc.SQLAlchemyError, sqlite3.DatabaseError) as error:
            # the history is a record of the run, not its verdict: a corrupt database is told
            # and the gate still decides the exit status
            detail = " ".join(str(error).split())[:300]
            done.append(f"warning: the run was not recorded in the history: {detail}; repair or"
                        " move the database aside (the gate's verdict stands)")
            continue
        if history.warning:
            done.append(f"warning: {history.warning}")
        done.append(f"recorded {len(rows)} cases in the history ({history.shown})"
                    + (f", run {run_id}" if run_id is not None else ""))
    return done
