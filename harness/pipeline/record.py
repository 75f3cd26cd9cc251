"""The record of a finished run: one value that every output renders or serialises.

`CaseResult` is one case, graded and compared; `RunRecord` is the whole run: its cases, the
gate's decision, what the model calls cost, and the notes of the run. The terminal summary,
the Markdown and HTML reports, the JSON report, the JUnit properties, the history database, the
pytest-xdist transport and the promptfoo grader all read these values, and the JSON shape of a
case (`CaseResult.to_json`) is the only one: the JSON report holds exactly what a worker sends
its controller, so no two outputs can disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.agent.run import Retrieved, Run, ToolUse
from harness.grading.judge import Judged
from harness.grading.rubric import Dimension, Graded
from harness.providers.client import CallStats
from harness.regression.baseline import Entry
from harness.regression.calendar import CalendarNote
from harness.regression.compare import Comparison, Step
from harness.regression.gate import GateResult, Verdict

__all__ = ["CaseResult", "RunRecord", "usage"]

RECORD_VERSION = 2
_RUN_ORDER = tuple(f.name for f in fields(Run) if f.name != "messages")
_RUN_FIELDS = set(_RUN_ORDER)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: str
    suite: str
    comparison: Comparison
    graded: Graded | None = None  # None when the fixture could not be loaded
    runs: tuple[Run, ...] = ()  # one per sample (--repeat K)
    judged: tuple[Judged, ...] = ()  # the LLM judge's verdicts, one per sample, if asked
    verdict: Verdict | None = None  # set once the gate has seen every case
    root: Path | None = None  # the store the case belongs to
    calendar: tuple[CalendarNote, ...] = ()  # dated articles it retrieves differently now
    calendar_only: bool = False  # worse only because of the day it ran (not worse on the
    # baseline's day): the calendar's doing, not the change's

    @property
    def entry(self) -> Entry | None:
        return self.comparison.new

    @property
    def run(self) -> Run | None:
        return self.runs[0] if self.runs else None

    @property
    def shown(self) -> Entry | None:
        """The entry to show: this run's, or the baseline's for a removed case."""
        return self.comparison.new or self.comparison.old

    def to_json(self) -> dict[str, Any]:
        """The case as JSON: the JSON report's case, the xdist transport, promptfoo's metadata."""
        entry, run, verdict = self.shown, self.run, self.verdict
        data: dict[str, Any] = {
            "id": self.case_id, "suite": self.suite,
            "store": str(self.root) if self.root else None,
            "change": self.comparison.change,
            "verdict": verdict.status if verdict else None,
            "verdict_why": verdict.why if verdict else "",
            "target": bool(verdict and verdict.target),
            "worse": [list(_step(s)) for s in self.comparison.worse],
            "better": [list(_step(s)) for s in self.comparison.better],
            "changed_fields": list(self.comparison.changed_fields),
            "calendar": [note.to_json() for note in self.calendar],
            "calendar_only": self.calendar_only,
        }
        data.update(entry.to_json() if entry else {})
        data["removed"] = self.comparison.new is None
        if entry is not None and entry.samples > 1:
            data["pass_hat"] = {str(k): entry.pass_hat(k) for k in range(1, entry.samples + 1)}
        data["evidence"] = {n: d.excerpt for n, d in (self.graded.grades.items()
                                                     if self.graded else ()) if d.excerpt}
        data.update({
            "why": run.why if run else None,
            "as_of": run.as_of.isoformat() if run else None,
            "tokens": {"prompt": sum(r.prompt_tokens for r in self.runs),
                       "completion": sum(r.completion_tokens for r in self.runs)},
            "cost_usd": _total(r.cost for r in self.runs),
            "latency_s": round(sum(r.latency_s for r in self.runs), 4),
            "truncated": any(r.truncated for r in self.runs),
            "runs": [_run_json(r) for r in self.runs],
            "judge_usage": [{"prompt_tokens": j.prompt_tokens,
                             "completion_tokens": j.completion_tokens, "cost": j.cost}
                            for j in self.judged],
            "baseline": self.comparison.old.to_json() if self.comparison.old else None,
        })
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseResult:
        removed = bool(data.get("removed"))
        old = Entry.from_json(data["baseline"]) if data.get("baseline") else None
        new = None if removed else Entry.from_json(data)
        comparison = Comparison(
            data["id"], data["change"], old, new,
            tuple(Step(*s) for s in data.get("worse", ())),
            tuple(Step(*s) for s in data.get("better", ())),
            tuple(data.get("changed_fields", ())))
        verdict = Verdict(data["id"], data["verdict"], data.get("verdict_why", ""),
                          bool(data.get("target"))) if data.get("verdict") else None
        graded = None
        if new is not None and not new.error:
            evidence = data.get("evidence", {})
            graded = Graded(data["id"], {n: Dimension(g, new.reasons.get(n, ""),  # type: ignore[arg-type]
                                                      evidence.get(n, ""))
                                         for n, g in new.grades.items()},
                            new.score, new.review, None, new.samples, new.pass_rates,
                            new.flaky, new.judge)
        runs = tuple(_run_from_json(r) for r in data.get("runs", ()))
        judged = tuple(Judged({}, **usage) for usage in data.get("judge_usage", ()))
        root = Path(data["store"]) if data.get("store") else None
        calendar = tuple(CalendarNote.from_json(n) for n in data.get("calendar", ()))
        return cls(data["id"], data["suite"], comparison, graded, runs, judged, verdict, root,
                   calendar, bool(data.get("calendar_only")))


def _step(step: Step) -> tuple[str, str, str]:
    return step.field, step.old, step.new


def _total(values: Any) -> float | None:
    costs = [v for v in values if v is not None]
    return round(sum(costs), 6) if costs else None


def _run_json(run: Run) -> dict[str, Any]:
    """A run's fields as JSON values, read directly: `asdict` deep-copies the messages (the
    system prompt included) only for them to be dropped, a millisecond per case."""
    data = {name: getattr(run, name) for name in _RUN_ORDER}
    data["retrieved"] = tuple({"id": r.id, "confidence": r.confidence, "score": r.score}
                              for r in run.retrieved)
    data["as_of"] = run.as_of.isoformat()
    data["served"] = []  # the articles served are the grader's business, not a report's
    data["messages"] = [m for m in run.messages if m.get("role") != "system"]  # the turns
    data["tools"] = [{"name": t.name, "arguments": t.arguments, "result": t.result,
                      "step": t.step, "call_id": t.call_id} for t in run.tools]
    return data


def _run_from_json(data: Mapping[str, Any]) -> Run:
    kept = {k: v for k, v in data.items() if k in _RUN_FIELDS}
    kept["as_of"] = dt.date.fromisoformat(data["as_of"])
    kept["retrieved"] = tuple(Retrieved(**r) for r in data.get("retrieved", ()))
    kept["served"] = tuple(data.get("served", ()))
    kept["messages"] = tuple(data.get("messages", ()))
    kept["tools"] = tuple(ToolUse(**t) for t in data.get("tools", ()))  # old records: none
    return Run(**kept)


def usage(cases: Sequence[CaseResult], who: str = "agent") -> dict[str, Any]:
    """Tokens and cost of the agent's (or the judge's) model calls; cached replies are free."""
    calls: list[Any] = [x for r in cases for x in (r.runs if who == "agent" else r.judged)]
    return {
        "prompt_tokens": sum(c.prompt_tokens for c in calls),
        "completion_tokens": sum(c.completion_tokens for c in calls),
        "cost_usd": _total(c.cost for c in calls),
    }


@dataclass(frozen=True)
class RunRecord:
    """A finished run: what every output of `pytest suites/` is made from."""

    cases: tuple[CaseResult, ...]
    gate: GateResult
    passed: bool  # the run's verdict (recording a baseline passes whatever the cases do)
    stats: CallStats = field(default_factory=CallStats)
    model_seconds: float | None = None
    warnings: tuple[str, ...] = ()  # how the baselines were made differently from this run
    updated: tuple[str, ...] = ()  # baselines written by --update-baseline
    notes: tuple[str, ...] = ()  # anything else the run must say (selection, calendar drift)
    interrupted: bool = False  # Ctrl-C or a kill: only the cases finished so far
    roots: tuple[Path, ...] = ()  # the stores of the run

    def to_json(self, *, cases: bool = True) -> dict[str, Any]:
        """The run as JSON; `cases=False` leaves the list of cases empty, for a writer that
        renders them one at a time rather than holding all of them at once."""
        document: dict[str, Any] = {
            "version": RECORD_VERSION,
            "gate": "pass" if self.passed else "fail",
            "interrupted": self.interrupted,
            "unknown_targets": list(self.gate.unknown_targets),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "updated": list(self.updated),
            "cases": [case.to_json() for case in self.cases] if cases else [],
            "usage": {"agent": usage(self.cases), "judge": usage(self.cases, "judge"),
                      "requests": self.stats.requests, "cache_hits": self.stats.cache_hits,
                      "retries": self.stats.retries, "model_seconds": self.model_seconds},
        }
        return document

    @classmethod
    def of(cls, cases: Sequence[CaseResult], *, passed: bool, **more: Any) -> RunRecord:
        """A record of cases whose verdicts are already attached."""
        verdicts = tuple(c.verdict for c in cases if c.verdict is not None)
        return cls(tuple(cases), GateResult(verdicts), passed, **more)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        cases = tuple(CaseResult.from_json(c) for c in data.get("cases", ()))
        verdicts = tuple(c.verdict for c in cases if c.verdict is not None)
        gate = GateResult(verdicts, tuple(data.get("unknown_targets", ())))
        spent = data.get("usage", {})
        stats = CallStats(int(spent.get("requests", 0)), int(spent.get("cache_hits", 0)),
                          int(spent.get("retries", 0)))
        return cls(cases, gate, data.get("gate") == "pass", stats, spent.get("model_seconds"),
                   tuple(data.get("warnings", ())), tuple(data.get("updated", ())),
                   tuple(data.get("notes", ())), bool(data.get("interrupted")))
