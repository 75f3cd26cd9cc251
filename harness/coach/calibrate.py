"""`harness calibrate LABELS.yaml`: how far to trust the rubric and the LLM judge.

A coach grades some cases by hand; this command grades the same cases with the rubric's
rules and with the judge, and reports per dimension the agreement and Cohen's kappa of each
with the coach, and every case where they disagree. A team earns trust in a judge here
before it lets the judge gate.

    labels:
      - id: core/returns-window
        accuracy: pass
        tone: partial          # dimensions left out are not compared
        note: too long for chat
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from harness.errors import HarnessError
from harness.grading.rubric import DIMENSIONS
from harness.pipeline.pipeline import Pipeline
from harness.store.loading import Store, load_suites
from harness.store.schema import Frozen

__all__ = ["Agreement", "Label", "Labels", "cohen_kappa", "compare_labels", "grade_labelled"]

GradeName = Literal["pass", "partial", "fail"]


class Label(Frozen):
    id: str
    accuracy: GradeName | None = None
    relevance: GradeName | None = None
    tone: GradeName | None = None
    resolution: GradeName | None = None
    note: str | None = None


class Labels(Frozen):
    labels: tuple[Label, ...] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _once_each(cls, labels: tuple[Label, ...]) -> tuple[Label, ...]:
        """A case labelled twice would count twice in every agreement figure: refused."""
        first: dict[str, int] = {}
        for index, label in enumerate(labels):
            if label.id in first:
                raise ValueError(f"case {label.id!r} is labelled twice (labels.{first[label.id]}"
                                 f" and labels.{index}); label each case once")
            first[label.id] = index
        return labels


@dataclass(frozen=True)
class Agreement:
    dimension: str
    grader: str  # "rubric" or "judge"
    cases: int
    agreement: float | None
    kappa: float | None


@dataclass(frozen=True)
class Disagreement:
    case_id: str
    dimension: str
    coach: str
    rubric: str
    judge: str | None
    reason: str


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Agreement beyond chance between two graders of the same items (None with no items)."""
    if not first:
        return None
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[k] * right[k] for k in left) / (n * n)
    if expected == 1:
        return 1.0 if observed == 1 else 0.0
    return round((observed - expected) / (1 - expected), 4)


def _agreement(dimension: str, grader: str, pairs: list[tuple[str, str]]) -> Agreement:
    if not pairs:
        return Agreement(dimension, grader, 0, None, None)
    coach, other = zip(*pairs, strict=True)
    share = sum(a == b for a, b in pairs) / len(pairs)
    return Agreement(dimension, grader, len(pairs), round(share, 4), cohen_kappa(coach, other))


def compare_labels(
    labels: Sequence[Label], rubric: dict[str, dict[str, tuple[str, str]]],
    judge: dict[str, dict[str, str]],
) -> tuple[list[Agreement], list[Disagreement]]:
    """`rubric[case][dim] = (grade, reason)` from the rules; `judge[case][dim] = grade`."""
    table, differences = [], []
    for dimension in DIMENSIONS:
        by_rules, by_judge = [], []
        for label in labels:
            coach = getattr(label, dimension)
            if coach is None or label.id not in rubric:
                continue
            grade, reason = rubric[label.id][dimension]
            verdict = judge.get(label.id, {}).get(dimension)
            by_rules.append((coach, grade))
            if verdict and verdict != "unscored":
                by_judge.append((coach, verdict))
            if grade != coach or (verdict not in (None, "unscored", coach)):
                differences.append(Disagreement(label.id, dimension, coach, grade, verdict,
                                                reason))
        table.append(_agreement(dimension, "rubric", by_rules))
        if judge:
            table.append(_agreement(dimension, "judge", by_judge))
    return table, differences


def grade_labelled(pipeline: Pipeline, store: Store, labels: Sequence[Label]
                   ) -> tuple[dict[str, dict[str, tuple[str, str]]], dict[str, dict[str, str]]]:
    """The rubric's (grade, reason) and the judge's grade of every labelled case."""
    wanted = {label.id for label in labels}
    cases = [c for c in load_suites(store)[0] if c.case_id in wanted]
    missing = wanted - {c.case_id for c in cases}
    if missing:
        raise HarnessError(f"labelled case(s) not found in suites/: {', '.join(sorted(missing))}")
    evaluated = pipeline.evaluate(store, cases)
    rubric = {e.case.case_id: {n: (d.grade, d.reason) for n, d in e.graded.grades.items()}
              for e in evaluated}
    judge = {e.case.case_id: dict(e.graded.judge) for e in evaluated if e.graded.judge}
    return rubric, judge




