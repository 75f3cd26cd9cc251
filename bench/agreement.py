"""How often the grader agrees with a careful human reviewer: the labelled corpus, graded.

    python bench/agreement.py              # the development corpus (bench/corpus/*)
    python bench/agreement.py --holdout    # the hold-out (bench/holdout/corpus/*): measure once
    python bench/agreement.py --list       # also list every disagreement

Every corpus reply is graded as fixture grading grades the agent's answer (the reply, with the
KB served and retrieved on the fixture's `as_of`, through `grading.fixture.grade_run`), and every
production conversation as `harness score` scores it (`coach.score.score_export`). The script
prints, per store and in total, per dimension: agreement with the labels, false passes (the
grader passes what the label grades below pass), false fails (the grader grades below pass what
the label passes), and the review queue's recall and precision (the reviewer queues a reply when
accuracy fails or two dimensions are below pass, or when a conversation label says `review`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.agent.loop import Agent
from harness.agent.run import Retrieved, Run
from harness.coach.production import ProductionGrader
from harness.coach.score import score_export
from harness.grading.fixture import grade_run
from harness.grading.rubric import DIMENSIONS, is_review
from harness.store.loading import load_case, load_store, suite_files, suite_of
from harness.store.schema import Case

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "bench" / "corpus"
HOLDOUT = ROOT / "bench" / "holdout" / "corpus"


@dataclass
class Tally:
    """Counts of one store (or the total) for one kind of item (replies or conversations)."""

    items: int = 0
    agree: Counter[str] = field(default_factory=Counter)
    judged: Counter[str] = field(default_factory=Counter)
    false_pass: Counter[str] = field(default_factory=Counter)
    false_fail: Counter[str] = field(default_factory=Counter)
    review_tp: int = 0
    review_fp: int = 0
    review_fn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, item: str, labels: dict[str, str], grades: dict[str, str],
            reasons: dict[str, str], review_label: bool, review_got: bool) -> None:
        self.items += 1
        for name in DIMENSIONS:
            want = labels.get(name)
            if want in (None, "n/a"):
                continue
            got = grades.get(name, "n/a")
            self.judged[name] += 1
            if got == want:
                self.agree[name] += 1
                continue
            if got == "pass":
                self.false_pass[name] += 1
            elif want == "pass":
                self.false_fail[name] += 1
            self.misses.append(f"{item} {name}: label {want}, grader {got}: "
                               f"{reasons.get(name, '')[:160]}")
        if review_label and review_got:
            self.review_tp += 1
        elif review_got:
            self.review_fp += 1
            self.misses.append(f"{item} review: queued, the reviewer would not")
        elif review_label:
            self.review_fn += 1
            self.misses.append(f"{item} review: not queued, the reviewer would")

    def merge(self, other: Tally) -> None:
        self.items += other.items
        for name in ("agree", "judged", "false_pass", "false_fail"):
            getattr(self, name).update(getattr(other, name))
        self.review_tp += other.review_tp
        self.review_fp += other.review_fp
        self.review_fn += other.review_fn

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {self.items} items"]
        for name in DIMENSIONS:
            n = self.judged[name]
            if not n:
                continue
            out.append(f"  {name:<10} agree {self.agree[name] / n:6.1%} ({self.agree[name]}/{n})"
                       f"  false pass {self.false_pass[name]:>2}"
                       f"  false fail {self.false_fail[name]:>2}")
        queued = self.review_tp + self.review_fn
        flagged = self.review_tp + self.review_fp
        recall = f"{self.review_tp / queued:.1%}" if queued else "n/a"
        precision = f"{self.review_tp / flagged:.1%}" if flagged else "n/a"
        out.append(f"  review     recall {recall} ({self.review_tp}/{queued})"
                   f"  precision {precision} ({self.review_tp}/{flagged})")
        return out


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _cases(store: Any) -> dict[str, Case]:
    found = {}
    for path in suite_files(store.root):
        case = load_case(path, store)
        found[f"{suite_of(path, store.root)}/{case.id}"] = case
    return found


def _inline(entry: dict[str, Any]) -> Case:
    data = dict(entry["fixture"])
    data.setdefault("id", entry["id"])
    data.setdefault("suite", "corpus")
    return Case.model_validate(data)


def _run(case: Case, agent: Agent, outcome: str, reply: str) -> Run:
    """The run fixture grading would see had the agent written `reply`."""
    hits, served = agent.retrieve(case)
    return Run(case_id=case.case_id, as_of=agent.day_for(case), model="corpus",
               retrieved=tuple(Retrieved(h.article.id, h.confidence, round(h.score, 4))
                               for h in hits),
               served=served, reply=reply.strip(), outcome=outcome,  # type: ignore[arg-type]
               decided_by="model" if outcome == "resolve" else "corpus",
               why="the reply escalated" if outcome == "escalate" else "the model answered")


def grade_replies(folder: Path, store: Any) -> Tally:
    tally = Tally()
    path = folder / "replies.yaml"
    if not path.is_file():
        return tally
    cases = _cases(store)
    agent = Agent(store, today=dt.date.today())
    for entry in _yaml(path)["replies"]:
        case = cases[entry["case"]] if "case" in entry else _inline(entry)
        run = _run(case, agent, entry.get("outcome", "resolve"), entry["reply"])
        graded = grade_run(case, run, store)
        grades = {n: d.grade for n, d in graded.grades.items()}
        reasons = {n: d.reason for n, d in graded.grades.items()}
        labels = entry["labels"]
        tally.add(entry["id"], labels, grades, reasons,
                  bool(entry.get("review")) or is_review(labels), graded.review)
    return tally


def grade_conversations(folder: Path, store: Any) -> Tally:
    tally = Tally()
    export, label_path = folder / "conversations.jsonl", folder / "conversation-labels.yaml"
    if not export.is_file() or not label_path.is_file():
        return tally
    labels = {c["id"]: c for c in _yaml(label_path)["conversations"]}
    grader = ProductionGrader(store)
    for scored in score_export(export, grader, on_bad=lambda bad: None):
        entry = labels.get(scored.id)
        if entry is None:
            continue
        want = entry["labels"]
        judged = {n: g for n, g in want.items() if g != "n/a"}
        review_label = bool(entry.get("review")) or is_review(judged)
        tally.add(scored.id, want, {n: d.grade for n, d in scored.grades.items()},
                  scored.reasons, review_label, scored.review)
    return tally


def _stores(base: Path) -> Iterable[tuple[str, Path, Path]]:
    for folder in sorted(p for p in base.iterdir() if (p / "corpus.yaml").is_file()):
        root = (ROOT / str(_yaml(folder / "corpus.yaml")["store"])).resolve()
        yield folder.name, folder, root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holdout", action="store_true", help="measure the hold-out corpus")
    parser.add_argument("--list", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    base = HOLDOUT if args.holdout else DEV
    totals = {"replies": Tally(), "conversations": Tally()}
    out: list[str] = []
    for name, folder, root in _stores(base):
        store = load_store(root)
        for kind, tally in (("replies", grade_replies(folder, store)),
                            ("conversations", grade_conversations(folder, store))):
            if not tally.items:
                continue
            totals[kind].merge(tally)
            out += tally.lines(f"{name} {kind}")
            if args.list:
                out += [f"    - {miss}" for miss in tally.misses]
    for kind, tally in totals.items():
        if tally.items:
            out += tally.lines(f"TOTAL {kind}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
