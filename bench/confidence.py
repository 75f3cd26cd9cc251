"""Measure retrieval confidence across stores, to choose `min_confidence`'s default.

For every fixture of each store: the best retrieved article's confidence, split by what the
fixture expects: answerable (resolve) or handed off with no escalation topic or request rule
to catch it (a question the KB does not cover). A threshold is good when it keeps answerable
questions above it and uncovered ones below.

    python bench/confidence.py . tests/stores/*     # prints the table for docs/confidence.md
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import datetime as dt

from harness.agent.escalation import rule_decision
from harness.agent.loop import Agent
from harness.store.loading import load_store, load_suites

THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def measure(root: Path) -> tuple[list[float], list[float]]:
    """(confidences of answerable fixtures, of uncovered ones)."""
    store = load_store(root)
    rules = store.agent.escalation.model_copy(update={"min_confidence": 0.0})
    agent = Agent(store, today=dt.date.today())
    cases, _ = load_suites(store)
    answerable, uncovered = [], []
    for case in cases:
        hits, _ = agent.retrieve(case)
        best = max((h.confidence for h in hits), default=0.0)
        if case.expect.outcome == "resolve":
            answerable.append(best)
        elif rule_decision(rules, case.conversation, hits) is None:
            uncovered.append(best)
    return answerable, uncovered


def main(paths: list[str]) -> int:
    rows = {}
    for path in paths:
        root = Path(path)
        if (root / "suites").is_dir():
            rows[root.resolve().name] = measure(root)
    head = " | ".join(f"{t:.2f}" for t in THRESHOLDS)
    out = [f"| store | answerable | uncovered | {head} |",
           "| --- | --- | --- | " + " | ".join("---" for _ in THRESHOLDS) + " |"]
    for name, (answerable, uncovered) in rows.items():
        cells = []
        for t in THRESHOLDS:
            lost = sum(c < t for c in answerable)
            caught = sum(c < t for c in uncovered)
            cells.append(f"{lost} / {caught}")
        out.append(f"| {name} | {len(answerable)} | {len(uncovered)} | " + " | ".join(cells)
                   + " |")
    sys.stdout.write("\n".join(out) + "\n\ncell: answerable handed off / uncovered caught\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
