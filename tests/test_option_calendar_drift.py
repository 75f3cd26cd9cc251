"""The verdict of a commit does not depend on the day CI runs: a case that is worse only because
a dated article entered or left its window since the baseline was recorded is a calendar change,
reported and not blocking; a scheduled run can make it fail (--fail-on-calendar-drift); a
seasonal preview (--as-of) still sees it. The day is faked with HARNESS_TODAY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gatekit import ARTICLES, FIXTURES, article, fixture, write_gate_store

HOLIDAY = article("Holiday returns extension", "returns",
                  "Holiday gifts bought in November can be returned until January 31.",
                  valid_from="2026-11-20", valid_until="2026-11-30")
UNPINNED = fixture("Is there a holiday returns extension for gifts?", ["January 31"],
                   ["holiday-returns"])
UNPINNED.pop("as_of", None)
SUITES = {"core": {**FIXTURES, "holiday-extension": UNPINNED}}


def pytest_on(root: Path, day: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARNESS_TODAY": day}
    return subprocess.run([sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
                           *args], cwd=root, env=env, capture_output=True, text=True,
                          check=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """Recorded on 2026-11-27, when the holiday article is served."""
    root = write_gate_store(tmp_path_factory.mktemp("drift"),
                            articles={**ARTICLES, "holiday-returns": HOLIDAY}, suites=SUITES)
    done = pytest_on(root, "2026-11-27", "--update-baseline")
    assert done.returncode == 0, done.stdout
    return root


def test_the_same_commit_gets_the_same_verdict_on_two_days(recorded):
    before, after = pytest_on(recorded, "2026-11-27"), pytest_on(recorded, "2026-12-05")
    assert before.returncode == after.returncode == 0, after.stdout
    assert "calendar changes (1;" in after.stdout
    assert "  core/holiday-extension: " in after.stdout
    assert "1 calendar changes" in after.stdout and "0 blocking" in after.stdout


def test_a_scheduled_run_fails_on_calendar_drift_so_the_team_re_records(recorded):
    done = pytest_on(recorded, "2026-12-05", "--fail-on-calendar-drift")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "core/holiday-extension: worse than the baseline" in done.stdout


def test_a_seasonal_preview_still_sees_the_calendar(recorded):
    done = pytest_on(recorded, "2026-11-27", "--as-of", "2026-12-05")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "calendar changes" not in done.stdout
