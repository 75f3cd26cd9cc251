"""`harness export promptfoo`, `harness import promptfoo` and `harness report` (HTML from JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import add_store
from harness.errors import HarnessError
from harness.interop.promptfoo import export_promptfoo
from harness.regression.baseline import read_baseline, write_atomic
from harness.reports.html import render_html_from_report
from harness.store.loading import load_suites, open_store

__all__ = ["register"]


def cmd_export(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    cases, broken = load_suites(store)
    for error in broken:
        print(f"not exported: {error}", file=sys.stderr)
    out = Path(args.out) if args.out else store.root / "promptfoo"
    written = export_promptfoo(store, cases, out)
    print(f"wrote {', '.join(str(p) for p in written)} ({len(cases)} tests)")
    print(f"run: PROMPTFOO_PYTHON={sys.executable} promptfoo eval -c {written[0]} -j 4")
    return 1 if broken else 0


def cmd_import(args: argparse.Namespace) -> int:
    from harness.interop.promptfoo_import import import_promptfoo

    written, tests, imported = import_promptfoo(Path(args.config), open_store(args.store),
                                                args.suite)
    for line in imported.notes:
        print(f"note: {line}", file=sys.stderr)
    for line in imported.problems:
        print(f"not mapped: {line}", file=sys.stderr)
    print(f"wrote {len(written)} fixture(s) to suites/{args.suite}/ from {tests} test(s);"
          f" {len(imported.problems)} thing(s) not mapped")
    if written:
        print("record them: pytest suites/ --update-baseline")
    return 1 if imported.problems else 0


def register(commands: Any) -> None:
    export = commands.add_parser("export", help="write the store's fixtures for another tool")
    export_formats = export.add_subparsers(dest="format", required=True)
    to_promptfoo = export_formats.add_parser(
        "promptfoo", help="a promptfoo config that runs and grades every fixture")
    add_store(to_promptfoo)
    to_promptfoo.add_argument("--out", help="the folder to write (default: <store>/promptfoo)")
    to_promptfoo.set_defaults(func=cmd_export)

    imports = commands.add_parser("import", help="turn another tool's tests into fixtures")
    import_formats = imports.add_subparsers(dest="format", required=True)
    from_promptfoo = import_formats.add_parser(
        "promptfoo", help="promptfoo test cases -> suites/NAME/<id>.yaml")
    from_promptfoo.add_argument("config", metavar="CONFIG", help="promptfooconfig.yaml")
    from_promptfoo.add_argument("--suite", default="promptfoo",
                                help="the suite folder under suites/ (default: promptfoo)")
    add_store(from_promptfoo)
    from_promptfoo.set_defaults(func=cmd_import)
    register_report(commands)


def cmd_report(args: argparse.Namespace) -> int:
    """Render a --harness-report JSON file as the HTML run page."""
    try:
        document = json.loads(args.report.read_text(encoding="utf-8"))
        suites = {c.get("suite") or c["id"].split("/")[0] for c in document["cases"]}
        entries = {cid: entry for suite in sorted(suites) if args.baselines
                   for cid, entry in read_baseline(args.baselines, suite).entries.items()}
        output = args.html or args.report.with_suffix(".html")
        write_atomic(output, render_html_from_report(document, baselines=entries))
    except KeyError as error:
        raise HarnessError(f"{args.report}: not a --harness-report document (no key {error})"
                           ) from None
    except (OSError, ValueError) as error:
        raise HarnessError(f"{args.report}: {error}") from None
    print(f"wrote {output}")
    return 0


def register_report(commands: Any) -> None:
    report = commands.add_parser("report", help="render a --harness-report JSON file as HTML")
    report.add_argument("report", type=Path, metavar="REPORT.json")
    report.add_argument("--html", type=Path, metavar="PATH",
                        help="the page to write (default: REPORT with .html)")
    report.add_argument("--baselines", type=Path, metavar="STORE",
                        help="a store whose suites/<suite>/baseline.json fill in the baselines"
                             " that a report of an older version does not carry")
    report.set_defaults(func=cmd_report)
