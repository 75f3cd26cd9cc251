"""The outcome of one case in a run: everything reporting needs, in one frozen value."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.agent.loop import Retrieved, Run
from harness.grading.fixture import Graded
from harness.grading.judge import Judged
from harness.regression.baseline import Entry
from harness.regression.compare import Comparison
from harness.regression.gate import Verdict

__all__ = ["CaseResult", "entry_of", "from_wire", "to_wire"]


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    suite: str
    comparison: Comparison
    graded: Graded | None = None  # None when the fixture could not be loaded
    runs: tuple[Run, ...] = ()  # one per sample (--repeat K)
    judged: tuple[Judged, ...] = ()  # the LLM judge's verdicts, one per sample, if asked
    verdict: Verdict | None = None  # set once the gate has seen every case
    root: Path | None = None  # the store the case belongs to

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


def to_wire(result: CaseResult) -> dict[str, Any]:
    """A graded case as JSON, for a pytest-xdist worker to hand to the controller."""
    runs = [{**asdict(run), "as_of": run.as_of.isoformat(), "messages": []}
            for run in result.runs]
    usage = [{"prompt_tokens": j.prompt_tokens, "completion_tokens": j.completion_tokens,
              "cost": j.cost} for j in result.judged]
    entry = result.entry
    return {"case_id": result.case_id, "suite": result.suite, "root": str(result.root),
            "entry": {**entry.to_json(), "samples": entry.samples} if entry else None,
            "runs": runs, "judged": usage}


def from_wire(data: dict[str, Any]) -> tuple[Path, str, str, Entry | None, tuple[Run, ...],
                                             tuple[Judged, ...]]:
    """The worker's graded case back: root, suite, case id, entry, runs, judge usage."""
    runs = []
    for raw in data["runs"]:
        fields = {**raw, "as_of": dt.date.fromisoformat(raw["as_of"]), "messages": (),
                  "retrieved": tuple(Retrieved(**r) for r in raw["retrieved"]),
                  "served": tuple(raw["served"])}
        runs.append(Run(**fields))
    entry = Entry.from_json(data["entry"]) if data["entry"] else None
    judged = tuple(Judged({}, **usage) for usage in data["judged"])
    return Path(data["root"]), data["suite"], data["case_id"], entry, tuple(runs), judged
