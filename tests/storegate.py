"""Run a test store's scripted edits through the gate, in one process.

A store under tests/stores (or any store with an `edits.yaml`, see tests/stores/README.md) is
copied, its baseline is recorded from a run of every fixture, then each scripted edit is applied
to a fresh copy and the gate judges the copy against that baseline, with the edit's targets.
Everything goes through `harness.pipeline.Pipeline` and the gate's own `decide`, as
`pytest suites/` does, but litellm is imported once and no pytest runs inside pytest.

    python tests/storegate.py tests/stores/loop-and-thread [...]   # prints the table
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from harness.pipeline.pipeline import Pipeline, entry_of
from harness.pipeline.settings import Settings
from harness.regression.baseline import Entry
from harness.regression.compare import Comparison, compare_entries
from harness.regression.gate import decide
from harness.store.loading import load_store, load_suites, suite_of

STORES = Path(__file__).resolve().parent / "stores"

__all__ = ["EditOutcome", "StoreRun", "apply_edit", "edits_of", "run_store", "store_dirs"]


def store_dirs() -> list[Path]:
    """Every test store: a folder of tests/stores with an edits.yaml."""
    return sorted(p for p in STORES.iterdir() if (p / "edits.yaml").is_file())


def edits_of(root: Path) -> list[dict[str, Any]]:
    if not (root / "edits.yaml").is_file():
        return []
    data = yaml.safe_load((root / "edits.yaml").read_text(encoding="utf-8")) or {}
    return list(data.get("edits") or [])


def apply_edit(root: Path, edit: dict[str, Any]) -> None:
    """Apply one scripted edit in place; a `replace` whose text is missing is an error."""
    for change in edit.get("changes") or []:
        path = root / change["file"]
        if change.get("delete"):
            path.unlink()
        elif "write" in change:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(change["write"], encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
            if change["replace"] not in text:
                raise ValueError(f"{edit['name']}: {change['file']} has no {change['replace']!r}")
            path.write_text(text.replace(change["replace"], change["with"]), encoding="utf-8")


def _entries(root: Path, pipeline: Pipeline) -> dict[str, Entry]:
    """Every fixture of the store run and graded, as baseline entries (a broken one: its error)."""
    store = load_store(root)
    cases, broken = load_suites(store)
    entries = {done.case.case_id: entry_of(done.graded, done.run)
               for done in pipeline.evaluate(store, cases)}
    for error in broken:
        case_id = f"{suite_of(error.path, root)}/{error.path.stem}"
        entries[case_id] = entry_of(None, None, str(error))
    return entries


@dataclass(frozen=True)
class EditOutcome:
    name: str
    kind: str
    expected: dict[str, Any]
    gate: str  # "pass" | "fail"
    worse: tuple[str, ...]
    better: tuple[str, ...]
    why: tuple[str, ...]  # the gate's objections, one line per failing case

    @property
    def problems(self) -> list[str]:
        """How this outcome differs from what edits.yaml expects (empty: right)."""
        want, found = self.expected, []
        if want.get("gate") and want["gate"] != self.gate:
            found.append(f"gate {self.gate}, expected {want['gate']}")
        for key, got in (("worse", self.worse), ("better", self.better)):
            missing = sorted(set(want.get(key) or ()) - set(got))
            if missing:
                found.append(f"not reported {key}: {', '.join(missing)}")
        if want.get("unchanged") and (self.worse or self.better):
            found.append(f"expected unchanged, got worse={list(self.worse)}"
                         f" better={list(self.better)}")
        return found


@dataclass(frozen=True)
class StoreRun:
    name: str
    baseline: dict[str, Entry]
    rerun: dict[str, Entry]  # the untouched store run again: nothing may change
    edits: tuple[EditOutcome, ...] = field(default=())

    @property
    def passing(self) -> int:
        return sum(e.passed for e in self.baseline.values())

    @property
    def right(self) -> int:
        return sum(not e.problems for e in self.edits)

    @property
    def changed_unchanged(self) -> list[str]:
        """Cases reported changed when nothing was edited."""
        return [cid for cid, e in self.rerun.items()
                if compare_entries(cid, self.baseline.get(cid), e).change in ("worse", "better")]


def _only_the_store(source: Path) -> Callable[[str, list[str]], list[str]]:
    """Copy a store's own folders only (the repository root is the sample store too)."""
    def ignore(folder: str, names: list[str]) -> list[str]:
        if Path(folder).resolve() != source.resolve():
            return []
        return [n for n in names if n not in ("knowledge", "prompts", "suites", "edits.yaml")]
    return ignore


