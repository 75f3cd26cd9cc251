"""The rubric's vocabulary (FORMATS.md, "Rubric"): dimensions, grades and their values, the
weighted score and the review-queue rule. Defined here once; every grader and report uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DIMENSIONS", "VALUES", "Dimension", "Grade", "Graded", "is_review", "score_of",
    "with_judge",
]

Grade = Literal["pass", "partial", "fail"]
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
VALUES: dict[str, float] = {"pass": 1.0, "partial": 0.5, "fail": 0.0}


@dataclass(frozen=True, slots=True)
class Dimension:
    grade: Grade
    reason: str
    excerpt: str = ""  # the part of the reply that the reason is about


@dataclass(frozen=True, slots=True)
class Graded:
    case_id: str
    grades: Mapping[str, Dimension] = field(default_factory=dict)
    score: float = 0.0
    review: bool = False
    error: str | None = None
    samples: int = 1  # --repeat K: how many replies were graded
    pass_rates: Mapping[str, float] = field(default_factory=dict)  # share of samples passing
    flaky: tuple[str, ...] = ()  # dimensions that both passed and failed within the run
    judge: Mapping[str, str] = field(default_factory=dict)  # the LLM judge's grade, if asked
    # --repeat K: per dimension, how many samples passed, were partial, failed (the repeat rule
    # compares these, not just pass rates); and how many samples passed every dimension
    grade_counts: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    case_passes: int | None = None

    @property
    def passed(self) -> bool:
        """Every dimension passes: what a target must reach."""
        return self.error is None and all(d.grade == "pass" for d in self.grades.values())


def score_of(grades: Mapping[str, Dimension | str], weights: Mapping[str, float]) -> float:
    def value(d: Dimension | str) -> float:
        return VALUES[d if isinstance(d, str) else d.grade]

    total = sum(weights[name] for name in grades)
    return round(sum(weights[n] * value(d) for n, d in grades.items()) / total, 4) if total else 0.0


def is_review(grades: Mapping[str, Dimension | str]) -> bool:
    """Accuracy fails, or two or more dimensions are below pass."""
    names = {n: (d if isinstance(d, str) else d.grade) for n, d in grades.items()}
    return names.get("accuracy") == "fail" or sum(g != "pass" for g in names.values()) >= 2


def with_judge(rule: Dimension, judge: tuple[str, str] | None) -> Dimension:
    """The judge can lower a grade, never raise it; an unscored judge changes nothing."""
    if judge is None:
        return rule
    grade, reason = judge
    if grade == "unscored":
        return Dimension(rule.grade, f"{rule.reason}; judge unscored: {reason}", rule.excerpt)
    final: Grade = rule.grade if VALUES[rule.grade] <= VALUES[grade] else grade  # type: ignore[assignment]
    return Dimension(final, f"{rule.reason}; judge: {grade}: {reason}", rule.excerpt)
