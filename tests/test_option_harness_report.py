"""--harness-report PATH: the run as one JSON document, {"gate": ..., "cases": [...]}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gatekit import FIXTURES, fixture, run_suites, write_gate_store

DIMENSIONS = {"accuracy", "relevance", "tone", "resolution"}
GRADES = {"pass", "partial", "fail"}
CASE_KEYS = {"id", "score", "grades", "review", "change", "reasons", "reply", "error"}
RESTOCKING = fixture("Is there a restocking fee if I return an item for a refund?",
                     ["no restocking fee"], ["returns-policy"])
ORPHAN = fixture("How do I descale my kettle?", ["vinegar"], ["kettle-care"])  # no such article


def read_report(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    report = json.loads(text)
    assert {"gate", "cases"} <= set(report)  # the project may add keys (e.g. usage)
    assert report["gate"] in ("pass", "fail")
    assert isinstance(report["cases"], list)
    for case in report["cases"]:
        assert set(case) >= CASE_KEYS, sorted(CASE_KEYS - set(case))
        assert isinstance(case["id"], str) and isinstance(case["reply"], str)
        assert isinstance(case["score"], float | int) and 0 <= case["score"] <= 1
        assert isinstance(case["review"], bool)
        assert case["change"] in ("better", "worse", "same", "new", "removed")
        assert case["error"] is None or isinstance(case["error"], str)
        if case["error"] is None:
            assert set(case["grades"]) == DIMENSIONS and set(case["grades"].values()) <= GRADES
            assert set(case["reasons"]) == DIMENSIONS
            assert all(isinstance(r, str) and r for r in case["reasons"].values())
    return report


def test_a_passing_run_reports_gate_pass_and_every_case(pytester):
    write_gate_store(pytester.path)
    result = run_suites(pytester, "--harness-report", "out/report.json")
    assert result.ret == pytest.ExitCode.OK
    report = read_report(pytester.path / "out" / "report.json")
    assert report["gate"] == "pass"
    assert sorted(c["id"] for c in report["cases"]) == sorted(f"core/{s}" for s in FIXTURES)
    window = next(c for c in report["cases"] if c["id"] == "core/returns-window")
    assert window["score"] == 1.0
    assert window["grades"] == dict.fromkeys(sorted(DIMENSIONS), "pass")
    assert (window["review"], window["change"], window["error"]) == (False, "new", None)
    assert window["reasons"]["accuracy"] == "states every expected fact"
    assert "30 days" in window["reply"]
    assert not list(pytester.path.joinpath("out").glob("*.tmp"))


def test_a_failing_run_reports_gate_fail_with_grades_reasons_and_errors(pytester):
    write_gate_store(pytester.path, suites={"core": {
        **FIXTURES, "restocking-fee": RESTOCKING, "orphan": ORPHAN}})
    result = run_suites(pytester, "--harness-report", "report.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(pytester.path / "report.json")
    assert report["gate"] == "fail"
    cases = {c["id"]: c for c in report["cases"]}
    assert len(cases) == len(FIXTURES) + 2

    failing = cases["core/restocking-fee"]
    assert failing["grades"]["accuracy"] == "fail"
    assert failing["review"] is True
    assert failing["score"] < 1.0
    assert "'no restocking fee'" in failing["reasons"]["accuracy"]
    assert failing["error"] is None

    orphan = cases["core/orphan"]
    assert "names no article: 'kettle-care'" in orphan["error"]
    assert orphan["score"] == 0.0 and orphan["review"] is True
    assert orphan["grades"] == {}
