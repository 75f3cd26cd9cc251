"""Compare a case's graded result with its baseline entry: better, worse, same, new or removed.

worse = a lower grade on any dimension, a lower score, or a case that can no longer load or
run. deepdiff lists what else changed (the reply, a reason) for the report.

With --repeat K a real model's replies vary: a case is worse only when an exact test of its
baseline grades against this run's, judged with the whole run (`repeats.judge_run`, a
discrete false-discovery control), tells the drop from noise. docs/repeats.md states the
false-alarm rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from deepdiff import DeepDiff

from harness.grading.rubric import DIMENSIONS, VALUES
from harness.regression.baseline import Entry
from harness.regression.repeats import (
    CaseVerdict,
    DimensionChange,
    GradeCounts,
    compare_dimension,
    judge_run,
)

__all__ = ["Change", "Comparison", "apply_repeat_rule", "compare_entries", "counts_of"]

Change = Literal["better", "worse", "same", "new", "removed"]
_VOLATILE = [r"latency", r"tokens", r"cost"]


@dataclass(frozen=True, slots=True)
class Step:
    """One dimension (or the score) moving between the baseline and this run."""

    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Comparison:
    case_id: str
    change: Change
    old: Entry | None
    new: Entry | None
    worse: tuple[Step, ...] = ()
    better: tuple[Step, ...] = ()
    changed_fields: tuple[str, ...] = ()


def _steps(old: Entry, new: Entry) -> tuple[list[Step], list[Step]]:
    worse, better = [], []
    for name in DIMENSIONS:
        before, after = old.grades.get(name), new.grades.get(name)
        if before is None or after is None or before == after:
            continue
        step = Step(name, before, after)
        (worse if VALUES[after] < VALUES[before] else better).append(step)
    if round(new.score, 4) != round(old.score, 4):
        step = Step("score", f"{old.score:.2f}", f"{new.score:.2f}")
        (worse if new.score < old.score else better).append(step)
    return worse, better


def counts_of(entry: Entry, name: str) -> GradeCounts:
    """A dimension's grades over the entry's samples (an old baseline kept only pass rates)."""
    if name in entry.grade_counts:
        return GradeCounts(*entry.grade_counts[name])
    if entry.samples > 1:
        return GradeCounts.from_pass_rate(entry.pass_rates.get(name, 0.0), entry.samples)
    return GradeCounts.of([entry.grades[name]])


def repeat_dimensions(old: Entry, new: Entry) -> dict[str, DimensionChange]:
    return {name: compare_dimension(counts_of(old, name), counts_of(new, name))
            for name in DIMENSIONS if name in old.grades and name in new.grades}


def _shown(counts: GradeCounts) -> str:
    return f"{counts.passed}/{counts.samples} pass" + (
        f", {counts.partial} partial" if counts.partial else "")


def _repeat_steps(dims: Mapping[str, DimensionChange], verdict: CaseVerdict
                  ) -> tuple[list[Step], list[Step]]:
    def steps(names: tuple[str, ...]) -> list[Step]:
        return [Step(n, _shown(dims[n].old), _shown(dims[n].new)) for n in names]

    return steps(verdict.worse), steps(verdict.better)


def _changed_fields(old: Entry, new: Entry) -> tuple[str, ...]:
    diff = DeepDiff(old.to_json(), new.to_json(), exclude_regex_paths=_VOLATILE, view="tree")
    paths = {
        ".".join(str(p) for p in level.path(output_format="list"))
        for report in diff.values() for level in report
    }
    return tuple(sorted(paths))


def compare_entries(case_id: str, old: Entry | None, new: Entry | None) -> Comparison:
    if new is None:
        return Comparison(case_id, "removed", old, None)
    if old is None:
        return Comparison(case_id, "new", None, new)
    changed = _changed_fields(old, new)
    if new.error and not old.error:
        return Comparison(case_id, "worse", old, new, (Step("error", "ran", new.error),), (),
                          changed)
    if old.error and not new.error:
        return Comparison(case_id, "better", old, new, (), (Step("error", old.error, "ran"),),
                          changed)
    if old.samples > 1 or new.samples > 1:  # judged alone here; with the whole run by
        dims = repeat_dimensions(old, new)  # `apply_repeat_rule`
        verdict = judge_run({case_id: dims}).cases[case_id]
        worse, better = _repeat_steps(dims, verdict)
        return Comparison(case_id, verdict.change, old, new, tuple(worse), tuple(better),
                          changed)
    worse, better = _steps(old, new)
    change: Change = "worse" if worse else "better" if better else "same"
    return Comparison(case_id, change, old, new, tuple(worse), tuple(better), changed)


def apply_repeat_rule(comparisons: Sequence[Comparison], temperature: float = 0.0
                      ) -> tuple[list[Comparison], str]:
    """The cases compared with repeats, judged together (docs/repeats.md): a case is worse
    only if the run as a whole can tell its drop from noise. Also advice on K, if any."""
    repeated = {c.case_id: repeat_dimensions(c.old, c.new) for c in comparisons
                if c.old is not None and c.new is not None and not c.old.error
                and not c.new.error and (c.old.samples > 1 or c.new.samples > 1)}
    if not repeated:
        return list(comparisons), ""
    run = judge_run(repeated, temperature=temperature)
    judged = []
    for comparison in comparisons:
        if comparison.case_id in repeated:
            verdict = run.cases[comparison.case_id]
            worse, better = _repeat_steps(repeated[comparison.case_id], verdict)
            comparison = replace(comparison, change=verdict.change, worse=tuple(worse),
                                 better=tuple(better))
        judged.append(comparison)
    return judged, run.advice
