"""--harness-markdown, --harness-html, --history and --junitxml: what a finished run leaves.

The gate store (tests/gatekit.py) is recorded once; then a regression (returns-policy says 14
days, not 30) is run once with every report option, and each test reads one of the outputs.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from gatekit import FIXTURES, write_gate_store

CASE_IDS = sorted(f"core/{stem}" for stem in FIXTURES)
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
WORSE = "core/returns-window"


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-rA", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class Run:
    root: Path
    done: subprocess.CompletedProcess[str]
    markdown: Path
    html: Path
    junit: Path
    history: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    """A baseline recorded, then a regression run with every report option."""
    recorded = write_gate_store(tmp_path_factory.mktemp("recorded"))
    done = pytest_in(recorded, "--update-baseline")
    assert done.returncode == 0, done.stdout + done.stderr
    root = tmp_path_factory.mktemp("reports")
    shutil.copytree(recorded, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".harness-cache", "agent-runs.log"))
    assert not (root / ".harness-history.sqlite3").exists()
    article = root / "knowledge" / "articles" / "returns-policy.md"
    article.write_text(article.read_text(encoding="utf-8").replace("30 days", "14 days"),
                       encoding="utf-8")
    done = pytest_in(root, "--harness-markdown", "out/summary.md", "--harness-html",
                     "out/run.html", "--history", "--junitxml", "out/junit.xml")
    return Run(root, done, root / "out" / "summary.md", root / "out" / "run.html",
               root / "out" / "junit.xml", root / ".harness-history.sqlite3")


def test_the_run_fails_on_the_regression_and_still_writes_every_output(run):
    assert run.done.returncode == pytest.ExitCode.TESTS_FAILED, run.done.stdout + run.done.stderr
    assert "GATE FAIL: 7 cases, 1 blocking, 1 worse" in run.done.stdout
    for path in (run.markdown, run.html, run.junit, run.history):
        assert path.is_file(), path
    assert not list((run.root / "out").glob("*.tmp"))


def test_markdown_puts_the_verdict_first_then_the_worse_case(run):
    text = run.markdown.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "### ❌ Gate failed: 1 case got worse"
    assert lines[2].startswith("7 cases: 1 worse, 0 better, 6 same, 0 new, 0 removed")
    worse = lines.index("#### Worse (1)")
    assert lines[worse + 2].startswith("- **core/returns-window**: score 1.00 → 0.60")
    assert "'30 days'" in text  # the reason a coach can act on
    assert "14 days" in text  # and the reply that shows it
    assert text.endswith("\n")


def test_html_is_one_self_contained_page_with_every_case(run):
    page = run.html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for case_id in CASE_IDS:
        assert case_id in page, case_id
    assert "http://" not in page
    assert "<link" not in page and "<script src" not in page  # nothing fetched from elsewhere
    # the changed case shows the baseline reply beside the new one, the difference marked
    assert "<h4>baseline reply</h4>" in page and "<h4>reply now</h4>" in page
    assert "<del>30</del>" in page and "<ins>14</ins>" in page


def test_history_records_the_suite_run_and_one_row_per_case(run):
    with sqlite3.connect(run.history) as db:
        query = "SELECT id, kind, source, model, count, gate FROM harness_runs"
        runs = db.execute(query).fetchall()
        assert len(runs) == 1
        run_id, kind, source, model, count, gate = runs[0]
        assert (kind, source, model, count, gate) == (
            "suite", "pytest suites/", "reference/kb-grounded", len(CASE_IDS), "fail")
        rows = db.execute("SELECT run_id, case_id, score, review, accuracy, relevance"
                          " FROM harness_suite_cases ORDER BY case_id").fetchall()
    assert [r[1] for r in rows] == CASE_IDS
    assert {r[0] for r in rows} == {run_id}
    scored = {r[1]: r[2:] for r in rows}
    assert scored[WORSE] == (0.6, 1, 0.0, 1.0)  # review: accuracy failed
    assert {scored[c] for c in CASE_IDS if c != WORSE} == {(1.0, 0, 1.0, 1.0)}


def test_junitxml_carries_score_change_and_grades_per_testcase(run):
    properties = {}
    for case in ET.parse(run.junit).iter("testcase"):
        named = {p.get("name"): p.get("value") for p in case.iter("property")}
        properties[named.get("case")] = named
    assert sorted(properties) == CASE_IDS
    for case_id, named in properties.items():
        assert {"harness.score", "harness.change", *(f"harness.{d}" for d in DIMENSIONS)} <= (
            set(named)), (case_id, named)
    worse = properties[WORSE]
    assert (worse["harness.score"], worse["harness.change"], worse["harness.accuracy"]) == (
        "0.6000", "worse", "fail")
    assert worse["harness.relevance"] == "pass"
    others = {(n["harness.score"], n["harness.change"], n["harness.accuracy"])
              for c, n in properties.items() if c != WORSE}
    assert others == {("1.0000", "same", "pass")}
