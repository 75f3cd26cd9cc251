"""compare.py, gate.py and baseline.py: how a run is compared, gated and recorded."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import harness.regression.baseline
from harness.errors import BaselineError
from harness.regression.baseline import (
    Entry,
    Provenance,
    baseline_path,
    read_baseline,
    render_baseline,
    write_atomic,
)
from harness.regression.compare import Comparison, compare_entries
from harness.regression.gate import decide

DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
PROVENANCE = Provenance(harness="0.1.0", model="reference/kb-grounded", prompt="p" * 16,
                        kb="k" * 16)


def entry(score: float = 1.0, error: str | None = None, reply: str = "You have 30 days.",
          **grades: str) -> Entry:
    """A baseline entry: every dimension passes unless given."""
    if error:
        return Entry(score=0.0, passed=False, review=True, outcome=None, grades={}, reasons={},
                     reply="", error=error)
    graded = {name: grades.get(name, "pass") for name in DIMENSIONS}
    reasons = {name: f"{name} is {grade}" for name, grade in graded.items()}
    passed = all(g == "pass" for g in graded.values())
    review = graded["accuracy"] == "fail" or sum(g != "pass" for g in graded.values()) >= 2
    return Entry(score=score, passed=passed, review=review, outcome="resolve", grades=graded,
                 reasons=reasons, reply=reply)


GOOD = entry()
BAD = entry(0.6, accuracy="fail")  # a failing case: accuracy fails
WORSE_BAD = entry(0.35, accuracy="fail", relevance="fail")


# -- compare ------------------------------------------------------------------------------------


def test_the_same_result_is_same():
    comparison = compare_entries("core/a", GOOD, entry())
    assert comparison.change == "same"
    assert comparison.worse == () and comparison.better == ()
    assert comparison.changed_fields == ()


def test_what_changed_is_listed_field_by_field():
    assert compare_entries("core/a", GOOD, BAD).changed_fields == (
        "grades.accuracy", "passed", "reasons.accuracy", "review", "score")


def test_a_lower_grade_is_worse_and_lists_each_step():
    comparison = compare_entries("core/a", GOOD, BAD)
    assert comparison.change == "worse"
    steps = {(s.field, s.old, s.new) for s in comparison.worse}
    assert steps == {("accuracy", "pass", "fail"), ("score", "1.00", "0.60")}
    assert comparison.better == ()


def test_a_higher_grade_is_better():
    comparison = compare_entries("core/a", BAD, GOOD)
    assert comparison.change == "better"
    assert {(s.field, s.old, s.new) for s in comparison.better} == {
        ("accuracy", "fail", "pass"), ("score", "0.60", "1.00")}
    assert comparison.worse == ()


def test_a_case_missing_from_the_baseline_is_new():
    comparison = compare_entries("core/a", None, GOOD)
    assert (comparison.change, comparison.old, comparison.new) == ("new", None, GOOD)


def test_a_baseline_entry_without_a_result_is_removed():
    comparison = compare_entries("core/a", GOOD, None)
    assert (comparison.change, comparison.old, comparison.new) == ("removed", GOOD, None)


def test_a_case_that_errors_now_is_worse():
    comparison = compare_entries("core/a", GOOD, entry(error="cannot load: names no article"))
    assert comparison.change == "worse"
    assert [(s.field, s.new) for s in comparison.worse] == [
        ("error", "cannot load: names no article")]


def test_an_error_is_worse_even_than_a_failing_baseline():
    comparison = compare_entries("core/a", entry(0.0, accuracy="fail", relevance="fail",
                                                 tone="fail", resolution="fail"),
                                 entry(error="ModelError: 500"))
    assert comparison.change == "worse"


def test_a_case_that_runs_again_after_an_error_is_better():
    assert compare_entries("core/a", entry(error="boom"), GOOD).change == "better"


def test_a_lower_score_alone_is_worse():
    comparison = compare_entries("core/a", entry(1.0), entry(0.9))
    assert comparison.change == "worse"
    assert [(s.field, s.old, s.new) for s in comparison.worse] == [("score", "1.00", "0.90")]


def test_a_changed_reply_with_the_same_grades_is_same_but_listed_as_changed():
    comparison = compare_entries("core/a", GOOD, entry(reply="Thirty days from delivery."))
    assert comparison.change == "same"
    assert comparison.changed_fields == ("reply",)


def test_mixed_moves_count_as_worse():
    comparison = compare_entries("core/a", entry(0.8, tone="fail"), entry(0.9, accuracy="partial"))
    assert comparison.change == "worse"
    assert ("accuracy", "pass", "partial") in {(s.field, s.old, s.new) for s in comparison.worse}
    assert ("tone", "fail", "pass") in {(s.field, s.old, s.new) for s in comparison.better}


# -- gate ---------------------------------------------------------------------------------------


def gate(*pairs: tuple[str, Entry | None, Entry | None], targets: tuple[str, ...] = ()) -> Any:
    return decide([compare_entries(cid, old, new) for cid, old, new in pairs], targets)


def verdict(result: Any, case_id: str) -> Any:
    return next(v for v in result.verdicts if v.case_id == case_id)


def test_nothing_worse_passes_the_gate():
    result = gate(("core/a", GOOD, GOOD), ("core/b", BAD, GOOD))
    assert result.passed
    assert result.failing == ()
    assert {v.status for v in result.verdicts} == {"ok"}


def test_a_worse_case_blocks():
    result = gate(("core/a", GOOD, GOOD), ("core/b", GOOD, BAD))
    assert not result.passed
    assert [v.case_id for v in result.failing] == ["core/b"]
    assert verdict(result, "core/b").why == "worse than the baseline"


def test_a_target_must_pass():
    fixed = gate(("core/a", BAD, GOOD), targets=("core/a",))
    assert fixed.passed
    assert verdict(fixed, "core/a").target
    still = gate(("core/a", BAD, BAD), targets=("core/a",))
    assert not still.passed
    assert verdict(still, "core/a").why == "targeted by this change but does not pass"


def test_a_target_that_is_better_but_not_passing_still_fails():
    result = gate(("core/a", WORSE_BAD, BAD), targets=("core/a",))
    assert not result.passed


def test_a_known_failure_does_not_block_unless_targeted():
    result = gate(("core/a", BAD, BAD), ("core/b", GOOD, GOOD))
    assert result.passed
    assert verdict(result, "core/a").status == "known-failure"
    assert verdict(result, "core/a").why == "failed in the baseline too"
    targeted = gate(("core/a", BAD, BAD), ("core/b", GOOD, GOOD), targets=("core/a",))
    assert not targeted.passed
    assert verdict(targeted, "core/a").status == "fail"


def test_a_known_failure_that_gets_worse_blocks():
    result = gate(("core/a", BAD, WORSE_BAD))
    assert not result.passed
    assert verdict(result, "core/a").why == "worse than the baseline"


def test_a_new_failing_case_blocks_and_a_new_passing_one_does_not():
    result = gate(("core/new-bad", None, BAD), ("core/new-good", None, GOOD))
    assert not result.passed
    assert [v.case_id for v in result.failing] == ["core/new-bad"]
    assert "--update-baseline" in verdict(result, "core/new-bad").why
    assert verdict(result, "core/new-good").status == "ok"


def test_a_case_that_cannot_run_blocks_with_its_error():
    result = gate(("core/a", GOOD, entry(error="names no article: 'warranty'")))
    assert not result.passed
    assert verdict(result, "core/a").why == "cannot run: names no article: 'warranty'"


def test_a_removed_case_does_not_block():
    result = gate(("core/a", GOOD, None), ("core/b", GOOD, GOOD))
    assert result.passed
    assert verdict(result, "core/a").status == "ok"


def test_an_unknown_target_fails_the_gate():
    result = gate(("core/a", GOOD, GOOD), targets=("core/nope", "core/a"))
    assert result.unknown_targets == ("core/nope",)
    assert not result.passed
    assert result.failing == ()


def test_a_removed_case_is_no_known_target():
    result = gate(("core/a", GOOD, None), targets=("core/a",))
    assert result.unknown_targets == ("core/a",)
    assert not result.passed


# -- baseline: rendering, reading, writing ------------------------------------------------------

ENTRIES = {"core/b": BAD, "core/a": GOOD, "core/c": entry(error="names no article: 'x'")}


def test_render_is_byte_stable_sorted_and_ends_with_a_newline():
    first = render_baseline("core", PROVENANCE, ENTRIES)
    again = render_baseline("core", PROVENANCE, dict(reversed(list(ENTRIES.items()))))
    assert first == again
    assert first.endswith("}\n") and not first.endswith("\n\n")
    document = json.loads(first)
    assert list(document) == sorted(document)
    assert list(document["cases"]) == ["core/a", "core/b", "core/c"]
    assert list(document["cases"]["core/a"]) == sorted(document["cases"]["core/a"])
    assert list(document["cases"]["core/a"]["grades"]) == sorted(DIMENSIONS)
    assert document["schema"] == 1 and document["suite"] == "core"
    assert first == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_render_keeps_non_ascii_text_readable():
    reply = "Caf\u00e9 cr\u00e8me \u2615"
    assert reply in render_baseline("core", PROVENANCE, {"core/a": entry(reply=reply)})


def test_a_rendered_baseline_round_trips_through_read_baseline(tmp_path):
    path = baseline_path(tmp_path, "core")
    write_atomic(path, render_baseline("core", PROVENANCE, ENTRIES))
    baseline = read_baseline(tmp_path, "core")
    assert baseline.suite == "core"
    assert baseline.made_with == PROVENANCE
    assert dict(baseline.entries) == ENTRIES
    assert baseline.source == str(path)
    assert render_baseline("core", baseline.made_with, baseline.entries) == path.read_text(
        encoding="utf-8")


def test_a_missing_baseline_reads_as_empty(tmp_path):
    baseline = read_baseline(tmp_path, "core")
    assert dict(baseline.entries) == {} and baseline.made_with is None


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"schema": 1, "cases": {"a": {}}}',
                                  '{"schema": 99, "cases": {}}', ""])
def test_an_unreadable_baseline_raises_naming_the_file(tmp_path, text):
    path = baseline_path(tmp_path, "core")
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineError) as caught:
        read_baseline(tmp_path, "core")
    assert str(path) in str(caught.value)
    assert "--update-baseline" in str(caught.value)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "baseline.json")


def test_write_atomic_writes_the_text_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "suites" / "core" / "baseline.json"
    write_atomic(path, "first\n")
    write_atomic(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert leftovers(path.parent) == []


def test_write_atomic_gives_the_file_ordinary_permissions(tmp_path):
    """A baseline (or report) written atomically is as readable as one written plainly, and a
    rewritten file keeps its mode (a temporary file's private 0600 must not leak through)."""
    plain = tmp_path / "plain.json"
    plain.write_text("{}\n", encoding="utf-8")
    path = tmp_path / "baseline.json"
    write_atomic(path, "{}\n")
    assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(stat.S_IMODE(plain.stat().st_mode))
    path.chmod(0o664)
    write_atomic(path, "{}\n")
    assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o664)


