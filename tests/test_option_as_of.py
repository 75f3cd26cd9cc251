"""--as-of YYYY-MM-DD: the date the KB is served at; a fixture's own as_of wins."""

from __future__ import annotations

import pytest
from gatekit import ARTICLES, article, fixture, run_suites, write_gate_store

# Served from 2026-11-27 through 2026-11-30 only (both days included).
BLACK_FRIDAY = article(
    "Black Friday 2026", "promotions",
    "Our Black Friday sale takes 25% off all grinders from November 27 to November 30.",
    valid_from="2026-11-27", valid_until="2026-11-30")
QUESTION = "Is there a Black Friday discount on grinders?"
SUITES = {"seasonal": {
    "bf-discount": fixture(QUESTION, ["25%"], ["black-friday-2026"]),
    "bf-discount-pinned": {**fixture(QUESTION, ["25%"], ["black-friday-2026"]),
                           "as_of": "2026-11-27"},
}}


@pytest.fixture
def store(pytester):
    return write_gate_store(pytester.path, articles={**ARTICLES, "black-friday-2026": BLACK_FRIDAY},
                            suites=SUITES)


def test_a_seasonal_article_is_served_on_the_last_day_of_its_window(store, pytester):
    result = run_suites(pytester, "--as-of", "2026-11-30", "-v")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["--- seasonal/bf-discount [resolve]",
                                 "    Our Black Friday sale takes 25% off*"])


def test_a_seasonal_article_is_not_served_after_its_window_unless_the_fixture_pins_a_date(
    store, pytester,
):
    result = run_suites(pytester, "--as-of", "2026-12-01", "-v")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "FAILED suites/seasonal/bf-discount.yaml::bf-discount*",
    ])
    result.stdout.fnmatch_lines([
        "seasonal/bf-discount: new case that does not pass*",
        "  relevance: fail: hands off a question the KB answers (retrieval problem: article"
        " black-friday-2026 was not retrieved)*",
    ])
    # the fixture's own as_of (2026-11-27) wins over --as-of
    result.stdout.fnmatch_lines([
        "PASSED suites/seasonal/bf-discount-pinned.yaml::bf-discount-pinned"])
    result.stdout.fnmatch_lines(["--- seasonal/bf-discount-pinned [resolve]",
                                 "    Our Black Friday sale takes 25% off*"])


@pytest.mark.parametrize("bad", ["2026-02-30", "next friday"])
def test_a_bad_date_is_a_usage_error(store, pytester, bad):
    result = run_suites(pytester, "--as-of", bad)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --as-of '{bad}': expected a date YYYY-MM-DD"])
    result.stdout.no_fnmatch_line("*harness summary*")
