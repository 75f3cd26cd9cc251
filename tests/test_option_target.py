"""--target SUITE/ID: the cases a change means to fix must pass; an unknown target fails."""

from __future__ import annotations

import pytest
from gatekit import FIXTURES, assert_gate, fixture, run_suites, write_gate_store

# A planted failure: the KB does not say there is no restocking fee (yet).
RESTOCKING = fixture("Is there a restocking fee if I return an item for a refund?",
                     ["no restocking fee"], ["returns-policy"])
FIX = ("Opened coffee beans cannot be returned.",
       "Opened coffee beans cannot be returned.\nThere is no restocking fee on returns.")


def test_a_targeted_case_must_pass_and_an_article_edit_that_fixes_it_ships(pytester):
    root = write_gate_store(pytester.path, suites={"core": {
        **FIXTURES, "restocking-fee": RESTOCKING}})
    assert run_suites(pytester, "--update-baseline", "--accept-failing").ret == pytest.ExitCode.OK

    unfixed = run_suites(pytester, "--target", "core/restocking-fee")
    assert unfixed.ret == pytest.ExitCode.TESTS_FAILED
    unfixed.assert_outcomes(passed=7, failed=1)
    unfixed.stdout.fnmatch_lines([
        "core/restocking-fee: targeted by this change but does not pass",
        "  accuracy: fail: missing 1 of 1 facts: 'no restocking fee'*",
    ])
    assert_gate(unfixed, "FAIL", cases=8, blocking=1, worse=0)

    article = root / "knowledge" / "articles" / "returns-policy.md"
    article.write_text(article.read_text(encoding="utf-8").replace(*FIX), encoding="utf-8")
    fixed = run_suites(pytester, "--target", "core/restocking-fee")
    assert fixed.ret == pytest.ExitCode.OK
    fixed.assert_outcomes(passed=8)
    fixed.stdout.fnmatch_lines(["PASSED suites/core/restocking-fee.yaml::restocking-fee"])
    fixed.stdout.fnmatch_lines(["better (1):", "  core/restocking-fee: accuracy fail -> pass*"])
    fixed.stdout.no_fnmatch_line("worse (*")
    assert_gate(fixed, "PASS", cases=8, blocking=0, worse=0, known_failures=0)

    fixed.stdout.fnmatch_lines(["target core/restocking-fee: passes"])

    unknown = run_suites(pytester, "--target", "core/restocking-fee", "--target", "core/nope")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR  # as pytest reports a bad option
    unknown.stderr.fnmatch_lines(["ERROR: --target core/nope: no such case; expected SUITE/ID*"])
    unknown.stdout.no_fnmatch_line("*harness summary*")
