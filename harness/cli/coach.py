"""The coach's commands: `harness score`, `review`, `promote` and `calibrate`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.cli.common import add_store, date_type, history_of, pipeline_for
from harness.coach.calibrate import Labels, compare_labels, grade_labelled
from harness.coach.promote import conversation_from_history, draft_fixture, write_fixture
from harness.coach.review import build_review, kept_changes, parse_week
from harness.coach.score import BAD_LINES_SHOWN, score_file
from harness.coach.score_output import readable
from harness.errors import HarnessError
from harness.regression.baseline import write_atomic
from harness.store.conversations import BadLine, find_conversation
from harness.store.loading import load_yaml_file, open_store

__all__ = ["register"]

_HISTORY_HELP = "the history database (an SQLAlchemy URL; default: .harness-history.sqlite3" \
                " in the store)"


def cmd_score(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    history = None if args.no_history else history_of(args.history, store.root)
    shown = 0

    def on_bad(item: BadLine) -> None:
        nonlocal shown
        shown += 1
        if shown <= BAD_LINES_SHOWN:
            print(f"skipped: {item.error}", file=sys.stderr)

    done = score_file(store, Path(args.export), history=history,
                      json_path=Path(args.json) if args.json else None, worst=args.worst,
                      on_bad=on_bad, on_progress=lambda text: print(text, file=sys.stderr))
    if len(done.bad) > BAD_LINES_SHOWN:
        print(f"skipped: ... and {len(done.bad) - BAD_LINES_SHOWN} more malformed line(s)",
              file=sys.stderr)
    print("\n".join(done.tally.lines(args.export, len(done.bad))))
    if done.recorded:
        print(f"\nrecorded in {done.recorded}")
    if done.wrote:
        print(f"wrote {done.wrote}")
    return 1 if done.bad else 0


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _last_week() -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=today.weekday() + 7)


def cmd_review(args: argparse.Namespace) -> int:
    from harness.coach.review_page import render_html, render_markdown  # matplotlib: only here

    store = open_store(args.store)
    monday = parse_week(args.week) if args.week else _last_week()
    history = history_of(args.history, store.root)
    gap_below = store.agent.escalation.min_confidence or 0.35
    review = build_review(history, monday, gap_below)
    out = Path(args.out) if args.out else store.root / "reviews"
    markdown_path = out / f"review-{review.week}.md"
    changes = kept_changes(markdown_path)
    if changes:
        review = replace(review, changes=changes)
    html_path = markdown_path.with_suffix(".html")
    write_atomic(markdown_path, render_markdown(review))
    write_atomic(html_path, render_html(review))
    for path in (markdown_path, html_path):
        readable(path)
    flags = [t for t in (review.resolution, *review.dimensions) if t.alert]
    print(f"{review.week}: {review.count} conversation(s), automated resolution"
          f" {_shown(review.resolution.now)}, {len(flags)} alert(s)"
          + "".join(f"\n  ALERT {t.name}: {_shown(t.now)} vs {_shown(t.before)}" for t in flags))
    print(f"wrote {markdown_path} and {html_path.name}"
          + (" (kept the team's list of changes)" if changes else ""))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.source:
        conversation = find_conversation(Path(args.source), args.conversation)
    else:
        if args.no_redact:
            raise HarnessError("--no-redact needs --from EXPORT.jsonl: the history store keeps"
                               " conversations redacted")
        conversation = conversation_from_history(history_of(args.history, store.root),
                                                 args.conversation)
    draft = draft_fixture(conversation, store, redacted=not args.no_redact,
                          today=dt.date.today())
    path = write_fixture(draft, store, args.suite)
    expect = draft.data["expect"]
    print(f"wrote {path} (outcome {expect['outcome']}; facts {expect['facts']}; forbidden"
          f" {expect['forbidden']}; articles {expect['articles']})")
    print("complete its TODO(coach), then record it: pytest suites/ --update-baseline")
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    labels = load_yaml_file(Path(args.labels), Labels).labels
    rubric, judge = grade_labelled(pipeline_for(args), store, labels)
    table, differences = compare_labels(labels, rubric, judge)
    rows = [[a.dimension, a.grader, a.cases, _percent(a.agreement),
             "-" if a.kappa is None else f"{a.kappa:.2f}"] for a in table]
    print(tabulate(rows, headers=["dimension", "grader", "cases", "agreement", "kappa"],
                   disable_numparse=True))
    if not store.agent.judge.model:
        print("no judge: set judge.model in prompts/agent.yaml to calibrate an LLM judge too")
    if differences:
        print(f"\ndisagreements ({len(differences)}):")
        for d in differences:
            judged = f", judge {d.judge}" if d.judge else ""
            print(f"  {d.case_id} {d.dimension}: coach {d.coach}, rubric {d.rubric}{judged}"
                  f" ({d.reason})")
    if args.json:
        document: dict[str, Any] = {"agreement": [asdict(a) for a in table],
                                    "disagreements": [asdict(d) for d in differences]}
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


def register(commands: Any) -> None:
    score = commands.add_parser(
        "score", help="grade real conversations of a helpdesk export (JSONL) with the rubric")
    score.add_argument("export", help="the export: one conversation per line (docs/formats.md)")
    add_store(score)
    score.add_argument("--json", metavar="PATH", help="write every conversation's grades as"
                       " a JSON list (the shape of the run report's cases)")
    where = score.add_mutually_exclusive_group()
    where.add_argument("--history", metavar="URL", help=_HISTORY_HELP)
    where.add_argument("--no-history", action="store_true", help="record nothing")
    score.add_argument("--worst", type=int, default=10, metavar="N",
                       help="rows shown for a large export: its N worst (default 10)")
    score.set_defaults(func=cmd_score)

    review = commands.add_parser(
        "review", help="write the weekly coaching review (Markdown and HTML) from the history")
    review.add_argument("--week", help="ISO week, like 2026-W48 (default: last week)")
    add_store(review)
    review.add_argument("--history", metavar="URL", help=_HISTORY_HELP)
    review.add_argument("--out", metavar="DIR", help="where to write review-WEEK.md and .html"
                        " (default: reviews/ in the store)")
    review.set_defaults(func=cmd_review)

    promote = commands.add_parser(
        "promote", help="turn a production conversation into a new fixture for a suite")
    promote.add_argument("conversation", metavar="CONVERSATION_ID")
    promote.add_argument("--suite", required=True, help="the suite folder under suites/")
    promote.add_argument("--from", dest="source", metavar="EXPORT.jsonl",
                         help="read the conversation from this export (default: the history)")
    add_store(promote)
    promote.add_argument("--history", metavar="URL", help=_HISTORY_HELP)
    promote.add_argument("--no-redact", action="store_true",
                         help="keep personal data (emails, phones, order numbers, ...)")
    promote.set_defaults(func=cmd_promote)

    calibrate = commands.add_parser("calibrate", help="agreement of rubric and judge with a"
                                    " coach's labels (Cohen's kappa)")
    calibrate.add_argument("labels", help="LABELS.yaml: `labels:` list of {id, accuracy, ...}")
    add_store(calibrate)
    calibrate.add_argument("--as-of", type=date_type, help="serve the KB as of YYYY-MM-DD")
    calibrate.add_argument("--json", help="also write the agreement table as JSON to this path")
    calibrate.set_defaults(func=cmd_calibrate)
