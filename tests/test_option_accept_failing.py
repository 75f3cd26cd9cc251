"""--update-baseline never records a failing new case silently: it lists them and writes
nothing, unless --accept-failing says to record them as known failures; it says what it wrote.
Several suites are written all or none, and a killed update is finished by the next run."""

from __future__ import annotations

import json

import pytest
from gatekit import FIXTURES, fixture, run_suites, write_gate_store

from harness.regression.baseline import PENDING, read_baseline

FAILING = fixture("How many days do I have to return an item?", ["45 days"], ["returns-policy"])


@pytest.fixture
def store(pytester):
    return write_gate_store(pytester.path, suites={"core": {**FIXTURES, "wrong": FAILING},
                                                   "other": {"ok": FIXTURES["returns-window"]}})


def test_a_failing_new_case_is_listed_and_nothing_is_written(store, pytester):
    result = run_suites(pytester, "--update-baseline")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*core/wrong: new case that does not pass*",
                                 "*not recorded: a new case that does not pass*"])
    result.stdout.fnmatch_lines(["note: baseline not written: 1 new case(s) do not pass*"])
    assert not (store / "suites" / "core" / "baseline.json").exists()
    assert not (store / "suites" / "other" / "baseline.json").exists()  # all or nothing


def test_accept_failing_records_them_as_known_failures_and_says_what_it_wrote(store, pytester):
    result = run_suites(pytester, "--update-baseline", "--accept-failing")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["baseline written: suites/core/baseline.json (8 cases: 8 new,"
                                 " 0 changed, 0 unchanged; 1 known failures)*"])
    again = run_suites(pytester)
    assert again.ret == pytest.ExitCode.OK
    again.stdout.fnmatch_lines(["XFAIL suites/core/wrong.yaml::wrong*"])


def test_accept_failing_alone_is_a_usage_error(store, pytester):
    result = run_suites(pytester, "--accept-failing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--accept-failing only goes with --update-baseline*"])


def test_an_update_killed_after_its_journal_is_finished_by_the_next_read(tmp_path):
    suite = tmp_path / "suites" / "core"
    suite.mkdir(parents=True)
    temporary = suite / ".baseline.json.x.tmp"
    temporary.write_text(json.dumps({"schema": 1, "suite": "core", "cases": {}}))
    stray = tmp_path / "suites" / "core" / ".baseline.json.stray.tmp"
    (tmp_path / PENDING).write_text(json.dumps({str(suite / "baseline.json"): str(temporary)}))
    stray.write_text("half")
    assert read_baseline(tmp_path, "core").entries == {}
    assert (suite / "baseline.json").is_file() and not temporary.exists()
    assert not (tmp_path / PENDING).exists() and not stray.exists()
