"""`harness check` and `harness run`: load a store, run cases outside the gate."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.agent.preflight import check_patterns, check_template
from harness.cli.common import add_store, date_type, pipeline_for
from harness.store.loading import StoreLoadError, load_suites, open_store

__all__ = ["register"]


def cmd_check(args: argparse.Namespace) -> int:
    """Load every file of the store and report every problem."""
    try:
        store = open_store(args.store)
    except StoreLoadError as error:
        print(error, file=sys.stderr)
        return 1
    cases, errors = load_suites(store)
    for error in errors:
        print(error, file=sys.stderr)
    dangers = [*check_patterns(store, cases), *check_template(store, cases)]
    for danger in dangers:
        print(danger, file=sys.stderr)
    print(f"{len(store.articles)} articles, {len(store.catalog.products)} products,"
          f" {len(cases)} fixtures loaded; {len(errors)} fixture(s) with errors")
    if dangers:
        print(f"{len(dangers)} problem(s) found by running the patterns and the template")
    return 1 if errors or dangers else 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run cases and print each reply, outcome and grades (no baseline, no gate)."""
    store = open_store(args.store)
    cases, errors = load_suites(store)
    for error in errors:
        print(error, file=sys.stderr)
    if args.case:
        wanted = set(args.case)
        cases = [c for c in cases if c.case_id in wanted or c.suite in wanted]
    for done in pipeline_for(args).evaluate(store, cases):
        run, graded = done.run, done.graded
        grades = " ".join(f"{n}={d.grade}" for n, d in graded.grades.items())
        print(f"== {done.case.case_id} [{run.outcome or 'error'}] as of {run.as_of}: {run.why}")
        print(f"   score {graded.score:.2f} {grades}" if not graded.error else f"   {graded.error}")
        for line in run.reply.splitlines():
            print(f"   | {line}")
    return 1 if errors else 0


def register(commands: Any) -> None:
    check = commands.add_parser("check", help="load the whole store and report every problem")
    add_store(check)
    check.set_defaults(func=cmd_check)

    run = commands.add_parser("run", help="run cases and print replies, outcomes and grades")
    run.add_argument("case", nargs="*", help="SUITE/ID or SUITE to run (default: all)")
    add_store(run)
    run.add_argument("--as-of", type=date_type, help="serve the KB as of YYYY-MM-DD")
    run.add_argument("--concurrency", type=int, default=None)
    run.add_argument("--cache", choices=("on", "off", "replay"), default="on",
                     help="the response cache, as for pytest suites/ (default: on)")
    run.set_defaults(func=cmd_run)