def _comparisons(old: dict[str, Entry], new: dict[str, Entry]) -> list[Comparison]:
    return [compare_entries(cid, old.get(cid), new.get(cid)) for cid in sorted({*old, *new})]


def run_store(source: Path, *, today: dt.date | None = None,
              only: tuple[str, ...] | None = None) -> StoreRun:
    """Baseline, an unchanged rerun, then each scripted edit (or those named in `only`)."""
    settings = Settings(today=today or dt.date.today(), cache="off", concurrency=8,
                        processes=1)
    pipeline = Pipeline(settings, forking=False)
    with tempfile.TemporaryDirectory(prefix=f"store-{source.name}-") as tmp:
        base = Path(tmp) / "base"
        shutil.copytree(source, base, ignore=_only_the_store(source))
        baseline = _entries(base, pipeline)
        rerun = _entries(base, pipeline)
        outcomes = []
        for number, edit in enumerate(edits_of(source)):
            if only is not None and edit["name"] not in only:
                continue
            copy = Path(tmp) / f"edit{number}"
            shutil.copytree(base, copy)
            apply_edit(copy, edit)
            entries = _entries(copy, pipeline)
            comparisons = _comparisons(baseline, entries)
            gate = decide(comparisons, edit.get("targets") or ())
            outcomes.append(EditOutcome(
                edit["name"], edit.get("kind", ""), dict(edit.get("expect") or {}),
                "pass" if gate.passed else "fail",
                tuple(c.case_id for c in comparisons if c.change == "worse"),
                tuple(c.case_id for c in comparisons if c.change == "better"),
                tuple(f"{v.case_id}: {v.why}" for v in gate.failing)
                + tuple(f"unknown target {t}" for t in gate.unknown_targets)))
            shutil.rmtree(copy)
    return StoreRun(source.resolve().name, baseline, rerun, tuple(outcomes))


def table(runs: list[StoreRun]) -> str:
    """The Markdown table of the stores' results."""
    lines = ["| store | fixtures passing at baseline | verdicts right |", "| --- | --- | --- |"]
    for run in runs:
        lines.append(f"| {run.name} | {run.passing}/{len(run.baseline)}"
                     f" ({run.passing / max(len(run.baseline), 1):.0%}) |"
                     f" {run.right}/{len(run.edits)} |")
    return "\n".join(lines)


def _main(paths: list[str]) -> int:
    runs = []
    for path in [p for p in paths if Path(p).is_dir()] or [str(p) for p in store_dirs()]:
        run = run_store(Path(path), only=() if os.environ.get("BASELINE_ONLY") else None)
        runs.append(run)
        failing = [f"{cid}: {e.reasons or e.error}" for cid, e in sorted(run.baseline.items())
                   if not e.passed]
        sys.stdout.write(f"## {run.name}\nfailing at baseline:\n")
        for line in failing:
            sys.stdout.write(f"  {line}\n")
        for outcome in run.edits:
            mark = "ok " if not outcome.problems else "BAD"
            sys.stdout.write(f"{mark} {outcome.kind:10} {outcome.name}: gate {outcome.gate}"
                             f" worse={list(outcome.worse)} better={list(outcome.better)}\n")
            for problem in outcome.problems:
                sys.stdout.write(f"      {problem}\n")
        if run.changed_unchanged:
            sys.stdout.write(f"changed with nothing edited: {run.changed_unchanged}\n")
    sys.stdout.write(table(runs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
