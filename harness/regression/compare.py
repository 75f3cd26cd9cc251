"""Compare a case's graded result with its baseline entry: better, worse, same, new or removed.

worse = a lower grade on any dimension, a lower score, or a case that can no longer load or
run. deepdiff lists what else changed (the reply, a reason) for the report.

With --repeat K a real model's replies vary, so a case is worse only when a dimension's pass
rate falls below the lower bound of the 95% Wilson interval of its baseline pass rate (and
better when it rises above the upper bound): a drop that K samples can tell from noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from deepdiff import DeepDiff

from harness.grading.rubric import DIMENSIONS, VALUES
from harness.regression.baseline import Entry

__all__ = ["Change", "Comparison", "compare_entries"]

Change = Literal["better", "worse", "same", "new", "removed"]
_VOLATILE = [r"latency", r"tokens", r"cost"]


@dataclass(frozen=True)
class Step:
    """One dimension (or the score) moving between the baseline and this run."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
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


def wilson_interval(rate: float, samples: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate measured on `samples` tries."""
    if samples <= 0:
        return 0.0, 1.0
    centre = rate + z * z / (2 * samples)
    spread = z * math.sqrt(rate * (1 - rate) / samples + z * z / (4 * samples * samples))
    scale = 1 + z * z / samples
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def _rate_steps(old: Entry, new: Entry) -> tuple[list[Step], list[Step]]:
    worse, better = [], []
    for name in DIMENSIONS:
        before = old.pass_rates.get(name, VALUES.get(old.grades.get(name, ""), 0.0))
        after = new.pass_rates.get(name, VALUES.get(new.grades.get(name, ""), 0.0))
        low, high = wilson_interval(before, old.samples)
        step = Step(name, f"{before:.0%} pass", f"{after:.0%} pass")
        if after < low:
            worse.append(step)
        elif after > high:
            better.append(step)
    return worse, better


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
    repeated = old.samples > 1 or new.samples > 1
    worse, better = _rate_steps(old, new) if repeated else _steps(old, new)
    change: Change = "worse" if worse else "better" if better else "same"
    return Comparison(case_id, change, old, new, tuple(worse), tuple(better), changed)
