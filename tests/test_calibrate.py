"""`harness calibrate LABELS.yaml`: agreement (Cohen's kappa) of the rubric and the judge with a
coach's hand grades, and every case where they disagree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.coach.calibrate import Label, cohen_kappa, compare_labels

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "examples" / "labels.yaml"
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")


# -- cohen_kappa -------------------------------------------------------------------------------


def table(cells: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    """Two graders' grades from a contingency table {(first, second): count}."""
    first, second = [], []
    for (a, b), count in cells.items():
        first += [a] * count
        second += [b] * count
    return first, second


def test_perfect_agreement_is_one():
    grades = ["pass", "fail", "partial", "pass", "fail"]
    assert cohen_kappa(grades, list(grades)) == 1.0
    assert cohen_kappa(["pass"] * 4, ["pass"] * 4) == 1.0  # one grade only: still perfect


def test_textbook_two_by_two_table():
    # 50 items: both yes 20, first yes second no 5, first no second yes 10, both no 15.
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4
    first, second = table({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10,
                           ("no", "no"): 15})
    assert cohen_kappa(first, second) == pytest.approx(0.4, abs=1e-4)
    assert cohen_kappa(second, first) == pytest.approx(0.4, abs=1e-4)


def test_three_grades_table():
    # p_o = 24/30 = 0.8; p_e = (12*11 + 8*8 + 10*11) / 900 = 0.34; kappa = 0.46 / 0.66
    first, second = table({
        ("pass", "pass"): 10, ("pass", "partial"): 2,
        ("partial", "pass"): 1, ("partial", "partial"): 5, ("partial", "fail"): 2,
        ("fail", "partial"): 1, ("fail", "fail"): 9,
    })
    assert cohen_kappa(first, second) == pytest.approx(0.697, abs=1e-3)


def test_chance_level_and_worse_than_chance():
    assert cohen_kappa(["pass", "fail"] * 5, ["pass"] * 10) == pytest.approx(0.0)
    assert cohen_kappa(["pass", "fail"], ["fail", "pass"]) == pytest.approx(-1.0)


def test_no_items_is_none_and_uneven_lists_are_refused():
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa(["pass", "fail"], ["pass"])


# -- compare_labels ----------------------------------------------------------------------------


def rubric(**grades: str) -> dict[str, tuple[str, str]]:
    return {name: (grades.get(name, "pass"), f"rule says {grades.get(name, 'pass')}")
            for name in DIMENSIONS}


LABELLED = [
    Label(id="core/a", accuracy="pass", tone="partial"),
    Label(id="core/b", accuracy="fail", note="quotes $59"),
    Label(id="core/c", accuracy="pass"),
    Label(id="core/d", accuracy="pass"),
    Label(id="core/not-run", accuracy="fail"),  # not graded: left out of every count
]
RUBRIC = {"core/a": rubric(), "core/b": rubric(), "core/c": rubric(), "core/d": rubric()}
JUDGE = {"core/a": {"accuracy": "pass", "tone": "partial"}, "core/b": {"accuracy": "fail"},
         "core/c": {"accuracy": "unscored"}, "core/d": {"accuracy": "fail"}}


def test_compare_labels_agreement_table():
    agreements, _ = compare_labels(LABELLED, RUBRIC, JUDGE)
    rows = {(a.dimension, a.grader): (a.cases, a.agreement, a.kappa) for a in agreements}
    assert list(rows) == [(d, g) for d in DIMENSIONS for g in ("rubric", "judge")]
    assert rows[("accuracy", "rubric")] == (4, 0.75, 0.0)  # the rubric always says pass
    assert rows[("accuracy", "judge")] == (3, pytest.approx(0.6667, abs=1e-4),
                                           pytest.approx(0.4, abs=1e-4))  # unscored left out
    assert rows[("tone", "rubric")] == (1, 0.0, 0.0)
    assert rows[("tone", "judge")] == (1, 1.0, 1.0)
    assert rows[("relevance", "rubric")] == (0, None, None)
    assert rows[("resolution", "judge")] == (0, None, None)


def test_compare_labels_lists_each_disagreement():
    _, differences = compare_labels(LABELLED, RUBRIC, JUDGE)
    found = [(d.case_id, d.dimension, d.coach, d.rubric, d.judge) for d in differences]
    assert found == [
        ("core/b", "accuracy", "fail", "pass", "fail"),  # the rubric disagrees
        ("core/d", "accuracy", "pass", "pass", "fail"),  # the judge disagrees
        ("core/a", "tone", "partial", "pass", "partial"),
    ]
    assert differences[0].reason == "rule says pass"


def test_compare_labels_without_a_judge_has_rubric_rows_only():
    agreements, differences = compare_labels(LABELLED, RUBRIC, {})
    assert {a.grader for a in agreements} == {"rubric"}
    assert len(agreements) == len(DIMENSIONS)
    assert [(d.case_id, d.dimension) for d in differences] == [("core/b", "accuracy"),
                                                                ("core/a", "tone")]


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    """A copy of the repository's sample store, so the command's cache folder lands in tmp."""
    root = tmp_path / "store"
    for part in ("knowledge", "prompts", "suites"):
        shutil.copytree(REPO / part, root / part)
    return root


def test_calibrate_prints_the_agreement_table(sample_store: Path, tmp_path: Path, capsys):
    out_json = tmp_path / "agreement.json"
    status = main(["calibrate", str(LABELS), "--store", str(sample_store),
                   "--json", str(out_json)])
    out = capsys.readouterr().out
    assert status == 0
    header = out.splitlines()[0].split()
    assert header == ["dimension", "grader", "cases", "agreement", "kappa"]
    for dimension in DIMENSIONS:
        assert any(line.split()[:2] == [dimension, "rubric"] for line in out.splitlines())
    assert "no judge:" in out
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert [a["dimension"] for a in document["agreement"]] == list(DIMENSIONS)
    assert all(a["grader"] == "rubric" for a in document["agreement"])
    assert sum(a["cases"] for a in document["agreement"]) == 18  # grades in examples/labels.yaml
    shown = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(shown) == len(document["disagreements"])


def test_a_label_for_an_unknown_case_is_an_error(sample_store: Path, tmp_path: Path, capsys):
    labels = tmp_path / "labels.yaml"
    labels.write_text("labels:\n  - id: core/returns-window\n    accuracy: pass\n"
                      "  - id: core/no-such-case\n    accuracy: fail\n", encoding="utf-8")
    status = main(["calibrate", str(labels), "--store", str(sample_store)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("Error:")
    assert "core/no-such-case" in err
    assert "core/returns-window" not in err


def test_a_bad_grade_names_the_file_line_and_key(sample_store: Path, tmp_path: Path, capsys):
    labels = tmp_path / "bad-labels.yaml"
    labels.write_text("labels:\n  - id: core/returns-window\n    accuracy: pass\n"
                      "  - id: core/refund-timing\n    tone: great\n", encoding="utf-8")
    status = main(["calibrate", str(labels), "--store", str(sample_store)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("Error:")
    assert "bad-labels.yaml" in err
    assert "line 5" in err
    assert "labels.1.tone" in err
    assert "'great'" in err


def test_an_unknown_key_in_a_label_is_refused(sample_store: Path, tmp_path: Path, capsys):
    labels = tmp_path / "typo-labels.yaml"
    labels.write_text("labels:\n  - id: core/returns-window\n    acuracy: pass\n",
                      encoding="utf-8")
    status = main(["calibrate", str(labels), "--store", str(sample_store)])
    err = capsys.readouterr().err
    assert status == 1
    assert "typo-labels.yaml" in err and "line 3" in err and "acuracy" in err
