"""`pytest suites/ -n 2` (pytest-xdist): workers grade their cases; the controller gates,
prints the summary and writes the baseline and the reports once, as a run without xdist would.

The gate store (tests/gatekit.py) is recorded once without xdist; a regression (returns-policy
says 14 days, not 30) is then run once without xdist and once with `-n 2`, and the two runs'
verdicts and reports are compared.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from gatekit import FIXTURES, agent_runs, write_gate_store

CASE_IDS = sorted(f"core/{stem}" for stem in FIXTURES)
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
_GATE = re.compile(r"^GATE (PASS|FAIL): .*$")


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-rA", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


def gate_lines(output: str) -> list[str]:
    """The verdict line and the hint before it."""
    lines = output.splitlines()
    found = [i for i, line in enumerate(lines) if _GATE.match(line)]
    assert len(found) == 1, output
    return lines[found[0] - 1:found[0] + 1]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The gate store with its baseline recorded by a run without xdist."""
    root = write_gate_store(tmp_path_factory.mktemp("recorded"))
    done = pytest_in(root, "--update-baseline")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def copy_of(recorded: Path, where: Path) -> Path:
    shutil.copytree(recorded, where, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".harness-cache", "agent-runs.log"))
    return where


@dataclass(frozen=True)
class Runs:
    root: Path
    solo: subprocess.CompletedProcess[str]
    xdist: subprocess.CompletedProcess[str]
    solo_agent_runs: int
    xdist_agent_runs: int


@pytest.fixture(scope="module")
def regressed(recorded, tmp_path_factory) -> Runs:
    """A regression run without xdist, then with -n 2 (JSON report and JUnit XML asked)."""
    root = copy_of(recorded, tmp_path_factory.mktemp("regressed"))
    article = root / "knowledge" / "articles" / "returns-policy.md"
    text = article.read_text(encoding="utf-8")
    assert "30 days" in text
    article.write_text(text.replace("30 days", "14 days"), encoding="utf-8")
    solo = pytest_in(root, "-v")
    solo_runs = agent_runs(root)
    xdist = pytest_in(root, "-v", "-n", "2", "--harness-report", "report.json",
                      "--junitxml", "junit.xml")
    return Runs(root, solo, xdist, solo_runs, agent_runs(root))


def test_the_controller_prints_one_summary_with_every_case(regressed):
    out = regressed.xdist.stdout
    assert regressed.xdist.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "created: 2/2 workers" in out  # it really ran under xdist
    lines = out.splitlines()
    assert sum("harness summary" in line for line in lines) == 1
    summary = lines[next(i for i, line in enumerate(lines) if "harness summary" in line):]
    rows = {line.split()[0]: line.split()[1:4] for line in summary
            if line.startswith("core/") and len(line.split()) > 4}
    assert sorted(rows) == CASE_IDS
    assert rows["core/returns-window"] == ["resolve", "0.60", "worse"]
    assert all(rows[c][2] == "same" for c in CASE_IDS if c != "core/returns-window")
    assert "worse (1):" in summary
    assert "  core/returns-window: accuracy pass -> fail, score 1.00 -> 0.60" in summary


def test_the_verdict_under_xdist_is_the_verdict_without_it(regressed):
    assert regressed.solo.returncode == pytest.ExitCode.TESTS_FAILED, regressed.solo.stdout
    assert regressed.xdist.returncode == regressed.solo.returncode
    solo, xdist = gate_lines(regressed.solo.stdout), gate_lines(regressed.xdist.stdout)
    assert solo[1] == "GATE FAIL: 7 cases, 1 blocking, 1 worse, 0 errors, 0 known failures"
    assert xdist == solo
    assert "1 failed, 6 passed" in regressed.xdist.stdout.splitlines()[-1]


def test_the_json_report_under_xdist_has_every_case(regressed):
    report = json.loads((regressed.root / "report.json").read_text(encoding="utf-8"))
    assert report["gate"] == "fail"
    cases = {c["id"]: c for c in report["cases"]}
    assert sorted(cases) == CASE_IDS
    assert cases["core/returns-window"]["change"] == "worse"
    assert cases["core/returns-window"]["grades"]["accuracy"] == "fail"
    assert "14 days" in cases["core/returns-window"]["reply"]
    assert cases["core/returns-window"]["retrieved"] == ["returns-policy", "shipping"]
    assert {c["change"] for i, c in cases.items() if i != "core/returns-window"} == {"same"}


def junit_properties(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Each testcase's <property> elements, by case id (from the test's name)."""
    tree = ET.parse(path)
    found = {}
    for case in tree.iter("testcase"):
        found[f"core/{case.get('name')}"] = [(p.get("name", ""), p.get("value", ""))
                                             for p in case.iter("property")]
    return found


def test_junitxml_under_xdist_has_the_harness_properties(regressed):
    cases = junit_properties(regressed.root / "junit.xml")
    assert sorted(cases) == CASE_IDS
    for case_id, properties in cases.items():
        named = dict(properties)
        wanted = {"harness.score", "harness.change", *(f"harness.{d}" for d in DIMENSIONS)}
        assert wanted <= set(named), (case_id, properties)
    window = dict(cases["core/returns-window"])
    assert (window["harness.score"], window["harness.change"], window["harness.accuracy"]) == (
        "0.6000", "worse", "fail")


def test_junitxml_under_xdist_does_not_carry_the_internal_result_property(regressed):
    """The worker-to-controller payload ("harness-result") is not a readable property."""
    cases = junit_properties(regressed.root / "junit.xml")
    assert sorted(cases) == CASE_IDS
    leaked = {case_id: [name for name, _ in properties if not name.startswith("harness.")
                        and name != "case"]
              for case_id, properties in cases.items()}
    assert leaked == {case_id: [] for case_id in CASE_IDS}
    assert "harness-result" not in (regressed.root / "junit.xml").read_text(encoding="utf-8")


def test_each_case_reaches_the_agent_once_under_xdist(regressed):
    """Workers grade their share of the cases: -n 2 runs the agent as often as one process."""
    assert regressed.solo_agent_runs == len(CASE_IDS)
    assert regressed.xdist_agent_runs == len(CASE_IDS)


def test_update_baseline_under_xdist_writes_the_bytes_a_run_without_it_writes(
    recorded, tmp_path,
):
    root = copy_of(recorded, tmp_path / "store")
    path = root / "suites" / "core" / "baseline.json"
    without_xdist = (recorded / "suites" / "core" / "baseline.json").read_bytes()
    path.unlink()
    done = pytest_in(root, "--update-baseline", "-n", "2")
    assert done.returncode == pytest.ExitCode.OK, done.stdout + done.stderr
    assert "created: 2/2 workers" in done.stdout
    assert "baseline written: suites/core/baseline.json (7 cases" in done.stdout
    assert path.read_bytes() == without_xdist
    assert not list(path.parent.glob("*.tmp"))
