"""The gate end to end, through `pytest suites/` in a subprocess: record a baseline once, then
show what each kind of KB or fixture change does to the run (tests/gatekit.py has the store)."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gatekit import (
    FIXTURES,
    RETURNS,
    agent_runs,
    assert_gate,
    baseline_of,
    run_suites,
    write_gate_store,
)

CASE_IDS = sorted(f"core/{stem}" for stem in FIXTURES)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The gate store with its baseline recorded by `pytest suites/ --update-baseline`."""
    root = write_gate_store(tmp_path_factory.mktemp("recorded"))
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-rA",
               "--update-baseline"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    return root, done


@pytest.fixture
def store(recorded, pytester) -> Path:
    """A copy of the recorded store in pytester.path, where `run_suites` runs."""
    root, _ = recorded
    shutil.copytree(root, pytester.path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".harness-cache", "agent-runs.log"))
    return pytester.path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_recording_the_baseline_passes_and_writes_one_entry_per_case(recorded):
    root, done = recorded
    assert done.returncode == 0, done.stdout + done.stderr
    assert "baseline written: suites/core/baseline.json (7 cases" in done.stdout
    assert "7 passed" in done.stdout
    assert agent_runs(root) == 7
    baseline = baseline_of(root)
    assert list(baseline["cases"]) == CASE_IDS
    assert all(entry["passed"] for entry in baseline["cases"].values())
    assert baseline["made_with"]["model"] == "reference/kb-grounded"


def test_a_changed_fact_fails_exactly_the_cases_that_depend_on_it(store, pytester):
    edit(store / "knowledge" / "articles" / "returns-policy.md", "30 days", "14 days")
    result = run_suites(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines([
        "core/returns-window: worse than the baseline",
        "  accuracy: pass -> fail: missing 1 of 1 facts: '30 days'"
        " (article returns-policy no longer states it)",
        "  score: 1.00 -> 0.60",
        '  reply: "You can return most items within 14 days of delivery*',
    ])
    result.stdout.fnmatch_lines([
        "worse (1):",
        "  core/returns-window: accuracy pass -> fail, score 1.00 -> 0.60",
    ])
    assert_gate(result, "FAIL", cases=7, blocking=1, worse=1, known_failures=0)
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    assert len(failed) == 1 and "returns-window" in failed[0]
    # the other case drawn from the same article, not from the changed fact, still passes
    result.stdout.fnmatch_lines(["PASSED suites/core/opened-beans.yaml::opened-beans"])


def test_a_typo_fix_in_an_unrelated_article_passes_with_nothing_worse(store, pytester):
    edit(store / "knowledge" / "articles" / "loyalty.md", "evrey", "every")
    before = (store / "suites" / "core" / "baseline.json").read_bytes()
    result = run_suites(pytester)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=7)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if line.startswith("warning: "))
    rest = [line.strip() for line in lines[start + 1:start + 4] if line.startswith("  ")]
    warning = " ".join([lines[start], *rest])
    assert fnmatch.fnmatch(warning, "warning: baseline of core made with KB hash * (baseline)"
                           " vs * (this run) (expected when the change edits knowledge/)"), warning
    assert_gate(result, "PASS", cases=7, blocking=0, worse=0, known_failures=0)
    result.stdout.fnmatch_lines(["hint: nothing got worse; the change can ship."])
    result.stdout.no_fnmatch_line("worse (*")
    assert (store / "suites" / "core" / "baseline.json").read_bytes() == before  # only read
    assert agent_runs(store) == 7  # the probe counts runs (the broken-store test relies on it)


def test_a_fixture_naming_a_deleted_article_is_reported_worse_with_its_error(store, pytester):
    (store / "knowledge" / "articles" / "gift-cards.md").unlink()
    result = run_suites(pytester, "--harness-report", "report.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=6, failed=1)
    error = ("suites/core/gift-card-expiry.yaml, line * at `expect.articles.0`:"
             " names no article: 'gift-cards' is not in knowledge/articles/")
    result.stdout.fnmatch_lines(["*_ case core/gift-card-expiry _*", error])
    result.stdout.fnmatch_lines(["FAILED suites/core/gift-card-expiry.yaml::gift-card-expiry*"])
    result.stdout.fnmatch_lines(["worse (1):", "  core/gift-card-expiry: suites/core/gift-card*",
                                 "*names no article: 'gift-cards' is not in*"])
    result.stdout.fnmatch_lines([
        "review queue (1, worst first):", "  core/gift-card-expiry  0.00  error: suites/core/*"])
    report = json.loads((pytester.path / "report.json").read_text())
    (case,) = [c for c in report["cases"] if c["id"] == "core/gift-card-expiry"]
    assert fnmatch.fnmatch(case["error"], error)
    assert_gate(result, "FAIL", cases=7, blocking=1, errors=1, known_failures=0)
    # the fix is in the store (restore the article or edit the fixture): the hint says so
    hint = next(line for line in result.outlines if line.startswith("hint: "))
    assert "fixture" in hint or "article" in hint, hint
    cases = {c["id"]: c for c in json.loads((store / "report.json").read_text())["cases"]}
    assert sorted(cases) == CASE_IDS  # never dropped
    assert cases["core/gift-card-expiry"]["change"] == "worse"
    assert "names no article: 'gift-cards'" in cases["core/gift-card-expiry"]["error"]


def test_a_deleted_fixture_is_shown_as_removed(store, pytester):
    (store / "suites" / "core" / "opened-beans.yaml").unlink()
    result = run_suites(pytester)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["removed (1):", "  core/opened-beans"])
    assert_gate(result, "PASS", blocking=0, worse=0, known_failures=0)
    assert "core/opened-beans" in baseline_of(store)["cases"]  # only --update-baseline drops it


def test_a_broken_article_stops_the_run_before_any_model_call(store, pytester):
    article = store / "knowledge" / "articles" / "shipping.md"
    edit(article, "status: active", "status: published")
    line = article.read_text(encoding="utf-8").splitlines().index("status: published") + 1
    before = (store / "suites" / "core" / "baseline.json").read_bytes()
    result = run_suites(pytester, "--harness-report", "report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: the store cannot be loaded (1 problem(s)):",
        f"  knowledge/articles/shipping.md, line {line} at `status`: *'published'*",
    ])
    assert agent_runs(store) == 0
    result.stdout.no_fnmatch_line("*harness summary*")
    assert not (store / "report.json").exists()
    assert (store / "suites" / "core" / "baseline.json").read_bytes() == before


def test_the_store_copy_starts_from_the_committed_text(store):
    """Guard for the tests above: the copy holds the recorded store, not an edited one."""
    assert RETURNS.splitlines()[0] in (store / "knowledge" / "articles" /
                                       "returns-policy.md").read_text(encoding="utf-8")
    assert list(baseline_of(store)["cases"]) == CASE_IDS
