"""--changed-since REF: run only the fixtures a change since git REF can affect.

The gate store (tests/gatekit.py) is recorded and committed once; each test edits a copy (its
git history included) in pytester.path and runs `pytest suites/ --changed-since REF` there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gatekit import (
    FIXTURES,
    agent_runs,
    assert_gate,
    baseline_of,
    commit_all,
    fixture,
    git,
    run_suites,
    write_gate_store,
)

ALL = len(FIXTURES)
# The cases whose recorded run retrieved returns-policy (checked against the baseline below).
RETURNS_CASES = ["core/opened-beans", "core/returns-window"]
NEW_FIXTURE = fixture("Can I exchange a gift card for cash?", ["cannot be exchanged for cash"],
                      ["gift-cards"])
_NOTE = re.compile(r"^harness: --changed-since (\S+): running (\d+) of (\d+) cases, skipped (\d+)"
                   r" \(.*\); why the others run: (.*)$")
_ITEM = re.compile(r"^(PASSED|FAILED|XFAIL|XPASS|ERROR|SKIPPED) suites/core/[\w-]+\.yaml::([\w-]+)")


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Path:
    """The gate store with its baseline recorded and everything committed to git."""
    root = write_gate_store(tmp_path_factory.mktemp("committed"))
    (root / ".gitignore").write_text("agent-runs.log\n__pycache__/\n", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
               "--update-baseline"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    git(root, "init", "-q")
    commit_all(root, "store and its baseline")
    return root


@pytest.fixture
def store(committed, pytester) -> Path:
    """A copy of the committed store (with its .git) in pytester.path, with a clean tree."""
    shutil.copytree(committed, pytester.path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".harness-cache", "agent-runs.log"))
    assert git(pytester.path, "status", "--porcelain").stdout == ""
    return pytester.path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def selection(result: pytest.RunResult) -> tuple[str, int, int, int, str]:
    """The run's one selection note: (ref, ran, of, skipped, why the others run)."""
    notes = [m for line in result.outlines if (m := _NOTE.match(line))]
    assert len(notes) == 1, f"expected one --changed-since note in:\n{result.stdout.str()}"
    ref, ran, total, skipped, why = notes[0].groups()
    return ref, int(ran), int(total), int(skipped), why


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Each item that ran, by fixture stem, with its -rA outcome."""
    return {m.group(2): m.group(1) for line in result.outlines if (m := _ITEM.match(line))}


def test_the_committed_baseline_is_what_the_selection_is_judged_on(committed):
    """Guard: returns-policy is retrieved by exactly the cases the next test expects to run."""
    cases = baseline_of(committed)["cases"]
    assert sorted(cases) == sorted(f"core/{stem}" for stem in FIXTURES)
    assert sorted(c for c, e in cases.items() if "returns-policy" in e["retrieved"]) == (
        RETURNS_CASES)


def test_an_article_edit_runs_only_the_cases_that_retrieve_it_and_fails_on_the_regression(
    store, pytester,
):
    edit(store / "knowledge" / "articles" / "returns-policy.md", "30 days", "14 days")
    result = run_suites(pytester, "--changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert selection(result) == ("HEAD", 2, ALL, ALL - 2,
                                 "2 it retrieved changed article returns-policy")
    result.assert_outcomes(passed=1, failed=1, deselected=ALL - 2)
    result.stdout.fnmatch_lines([f"collected {ALL} items / {ALL - 2} deselected / 2 selected"])
    assert outcomes(result) == {"opened-beans": "PASSED", "returns-window": "FAILED"}
    result.stdout.fnmatch_lines([
        "core/returns-window: worse than the baseline",
        "  accuracy: pass -> fail: missing 1 of 1 facts: '30 days'"
        " (article returns-policy no longer states it)",
    ])
    assert_gate(result, "FAIL", cases=2, blocking=1, worse=1, errors=0)
    result.stdout.no_fnmatch_line("removed (*")  # a deselected case is not a removed one
    assert agent_runs(store) == 2  # the skipped cases never reached the agent


def test_a_prompt_template_edit_runs_every_case(store, pytester):
    template = store / "prompts" / "system.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "{# reviewed by the coach #}\n",
                        encoding="utf-8")
    result = run_suites(pytester, "--changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.OK
    assert selection(result) == ("HEAD", ALL, ALL, 0, f"{ALL} prompts/system.md.j2 changed")
    result.assert_outcomes(passed=ALL, deselected=0)
    result.stdout.no_fnmatch_line("*deselected*")
    assert set(outcomes(result)) == set(FIXTURES)
    assert_gate(result, "PASS", cases=ALL, blocking=0, worse=0)
    assert agent_runs(store) == ALL


def test_a_new_untracked_fixture_runs(store, pytester):
    (store / "suites" / "core" / "gift-card-cash.yaml").write_text(
        yaml.safe_dump(NEW_FIXTURE, sort_keys=False), encoding="utf-8")
    assert git(store, "status", "--porcelain").stdout.split() == [
        "??", "suites/core/gift-card-cash.yaml"]
    result = run_suites(pytester, "--changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.OK
    assert selection(result) == ("HEAD", 1, ALL + 1, ALL, "1 its fixture changed")
    result.assert_outcomes(passed=1, deselected=ALL)
    assert outcomes(result) == {"gift-card-cash": "PASSED"}
    result.stdout.fnmatch_lines(["new (1):", "  core/gift-card-cash"])
    assert_gate(result, "PASS", cases=1, blocking=0)
    assert agent_runs(store) == 1


def test_an_unknown_ref_is_a_usage_error_that_names_it(store, pytester):
    result = run_suites(pytester, "--changed-since", "no-such-ref")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no-such-ref" in result.stderr.str()
    result.stdout.no_fnmatch_line("*harness summary*")
    assert agent_runs(store) == 0
    # impact.changes_since's own message for a ref that names no commit
    result.stderr.fnmatch_lines(["ERROR: --changed-since no-such-ref: no such commit*"])


def test_a_target_always_runs_even_when_nothing_changed(store, pytester):
    result = run_suites(pytester, "--changed-since", "HEAD", "--target", "core/gift-card-expiry")
    assert result.ret == pytest.ExitCode.OK
    assert selection(result) == ("HEAD", 1, ALL, ALL - 1, "1 it is a target")
    result.assert_outcomes(passed=1, deselected=ALL - 1)
    assert outcomes(result) == {"gift-card-expiry": "PASSED"}
    assert_gate(result, "PASS", cases=1, blocking=0, worse=0)
    result.stdout.no_fnmatch_line("target not found among the cases run: *")
    assert agent_runs(store) == 1
