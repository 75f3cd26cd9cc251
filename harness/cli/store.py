"""`harness check` and `harness run`: load a store, run cases outside the gate."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from harness.agent.preflight import check_patterns, check_template
from harness.agent.prompt_check import check_prompts
from harness.cli.common import add_store, date_type, pipeline_for
from harness.store.loading import StoreLoadError, load_suites, open_store
from harness.store.starter import write_starter

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
    if cases:
        report = check_prompts(store, cases, today=dt.date.today())
        print(f"prompt: rendered for {report.fixtures} fixtures (retrieval as in a run, no model"
              " called)")
        for warning, count in report.warnings:
            print(f"  warning ({count} of {report.fixtures} fixtures): {warning}")
        if not report.warnings:
            print("  every served article's body, the product records and the tone asks reach"
                  " the model")
        print("reference model understood:")
        for line, count in report.understood[:3]:
            print(f"  {count} fixtures: {line}")
        for note in report.notes:
            print(f"  note: {note}")
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
    settings = {"cache": "off"} if args.show_prompt else {}  # the prompt of a fresh call
    for done in pipeline_for(args, **settings).evaluate(store, cases):
        run, graded = done.run, done.graded
        grades = " ".join(f"{n}={d.grade}" for n, d in graded.grades.items())
        print(f"== {done.case.case_id} [{run.outcome or 'error'}] as of {run.as_of}: {run.why}")
        print(f"   score {graded.score:.2f} {grades}" if not graded.error else f"   {graded.error}")
        if args.show_prompt:
            _show_prompt(run)
        for use in run.tools:
            print(f"   tool step {use.step}: {use.name} {use.arguments} -> {use.result[:160]}")
        for name, dimension in graded.grades.items():
            if dimension.grade != "pass":
                print(f"   {name}: {dimension.reason}")
        for line in run.reply.splitlines():
            print(f"   | {line}")
    return 1 if errors else 0


def _show_prompt(run: Any) -> None:
    """The exact messages sent to the model and what came back, for any model."""
    if not run.messages:
        print(f"   (no model call: {run.decided_by or 'error'}: {run.why or run.error})")
        return
    print(f"   -- messages sent to {run.model} --")
    for message in run.messages:
        print(f"   [{message['role']}]")
        for line in str(message.get("content") or "").splitlines():
            print(f"     {line}")
    print("   -- the model's reply --")
    if run.decided_by == "model" and run.outcome == "escalate":
        print(f"   tool call escalate_to_human: {json.dumps(run.why)}")


def cmd_init(args: argparse.Namespace) -> int:
    """Write a small working store to start from."""
    root = Path(args.dir)
    written = write_starter(root)
    for path in written:
        print(f"wrote {path}")
    print(f"a starter store is in {root}: run `harness check` and `pytest suites/` there, then"
          " make it your shop's (README.md)")
    return 0


def register(commands: Any) -> None:
    init = commands.add_parser("init", help="write a small working store to start from")
    init.add_argument("dir", nargs="?", default=".", help="where (default: the current folder)")
    init.set_defaults(func=cmd_init)

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
    run.add_argument("--show-prompt", action="store_true",
                     help="print the exact messages sent to the model and its raw reply")
    run.set_defaults(func=cmd_run)
