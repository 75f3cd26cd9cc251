"""The gate: a change ships only if its targets pass and no other case gets worse.

Per case: a target must pass; any other case must not be worse than its baseline; a case that
failed in the baseline and still fails is a known failure (it does not block unless targeted);
a new case that fails blocks until it is recorded with --update-baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.regression.compare import Comparison

__all__ = ["GateResult", "Verdict", "decide", "judge_case"]

Status = Literal["ok", "fail", "known-failure", "calendar"]


@dataclass(frozen=True, slots=True)
class Verdict:
    case_id: str
    status: Status
    why: str  # one line: what the gate objects to (empty when ok)
    target: bool = False


@dataclass(frozen=True)
class GateResult:
    verdicts: tuple[Verdict, ...]
    unknown_targets: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.unknown_targets and all(v.status != "fail" for v in self.verdicts)

    @property
    def failing(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status == "fail")


CALENDAR_WHY = ("worse only because a dated article entered or left its window since the"
                " baseline was recorded (run at the baseline's date it is not worse): not this"
                " change's doing; re-record the baseline with --update-baseline")


def judge_case(comparison: Comparison, *, target: bool, calendar: bool = False) -> Verdict:
    """`calendar`: the case is worse only because of the date it ran on (see CALENDAR_WHY)."""
    new, old, cid = comparison.new, comparison.old, comparison.case_id
    if new is None:  # removed: nothing to run, reported in the summary
        return Verdict(cid, "ok", "", target)
    if new.error:
        return Verdict(cid, "fail", f"cannot run: {new.error}", target)
    if target:
        if new.passed:
            return Verdict(cid, "ok", "", True)
        return Verdict(cid, "fail", "targeted by this change but does not pass", True)
    if comparison.change == "worse" and calendar:
        return Verdict(cid, "calendar", CALENDAR_WHY, target)
    if comparison.change == "worse":
        return Verdict(cid, "fail", "worse than the baseline", target)
    if comparison.change == "new" and not new.passed:
        return Verdict(cid, "fail", "new case that does not pass; record it with"
                                    " --update-baseline once its expectations are right", target)
    if not new.passed and old is not None and not old.passed:
        return Verdict(cid, "known-failure", "failed in the baseline too", target)
    return Verdict(cid, "ok", "", target)


def decide(
    comparisons: Sequence[Comparison], targets: Iterable[str], calendar: Iterable[str] = (),
) -> GateResult:
    wanted, by_calendar = set(targets), set(calendar)
    known = {c.case_id for c in comparisons if c.new is not None}
    verdicts = tuple(judge_case(c, target=c.case_id in wanted,
                                calendar=c.case_id in by_calendar) for c in comparisons)
    return GateResult(verdicts, tuple(sorted(wanted - known)))
