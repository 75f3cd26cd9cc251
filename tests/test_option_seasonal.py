"""The seasonal release gate: run with `--as-of` launch day against a baseline made before it.

The gate store gets a dated article, `holiday-returns` (served 2026-11-20 to 2026-12-31), that
states a different return window (60 days) than the returns policy (30 days). The baseline is
recorded before the window. Inside it, the article reaches three cases: the holiday fixture it
was written for gets better, `returns-window` (which forbids the holiday figure) gets worse, and
`opened-beans` retrieves it without changing. After the window it retires without a trace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gatekit import (
    ARTICLES,
    FIXTURES,
    agent_runs,
    article,
    assert_gate,
    baseline_of,
    fixture,
    run_suites,
    write_gate_store,
)

BEFORE, INSIDE, AFTER = "2026-11-01", "2026-11-27", "2027-01-01"  # AFTER: the day after the end
HOLIDAY = article("Holiday returns", "returns",
                  "Items bought for the holidays can be returned within 60 days of delivery.",
                  valid_from="2026-11-20", valid_until="2026-12-31")
WINDOW = "(served 2026-11-20 to 2026-12-31)"
RETURNS_WINDOW = {**FIXTURES["returns-window"], "expect": {
    **FIXTURES["returns-window"]["expect"], "forbidden": ["60 days"]}}
HOLIDAY_GIFT = fixture("I bought a holiday gift. How many days do I have to return it?",
                       ["60 days"], ["holiday-returns"])
SUITES = {"core": {**FIXTURES, "returns-window": RETURNS_WINDOW, "holiday-gift": HOLIDAY_GIFT}}
CASE_IDS = sorted(f"core/{stem}" for stem in SUITES["core"])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The store with its baseline recorded with the KB as served before the window."""
    root = write_gate_store(tmp_path_factory.mktemp("seasonal"),
                            articles={**ARTICLES, "holiday-returns": HOLIDAY}, suites=SUITES)
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
               "--update-baseline", "--accept-failing", "--as-of", BEFORE]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture
def store(recorded, pytester) -> Path:
    shutil.copytree(recorded, pytester.path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".harness-cache", "agent-runs.log"))
    return pytester.path


def section(result: pytest.RunResult, header: str) -> list[str]:
    """The lines of the summary section that starts with `header` (its indented lines)."""
    lines = result.outlines
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"expected one {header!r} line in:\n{result.stdout.str()}"
    body = []
    for line in lines[starts[0] + 1:]:
        if not line.startswith("  "):
            break
        body.append(line)
    return [lines[starts[0]], *body]


def test_the_baseline_made_before_the_window_does_not_know_the_seasonal_article(recorded):
    cases = baseline_of(recorded)["cases"]
    assert sorted(cases) == CASE_IDS
    assert not [c for c, e in cases.items() if "holiday-returns" in e["retrieved"]]
    assert cases["core/returns-window"]["passed"] is True
    assert cases["core/holiday-gift"]["passed"] is False  # its article is not served yet


def test_inside_the_window_the_summary_names_each_case_the_seasonal_article_reaches(
    store, pytester,
):
    result = run_suites(pytester, "--as-of", INSIDE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert section(result, "seasonal content (") == [
        "seasonal content (3 cases changed by dated articles):",
        f"  holiday-returns {WINDOW} now retrieved by:",
        "    core/holiday-gift [better], core/opened-beans [same], core/returns-window",
        "    [worse]",
    ]
    # the case it makes worse blocks the gate, with the article to blame
    result.stdout.fnmatch_lines([
        "core/returns-window: worse than the baseline",
        "  accuracy: pass -> fail: states '60 days', which the fixture forbids"
        " (it comes from article holiday-returns)",
    ])
    assert section(result, "worse (") == [
        "worse (1):", "  core/returns-window: accuracy pass -> fail, score 1.00 -> 0.60"]
    assert section(result, "better (")[0] == "better (1):"
    result.assert_outcomes(passed=len(CASE_IDS) - 1, failed=1)
    assert_gate(result, "FAIL", cases=len(CASE_IDS), blocking=1, worse=1, errors=0)


def test_targeting_the_case_a_seasonal_article_breaks_does_not_ship_it(store, pytester):
    """A target must pass: targeting the worse case only changes why the gate fails."""
    result = run_suites(pytester, "--as-of", INSIDE, "--target", "core/holiday-gift",
                        "--target", "core/returns-window")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["core/returns-window: targeted by this change but does not pass"])
    result.stdout.no_fnmatch_line("core/returns-window: worse than the baseline")
    result.stdout.fnmatch_lines(["PASSED suites/core/holiday-gift.yaml::holiday-gift"])
    result.stdout.fnmatch_lines(["FAILED suites/core/returns-window.yaml::returns-window*"])
    assert_gate(result, "FAIL", cases=len(CASE_IDS), blocking=1, worse=1)


def test_after_the_window_the_seasonal_content_retires_cleanly(store, pytester):
    result = run_suites(pytester, "--as-of", AFTER, "--harness-report", "report.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("seasonal content (*")
    result.stdout.no_fnmatch_line("*now retrieves*")
    result.stdout.no_fnmatch_line("*no longer retrieves*")
    result.stdout.no_fnmatch_line("worse (*")
    # the holiday fixture fails again, as in the baseline: a known failure, not a block
    result.assert_outcomes(passed=len(CASE_IDS) - 1, xfailed=1)
    result.stdout.fnmatch_lines(["XFAIL suites/core/holiday-gift.yaml::holiday-gift*"])
    assert_gate(result, "PASS", cases=len(CASE_IDS), blocking=0, worse=0, known_failures=1)
    report = json.loads((store / "report.json").read_text(encoding="utf-8"))
    baseline = baseline_of(store)["cases"]
    retrieved = {c["id"]: c["retrieved"] for c in report["cases"]}
    assert sorted(retrieved) == CASE_IDS
    assert {c: r for c, r in retrieved.items() if r != baseline[c]["retrieved"]} == {}
    assert {c["as_of"] for c in report["cases"]} == {AFTER}
    assert agent_runs(store) == len(CASE_IDS)
