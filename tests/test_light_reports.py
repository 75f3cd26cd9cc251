"""The plugin lightens the passing reports pytest keeps to the end of a run (their keywords and
user properties, read by nothing once logged), and every output stays what it was."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from gatekit import FIXTURES, fixture, run_suites, write_gate_store

# a case that fails (a fact no article states) beside the gate store's passing ones
SUITES = {"core": {**FIXTURES, "no-such-fact": fixture(
    "How many days do I have to return an item?", ["45 days"], ["returns-policy"])}}

DUMP_CONFTEST = '''
import json
from pathlib import Path


def pytest_terminal_summary(terminalreporter):
    kept = [{"id": r.nodeid, "when": r.when, "outcome": r.outcome,
             "keywords": sorted(r.keywords), "properties": [n for n, _ in r.user_properties],
             "duration": isinstance(r.duration, float)}
            for reports in terminalreporter.stats.values() for r in reports
            if hasattr(r, "when")]
    (Path(__file__).parent / "kept.json").write_text(json.dumps(kept))
'''

TIMES = re.compile(r'(time|timestamp)="[^"]*"|harness\.latency_s" value="[^"]*"|\d+\.\d+s?')


def run(pytester: pytest.Pytester, *args: str) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The terminal output and JUnit XML (times left out), and the reports pytest kept."""
    result = run_suites(pytester, "--junitxml", "junit.xml", "--durations", "0", *args)
    lines = [TIMES.sub("", line) for line in result.outlines if "junit.xml" not in line]
    junit = TIMES.sub("", (pytester.path / "junit.xml").read_text(encoding="utf-8"))
    kept = json.loads((pytester.path / "kept.json").read_text(encoding="utf-8"))
    return lines, junit, kept


@pytest.fixture
def store(pytester) -> Path:
    root = write_gate_store(pytester.path, suites=SUITES)
    with (root / "conftest.py").open("a", encoding="utf-8") as conftest:
        conftest.write(DUMP_CONFTEST)
    return root


def test_passing_reports_drop_keywords_and_properties_and_outputs_stay_the_same(
        store, pytester):
    light_lines, light_junit, light = run(pytester)
    whole_lines, whole_junit, whole = run(pytester, "-p", "no:harness-light-reports")

    assert light_lines == whole_lines  # -rA, --durations, the harness summary: all of it
    assert light_junit == whole_junit
    assert "harness.score" in light_junit and 'name="harness.accuracy"' in light_junit
    assert [(r["id"], r["when"], r["outcome"]) for r in light] == [
        (r["id"], r["when"], r["outcome"]) for r in whole]
    assert all(r["duration"] for r in light)  # --durations reads them at the end of the run

    failed = [r for r in light if r["outcome"] != "passed"]
    assert [r["id"].rsplit("::", 1)[-1] for r in failed] == ["no-such-fact"]
    for lightened, kept in zip(light, whole, strict=True):
        assert kept["keywords"] and kept["properties"]
        if lightened["outcome"] == "passed":
            assert (lightened["keywords"], lightened["properties"]) == ([], [])
        else:
            assert lightened == kept