@pytest.mark.parametrize("step", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_file_whole_and_cleans_up(tmp_path, monkeypatch, step):
    path = tmp_path / "baseline.json"
    old = render_baseline("core", PROVENANCE, ENTRIES)
    path.write_text(old, encoding="utf-8")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(f"disk gone during {step}")

    monkeypatch.setattr(harness.regression.baseline.os, step, fail)
    with pytest.raises(OSError, match=f"disk gone during {step}"):
        write_atomic(path, render_baseline("core", PROVENANCE, {"core/a": BAD}))
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == old
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    """Ctrl-C (a BaseException) in the middle of writing leaves the old baseline."""
    path = tmp_path / "baseline.json"
    path.write_text("old\n", encoding="utf-8")

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path) == []


# -- provenance ---------------------------------------------------------------------------------


def test_provenance_differences_name_each_changed_part():
    now = replace(PROVENANCE, prompt="q" * 16, model="openai/gpt-4o-mini")
    notes = PROVENANCE.differences(now)
    assert notes == [
        "model reference/kb-grounded (baseline) vs openai/gpt-4o-mini (this run)",
        f"prompt hash {'p' * 16} (baseline) vs {'q' * 16} (this run)"
        " (expected when the change edits prompts/)",
    ]


def test_provenance_differences_note_a_kb_edit_and_a_harness_upgrade():
    now = replace(PROVENANCE, kb="j" * 16, harness="0.2.0")
    notes = PROVENANCE.differences(now)
    assert "harness version 0.1.0 (baseline) vs 0.2.0 (this run)" in notes
    assert any(n.startswith("KB hash") and "knowledge/" in n for n in notes)
    assert len(notes) == 2


def test_identical_provenance_has_no_differences():
    assert PROVENANCE.differences(replace(PROVENANCE)) == []


def test_comparison_is_a_frozen_value():
    comparison = compare_entries("core/a", GOOD, BAD)
    assert isinstance(comparison, Comparison)
    with pytest.raises(AttributeError):
        comparison.change = "same"  # type: ignore[misc]
