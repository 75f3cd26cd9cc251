"""`harness kb lint` and `harness dials`: KB hygiene and escalation dials."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.cli.common import add_store, date_type, history_of, pipeline_for
from harness.errors import HarnessError
from harness.kbtools.dials import Candidate, TopicDials, WhatIf, recommend, rows, topic_dials
from harness.kbtools.dials import what_if as measure_what_if
from harness.kbtools.lint import MAX_AGE_DAYS, Finding, lint_store
from harness.regression.baseline import write_atomic
from harness.store.loading import load_suites, load_yaml_file, open_store

__all__ = ["register"]


def _days(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of days, 0 or more")
    return int(text)


def write_findings(path: Path, findings: Sequence[Finding]) -> None:
    text = json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False)
    try:
        write_atomic(path, text + "\n")
    except OSError as error:
        raise HarnessError(f"--json {path}: cannot write: {error.strerror or error}") from None


def cmd_lint(args: argparse.Namespace) -> int:
    """Print one line per finding and a count; 1 if any finding is an error."""
    store = open_store(args.store)
    cases, broken = load_suites(store)
    findings = lint_store(store, cases, args.as_of or dt.date.today(), args.max_age_days, broken)
    if args.json:
        write_findings(args.json, findings)
    for finding in findings:
        print(finding.line())
    counts = Counter(f.severity for f in findings)
    print(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info")
    return 1 if counts["error"] else 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def dials_table(dials: Iterable[TopicDials]) -> str:
    table = [[d.topic, d.conversations, _percent(d.automated), _percent(d.csat),
              _percent(d.repeat_24h), _percent(d.asked_for_person),
              _percent(d.closed_in_one_short_reply), recommend(d)] for d in dials]
    headers = ["topic", "convs", "automated", "CSAT", "repeat 24h", "ask person",
               "1 short reply", "recommendation"]
    return tabulate(table, headers=headers, disable_numparse=True)


def what_if_table(result: WhatIf) -> str:
    table = [[name, f"{m.automation:.0%}", f"{m.accuracy:.0%}", f"{m.passed:.0%}"]
             for name, m in (("live rules", result.live), ("candidate", result.candidate))]
    lines = [tabulate(table, headers=["rules", "automation (resolved)", "accuracy pass",
                                      "cases passing"], disable_numparse=True)]
    flipped = result.flipped
    lines.append(f"{len(flipped)} case(s) change outcome" + (":" if flipped else ""))
    lines += [f"  {cid}: {before} -> {after}" for cid, before, after in flipped]
    return "\n".join(lines)


def cmd_dials(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.what_if:
        candidate = load_yaml_file(Path(args.what_if), Candidate)
        print(what_if_table(measure_what_if(pipeline_for(args), store, candidate)))
        return 0
    history = history_of(args.history, store.root)
    found = rows(history.engine, args.since)
    if not found:
        print("no scored conversations in the history yet: run `harness score EXPORT.jsonl`")
        return 1
    print(dials_table(topic_dials(found, store.agent.escalation)))
    return 0


def register(commands: Any) -> None:
    kb = commands.add_parser("kb", help="knowledge-base tools")
    lint = kb.add_subparsers(dest="kb_command", required=True).add_parser(
        "lint", help="find expired, stale, conflicting, duplicate and untested articles")
    add_store(lint)
    lint.add_argument("--as-of", type=date_type, metavar="DATE",
                      help="lint as of YYYY-MM-DD (default: today)")
    lint.add_argument("--max-age-days", type=_days, default=MAX_AGE_DAYS, metavar="N",
                      help=f"a review older than N days is stale (default: {MAX_AGE_DAYS})")
    lint.add_argument("--json", type=Path, metavar="PATH",
                      help="also write the findings as a JSON list to PATH")
    lint.set_defaults(func=cmd_lint)

    dials = commands.add_parser("dials", help="per-topic evidence to widen or narrow what the"
                                " AI handles; --what-if for a candidate rule")
    add_store(dials)
    dials.add_argument("--history", metavar="URL", help="history database (default: the"
                       " store's SQLite file)")
    dials.add_argument("--since", type=date_type, metavar="YYYY-MM-DD",
                       help="only conversations from then on")
    dials.add_argument("--what-if", metavar="CANDIDATE.yaml",
                       help="re-run the suites with these escalation settings (min_confidence,"
                            " topics, on_request) and compare with the live rules")
    dials.set_defaults(func=cmd_dials)
