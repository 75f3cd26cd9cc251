"""--baseline-ref REF: compare with the baseline committed at REF, not the working tree's."""

from __future__ import annotations

import pytest
from gatekit import (
    FIXTURES,
    assert_gate,
    baseline_of,
    commit_all,
    git,
    run_suites,
    write_gate_store,
)


def test_the_run_compares_with_the_baseline_at_the_ref_not_the_working_tree(pytester):
    root = write_gate_store(pytester.path)
    assert run_suites(pytester, "--update-baseline").ret == pytest.ExitCode.OK
    git(root, "init", "-q")
    commit_all(root, "store and its baseline")
    git(root, "tag", "base")

    # A change makes returns-window fail, and its author re-records the working-tree baseline:
    # against the working tree nothing is worse; against the committed baseline it is.
    article = root / "knowledge" / "articles" / "returns-policy.md"
    article.write_text(article.read_text(encoding="utf-8").replace("30 days", "14 days"),
                       encoding="utf-8")
    assert run_suites(pytester, "--update-baseline").ret == pytest.ExitCode.OK
    assert baseline_of(root)["cases"]["core/returns-window"]["passed"] is False
    committed = git(root, "show", "base:suites/core/baseline.json").stdout
    assert '"accuracy": "fail"' not in committed

    against_ref = run_suites(pytester, "--baseline-ref", "base")
    assert against_ref.ret == pytest.ExitCode.TESTS_FAILED
    against_ref.assert_outcomes(passed=6, failed=1)
    against_ref.stdout.fnmatch_lines([
        "core/returns-window: worse than the baseline",
        "  accuracy: pass -> fail: missing 1 of 1 facts: '30 days'*",
    ])
    against_ref.stdout.fnmatch_lines([
        "worse (1):", "  core/returns-window: accuracy pass -> fail, score 1.00 -> 0.60"])
    assert_gate(against_ref, "FAIL", cases=7, blocking=1, worse=1)

    against_tree = run_suites(pytester)
    assert against_tree.ret == pytest.ExitCode.OK
    against_tree.assert_outcomes(passed=6, xfailed=1)
    against_tree.stdout.no_fnmatch_line("worse (*")
    assert_gate(against_tree, "PASS", cases=7, blocking=0, worse=0, known_failures=1)


def test_a_ref_without_a_baseline_makes_every_case_new_and_an_unknown_ref_is_a_usage_error(
    pytester,
):
    root = write_gate_store(pytester.path)
    git(root, "init", "-q")
    commit_all(root, "store without a baseline")

    fresh = run_suites(pytester, "--baseline-ref", "HEAD")
    assert fresh.ret == pytest.ExitCode.OK
    fresh.stdout.fnmatch_lines([f"new ({len(FIXTURES)}):"])
    assert_gate(fresh, "PASS", cases=len(FIXTURES), blocking=0)

    unknown = run_suites(pytester, "--baseline-ref", "origin/no-such-branch")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines([
        "ERROR: --baseline-ref origin/no-such-branch: no such commit in the git repository*"])
    unknown.stdout.no_fnmatch_line("*harness summary*")
