"""K graded replies of one case (--repeat K) combined into one result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from harness.grading.rubric import VALUES, Dimension, Graded, is_review

__all__ = ["combine_samples"]


def combine_samples(samples: Sequence[Graded], weights: Mapping[str, float]) -> Graded:
    """K graded replies of one case as one result: per dimension the most common grade (the
    lower one on a tie), the pass rate, and whether it flipped between pass and fail."""
    if len(samples) == 1:
        return samples[0]
    errors = [g.error for g in samples if g.error]
    if errors:
        return Graded(samples[0].case_id, error=f"{len(errors)} of {len(samples)} samples"
                      f" failed: {errors[0]}", samples=len(samples))
    grades, rates, flaky, tallies = {}, {}, [], {}
    for name in samples[0].grades:
        seen = [g.grades[name] for g in samples]
        counts = Counter(d.grade for d in seen)
        common = max(counts, key=lambda grade: (counts[grade], -VALUES[grade]))
        rates[name] = round(counts["pass"] / len(seen), 4)
        tallies[name] = (counts["pass"], counts["partial"], counts["fail"])
        if "pass" in counts and "fail" in counts:
            flaky.append(name)
        example = next(d for d in seen if d.grade == common)
        reason = f"{example.reason} ({counts['pass']}/{len(seen)} samples pass)"
        grades[name] = Dimension(common, reason, example.excerpt)
    score = round(sum(g.score for g in samples) / len(samples), 4)
    return Graded(samples[0].case_id, grades, score, is_review(grades), None, len(samples),
                  rates, tuple(flaky), samples[0].judge, tallies,
                  sum(g.passed for g in samples))
