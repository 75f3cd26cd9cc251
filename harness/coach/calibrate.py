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

import argparse
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tabulate import tabulate

from harness.errors import HarnessError
from harness.grading.fixture import DIMENSIONS
from harness.store.loading import Store, load_suites, load_yaml_file, open_store
from harness.store.schema import Frozen

__all__ = ["Agreement", "Label", "cohen_kappa", "compare_labels", "register"]

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


def _grade_labelled(store: Store, labels: Sequence[Label], as_of: dt.date | None
                    ) -> tuple[dict[str, dict[str, tuple[str, str]]], dict[str, dict[str, str]]]:
    from harness.agent.loop import Agent
    from harness.grading.fixture import grade_run
    from harness.pipeline.runner import judge_runs, run_cases
    from harness.providers.client import CallPolicy, ModelClient

    wanted = {label.id for label in labels}
    cases = [c for c in load_suites(store)[0] if c.case_id in wanted]
    missing = wanted - {c.case_id for c in cases}
    if missing:
        raise HarnessError(f"labelled case(s) not found in suites/: {', '.join(sorted(missing))}")
    from harness.providers.cache import ResponseCache

    client = ModelClient(cache=ResponseCache.for_store(store.root), mode="on",
                         policy=CallPolicy(timeout_s=store.agent.timeout,
                                           retries=store.agent.retries))
    agent = Agent(store, as_of=as_of, today=dt.date.today(), client=client)
    runs = {cid: samples[0] for cid, samples in run_cases(agent, cases).items()}
    rubric = {c.case_id: {n: (d.grade, d.reason) for n, d in
                          grade_run(c, runs[c.case_id], store).grades.items()} for c in cases}
    judge: dict[str, dict[str, str]] = {}
    if store.agent.judge.model:
        pairs = [(c, runs[c.case_id]) for c in cases]
        verdicts = judge_runs(client, store.agent.judge.model, store, pairs)
        judge = {c.case_id: {n: g for n, (g, _) in v.grades.items()}
                 for c, v in zip(cases, verdicts, strict=True)}
    return rubric, judge


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    from harness.pipeline.settings import parse_date

    store = open_store(args.store)
    labels = load_yaml_file(Path(args.labels), Labels).labels
    as_of = parse_date(args.as_of) if args.as_of else None
    rubric, judge = _grade_labelled(store, labels, as_of)
    table, differences = compare_labels(labels, rubric, judge)
    rows = [[a.dimension, a.grader, a.cases, _percent(a.agreement),
             "-" if a.kappa is None else f"{a.kappa:.2f}"] for a in table]
    print(tabulate(rows, headers=["dimension", "grader", "cases", "agreement", "kappa"],
                   disable_numparse=True))
    if not store.agent.judge.model:
        print("no judge: set judge.model in prompts/agent.yaml to calibrate an LLM judge too")
    if differences:
        print(f"\ndisagreements ({len(differences)}):")
        for d in differences:
            judged = f", judge {d.judge}" if d.judge else ""
            print(f"  {d.case_id} {d.dimension}: coach {d.coach}, rubric {d.rubric}{judged}"
                  f" ({d.reason})")
    if args.json:
        document: dict[str, Any] = {"agreement": [asdict(a) for a in table],
                                    "disagreements": [asdict(d) for d in differences]}
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser("calibrate", help="agreement of rubric and judge with a"
                                 " coach's labels (Cohen's kappa)")
    parser.add_argument("labels", help="LABELS.yaml: `labels:` list of {id, accuracy, ...}")
    parser.add_argument("--store", help="the store's folder (default: the current one)")
    parser.add_argument("--as-of", help="serve the KB as of YYYY-MM-DD")
    parser.add_argument("--json", help="also write the agreement table as JSON to this path")
    parser.set_defaults(func=cmd_calibrate)
