"""The outcome of one case in a run: everything reporting needs, in one frozen value."""

from __future__ import annotations

from dataclasses import dataclass

from harness.agent import Run
from harness.baseline import Entry
from harness.compare import Comparison
from harness.gate import Verdict
from harness.grading import Graded
from harness.judge import Judged

__all__ = ["CaseResult", "entry_of"]


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    suite: str
    comparison: Comparison
    graded: Graded | None = None  # None when the fixture could not be loaded
    runs: tuple[Run, ...] = ()  # one per sample (--repeat K)
    judged: tuple[Judged, ...] = ()  # the LLM judge's verdicts, one per sample, if asked
    verdict: Verdict | None = None  # set once the gate has seen every case

    @property
    def entry(self) -> Entry | None:
        return self.comparison.new

    @property
    def run(self) -> Run | None:
        return self.runs[0] if self.runs else None


def entry_of(graded: Graded | None, run: Run | None, error: str | None = None) -> Entry:
    """A graded case as a baseline entry; a case that cannot load or run keeps its error."""
    error = error or (graded.error if graded else None) or (run.error if run else None)
    if graded is None or error:
        return Entry(score=0.0, passed=False, review=True, outcome=None, grades={}, reasons={},
                     reply=run.reply if run else "", error=error or "not run",
                     samples=graded.samples if graded else 1)
    return Entry(
        score=graded.score,
        passed=graded.passed,
        review=graded.review,
        outcome=run.outcome if run else None,
        grades={name: d.grade for name, d in graded.grades.items()},
        reasons={name: d.reason for name, d in graded.grades.items()},
        reply=run.reply if run else "",
        samples=graded.samples,
        pass_rates=dict(graded.pass_rates),
        flaky=graded.flaky,
        judge=dict(graded.judge),
        retrieved=tuple(r.id for r in run.retrieved) if run else (),
    )
