"""The `harness` command: store checks and one-off runs outside pytest.

The gate itself is `pytest suites/`; these commands help while writing fixtures and articles.
Only `HarnessError` is caught: it is printed as `Error: ...` with exit status 1; usage errors
exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from harness import __version__
from harness.coach import calibrate, promote, review, score
from harness.errors import HarnessError
from harness.interop import promptfoo
from harness.kbtools import dials, lint
from harness.pipeline.settings import parse_date
from harness.store.loading import StoreLoadError, load_suites, open_store

__all__ = ["main"]


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
    print(f"{len(store.articles)} articles, {len(store.catalog.products)} products,"
          f" {len(cases)} fixtures loaded; {len(errors)} fixture(s) with errors")
    return 1 if errors else 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run cases and print each reply, outcome and grades (no baseline, no gate)."""
    from harness.agent.loop import Agent
    from harness.grading.fixture import grade_run
    from harness.pipeline.runner import run_cases

    store = open_store(args.store)
    cases, errors = load_suites(store)
    for error in errors:
        print(error, file=sys.stderr)
    if args.case:
        wanted = set(args.case)
        cases = [c for c in cases if c.case_id in wanted or c.suite in wanted]
    as_of = parse_date(args.as_of) if args.as_of else None
    agent = Agent(store, as_of=as_of, today=dt.date.today())
    runs = run_cases(agent, cases, concurrency=args.concurrency)
    for case in cases:
        run = runs[case.case_id][0]
        graded = grade_run(case, run, store)
        grades = " ".join(f"{n}={d.grade}" for n, d in graded.grades.items())
        print(f"== {case.case_id} [{run.outcome or 'error'}] as of {run.as_of}: {run.why}")
        print(f"   score {graded.score:.2f} {grades}" if not graded.error else f"   {graded.error}")
        for line in run.reply.splitlines():
            print(f"   | {line}")
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Regression harness for ecommerce support agents. The gate"
        " is `pytest suites/`; these commands help while editing a store.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="load the whole store and report every problem")
    check.add_argument("--store", help="the store's folder (default: the current one)")
    check.set_defaults(func=cmd_check)

    run = commands.add_parser("run", help="run cases and print replies, outcomes and grades")
    run.add_argument("case", nargs="*", help="SUITE/ID or SUITE to run (default: all)")
    run.add_argument("--store", help="the store's folder (default: the current one)")
    run.add_argument("--as-of", help="serve the KB as of YYYY-MM-DD")
    run.add_argument("--concurrency", type=int, default=8)
    run.set_defaults(func=cmd_run)
    lint.register(commands)
    calibrate.register(commands)
    dials.register(commands)
    score.register(commands)
    review.register(commands)
    promote.register(commands)
    promptfoo.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HarnessError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
