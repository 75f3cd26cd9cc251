"""--update-baseline: record the run as each suite's committed baseline (pytester, subprocess)."""

from __future__ import annotations

import pytest
from gatekit import FIXTURES, assert_gate, baseline_of, fixture, run_suites, write_gate_store

CASE_IDS = sorted(f"core/{stem}" for stem in FIXTURES)
# Expects a fact that no article states: the reference model cannot pass it.
RESTOCKING = fixture("Is there a restocking fee if I return an item for a refund?",
                     ["no restocking fee"], ["returns-policy"])
UNLOADABLE = {**FIXTURES["gift-card-expiry"], "priority": "high"}  # an unknown key


def test_update_baseline_records_every_case_then_a_plain_run_passes(pytester):
    root = write_gate_store(pytester.path)
    path = root / "suites" / "core" / "baseline.json"
    assert not path.exists()

    recorded = run_suites(pytester, "--update-baseline")
    assert recorded.ret == pytest.ExitCode.OK
    recorded.assert_outcomes(passed=7)
    recorded.stdout.fnmatch_lines([
        "baseline written: suites/core/baseline.json (7 cases*",
        "hint: review the baseline diff with `git diff` and commit it with the change.",
    ])
    recorded.stdout.no_fnmatch_line("GATE *")
    baseline = baseline_of(root)
    assert list(baseline["cases"]) == CASE_IDS
    assert all(entry["passed"] and entry["error"] is None for entry in baseline["cases"].values())
    first = path.read_bytes()
    assert first.endswith(b"}\n")

    plain = run_suites(pytester)
    assert plain.ret == pytest.ExitCode.OK
    plain.assert_outcomes(passed=7)
    assert_gate(plain, "PASS", cases=7, blocking=0, worse=0, known_failures=0)
    plain.stdout.no_fnmatch_line("new (*")
    plain.stdout.no_fnmatch_line("baseline written*")
    assert path.read_bytes() == first

    again = run_suites(pytester, "--update-baseline")
    assert again.ret == pytest.ExitCode.OK
    assert path.read_bytes() == first  # the same run gives a byte-identical baseline


def test_update_baseline_keeps_failures_skips_unloadable_cases_and_drops_deleted_ones(pytester):
    root = write_gate_store(pytester.path, suites={"core": {
        **FIXTURES, "restocking-fee": RESTOCKING, "unloadable": UNLOADABLE}})

    recorded = run_suites(pytester, "--update-baseline", "--accept-failing")  # restocking fails
    assert recorded.ret == pytest.ExitCode.TESTS_FAILED  # the unloadable fixture fails
    recorded.assert_outcomes(passed=8, failed=1)
    recorded.stdout.fnmatch_lines(["*unloadable.yaml, line * at `priority`: unknown key*"])
    recorded.stdout.fnmatch_lines(["baseline written: suites/core/baseline.json (8 cases*"])
    cases = baseline_of(root)["cases"]
    assert "core/unloadable" not in cases
    assert cases["core/restocking-fee"]["passed"] is False  # recorded: a known failure
    assert cases["core/restocking-fee"]["grades"]["accuracy"] == "fail"

    (root / "suites" / "core" / "unloadable.yaml").unlink()
    (root / "suites" / "core" / "gift-card-expiry.yaml").unlink()
    rerecorded = run_suites(pytester, "--update-baseline")
    assert rerecorded.ret == pytest.ExitCode.OK
    rerecorded.stdout.fnmatch_lines(["removed (1):", "  core/gift-card-expiry"])
    rerecorded.stdout.fnmatch_lines(["baseline written: suites/core/baseline.json (7 cases*"])
    cases = baseline_of(root)["cases"]
    assert "core/gift-card-expiry" not in cases
    assert sorted(cases) == sorted({*CASE_IDS, "core/restocking-fee"} - {"core/gift-card-expiry"})


def test_updating_one_fixture_keeps_the_rest_of_the_baseline(pytester):
    """Re-recording one case (`pytest suites/core/x.yaml --update-baseline`) must not drop the
    committed entries of the cases that were not collected."""
    root = write_gate_store(pytester.path)
    assert run_suites(pytester, "--update-baseline").ret == pytest.ExitCode.OK
    before = baseline_of(root)["cases"]

    one = run_suites(pytester, "--update-baseline", where="suites/core/returns-window.yaml")
    assert one.ret == pytest.ExitCode.OK
    one.assert_outcomes(passed=1)
    assert baseline_of(root)["cases"] == before
    one.stdout.fnmatch_lines(["baseline written: suites/core/baseline.json (7 cases*"])
    one.stdout.no_fnmatch_line("removed (*")


def test_update_baseline_cannot_be_combined_with_baseline_ref(pytester):
    root = write_gate_store(pytester.path)
    result = run_suites(pytester, "--update-baseline", "--baseline-ref", "main")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--update-baseline*cannot be combined with --baseline-ref*"])
    assert not (root / "suites" / "core" / "baseline.json").exists()
