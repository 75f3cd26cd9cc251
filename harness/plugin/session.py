"""pytest glue: hands the collected fixtures to the pipeline and the finished record to outputs.

The run itself (run, grade, compare, gate) is `harness.pipeline`; this object only remembers,
between pytest's hooks, what was collected and what the pipeline returned. It knows nothing of
pytest's item classes: the collection tree hands it `Collected` values.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from harness.errors import BaselineError, CaseFailed, HarnessError, LoadError
from harness.pipeline.pipeline import (
    Evaluated,
    Interrupted,
    Pipeline,
    compare,
    conclude,
    entry_of,
    failing_new_cases,
)
from harness.pipeline.record import CaseResult, RunRecord
from harness.pipeline.settings import Settings
from harness.providers.client import warm_up
from harness.regression.baseline import Baseline, read_baseline
from harness.regression.calendar import calendar_notes
from harness.regression.compare import compare_entries
from harness.regression.gate import judge_case
from harness.regression.impact import Change, changes_since, selection_note, why_run
from harness.reports.outputs import write_outputs
from harness.reports.terminal import failure_text, first_problem, summary_lines
from harness.reports.tool_calls import tool_lines
from harness.store.loading import FIXTURE_SUFFIXES, Store, Stores, load_case
from harness.store.schema import Case

__all__ = ["Collected", "HarnessSession", "Role"]

SuiteKey = tuple[Path, str]  # (store root, suite name)
Role = Literal["solo", "worker", "controller"]
WIRE = "harness-result"  # the user property that carries a worker's graded case
WIRE_NOTES = "harness-notes"  # and the one that carries what its run must tell (a cache moved)


@dataclass(frozen=True)
class Collected:
    """One fixture file as collected: its case, or the error that kept it from loading."""

    root: Path
    path: Path
    case: Case | None
    error: LoadError | None = None

    @property
    def suite(self) -> str:
        return self.case.suite if self.case else self.path.parent.name

    @property
    def case_id(self) -> str:
        return self.case.case_id if self.case else f"{self.path.parent.name}/{self.path.stem}"


class HarnessSession:
    def __init__(self, settings: Settings, role: Role = "solo") -> None:
        self.settings = settings
        self.role = role  # "worker" and "controller" under pytest-xdist
        self.pipeline = Pipeline(settings, forking=role != "worker")
        self.stores = Stores()
        self.taken_ids: dict[Path, dict[str, Path]] = {}
        self.collected: dict[SuiteKey, set[str]] = defaultdict(set)
        self.baselines: dict[SuiteKey, Baseline] = {}
        self.results: dict[str, CaseResult] = {}
        self.record: RunRecord | None = None
        self.received: list[dict[str, Any]] = []  # controller: graded cases from the workers
        self.received_notes: list[str] = []  # controller: the workers' warnings, each once
        self.selection_note = ""
        self.written: list[str] = []  # what the outputs wrote, for the summary
        self.model_seconds = 0.0  # wall time of the model phase (agent and judge calls)
        self._on_disk: dict[SuiteKey, set[str]] = {}
        self._loaded_ids: dict[Path, str] = {}  # fixture file -> case id, as collected
        self._warm = False

    # -- collection ----------------------------------------------------------------------

    def collect(self, root: Path, path: Path) -> Collected | None:
        """Load one fixture of the store at `root`; None when the store itself is broken."""
        store = self.stores.get(root)
        if store is None:
            return None  # reported once, by check_stores
        self.collected[(root, path.parent.name)].add(f"{path.parent.name}/{path.stem}")
        try:
            case = load_case(path, store, self.taken_ids.setdefault(root, {}))
        except LoadError as error:
            return Collected(root, path, None, error)
        self.collected[(root, case.suite)].add(case.case_id)
        self._loaded_ids[path] = case.case_id
        return Collected(root, path, case)

    def fixture_ids(self, root: Path, suite: str) -> set[str]:
        """Every case id with a fixture file in the suite, run this time or not (-k, a path)."""
        if (root, suite) not in self._on_disk:
            store = self.stores.get(root)
            ids = set()
            folder = root / "suites" / suite
            for path in sorted(p for p in folder.glob("*") if p.suffix in FIXTURE_SUFFIXES):
                ids.add(f"{suite}/{path.stem}")
                if path in self._loaded_ids:  # collected this run: not parsed a second time
                    ids.add(self._loaded_ids[path])
                    continue
                with contextlib.suppress(LoadError):  # reported by its own item when collected
                    if store is not None:
                        ids.add(load_case(path, store).case_id)
            self._on_disk[(root, suite)] = ids
        return self._on_disk[(root, suite)]

    def check_stores(self) -> None:
        """Stop before any model call on a broken store or an unreadable baseline."""
        broken = [str(e) for e in self.stores.errors()]
        if broken:
            raise HarnessError("\n".join(broken))
        try:
            for root, suite in self.collected:
                self.baselines[(root, suite)] = read_baseline(root, suite,
                                                              self.settings.baseline_ref)
        except BaselineError as error:
            raise HarnessError(str(error)) from None
        self._check_targets()

    def _check_targets(self) -> None:
        """A --target that names no fixture of the store is a usage error, like a bad option."""
        if not self.settings.targets:
            return
        roots = {root for root, _ in self.collected}
        known = {case_id for root in roots for folder in sorted((root / "suites").glob("*/"))
                 for case_id in self.fixture_ids(root, folder.name)}
        unknown = [t for t in self.settings.targets if t not in known]
        if unknown and roots:
            example = min(known) if known else "core/returns-window"
            raise HarnessError(f"--target {', '.join(unknown)}: no such case; expected"
                               f" SUITE/ID of a fixture in suites/ (for example {example})")

    def select(self, collected: Sequence[Collected | None]) -> list[bool]:
        """--changed-since: which cases the change can affect; says how many were skipped."""
        ref = self.settings.changed_since
        if not ref:
            return [True] * len(collected)
        changes: dict[Path, Change] = {}
        keep, reasons = [], Counter[str]()
        for item in collected:
            why = "it cannot be loaded"  # a broken fixture fails on its own, with its error
            if item is not None and item.case is not None:
                if item.root not in changes:
                    changes[item.root] = changes_since(item.root, ref)
                why = self._why_run(item, changes[item.root]) or ""
            keep.append(bool(why))
            reasons[why or "unaffected"] += 1
        self.selection_note = selection_note(ref, sum(keep), len(keep) - sum(keep), reasons)
        return keep

    def _why_run(self, item: Collected, change: Change) -> str | None:
        store = self.stores.get(item.root)
        assert store is not None and item.case is not None
        old = self.baselines[(item.root, item.suite)].entries.get(item.case_id)
        hits, _ = self.pipeline.agent(store).retrieve(item.case)
        return why_run(item.case, change, old, [h.article.id for h in hits],
                       item.case_id in self.settings.targets)

    # -- running -------------------------------------------------------------------------

    def run(self, collected: Sequence[Collected], progress: Callable[[int, int, int], None]
            ) -> None:
        """Run, grade and compare every collected case; conclude the run."""
        if self.role == "worker":
            return  # an xdist worker learns its items one by one: each runs in check
        if collected:  # seconds of import and first-call setup, kept out of the timed phase
            warm_up(self._models(collected))
        started = time.perf_counter()
        with _sigterm_as_interrupt():
            try:
                results = self._evaluate(collected, progress)
            except Interrupted as stop:
                self.model_seconds = time.perf_counter() - started
                self._conclude(stop.finished_results, interrupted=True)
                raise KeyboardInterrupt from None  # pytest reports the interruption as usual
        self.model_seconds = time.perf_counter() - started
        self._conclude(results)

    def _evaluate(self, collected: Sequence[Collected], progress: Callable[[int, int, int], None]
                  ) -> list[CaseResult]:
        by_store: dict[Path, list[Collected]] = defaultdict(list)
        for item in collected:
            by_store[item.root].append(item)
        results: dict[str, CaseResult] = {}
        for root, items in by_store.items():
            store = self.stores.get(root)
            assert store is not None  # check_stores stopped the run otherwise
            cases = [i.case for i in items if i.case is not None]
            try:
                evaluated = self.pipeline.evaluate(store, cases, progress)
            except Interrupted as stop:
                stop.finished_results = [*results.values(), *(
                    compare(e, self._old(root, e.case), root=root) for e in stop.finished)]
                raise
            for done in evaluated:
                results[done.case.case_id] = compare(done, self._old(root, done.case), root=root)
            self._mark_calendar(store, evaluated, results)
            for item in items:
                if item.case is None:
                    results[item.case_id] = self._broken(item)
        return [results[item.case_id] for item in collected]

    def _mark_calendar(self, store: Store, evaluated: Sequence[Evaluated],
                       results: dict[str, CaseResult]) -> None:
        """Worse cases that a dated article moved: worse only because of the day they ran?"""
        worse = []
        for done in evaluated:
            result = results[done.case.case_id]
            old = result.comparison.old
            if result.comparison.change == "worse" and old is not None and calendar_notes(
                    old, result.comparison.new, store.articles):
                worse.append((done.case, old))
        for case_id in self.pipeline.calendar_only(store, worse) if worse else ():
            results[case_id] = replace(results[case_id], calendar_only=True)

    def _old(self, root: Path, case: Case) -> Any:
        return self.baselines[(root, case.suite)].entries.get(case.case_id)

    def _broken(self, item: Collected) -> CaseResult:
        """A fixture that cannot load: it fails alone, as its own item, with its error."""
        old = self.baselines[(item.root, item.suite)].entries.get(item.case_id)
        new = entry_of(None, None, str(item.error))
        return CaseResult(item.case_id, item.suite, compare_entries(item.case_id, old, new),
                          root=item.root)

    def _models(self, collected: Sequence[Collected]) -> set[str]:
        stores = [s for s in (self.stores.get(r) for r in {c.root for c in collected}) if s]
        return {m for s in stores for m in (s.agent.model_name, s.agent.judge.model) if m}

    def _conclude(self, results: list[CaseResult], *, interrupted: bool = False) -> None:
        """Add the removed cases, let the gate judge every case, record baselines if asked."""
        removed = [] if interrupted else self._removed()  # unfinished is not removed
        self.record = conclude(
            results + removed, self.settings, baselines=self.baselines, interrupted=interrupted,
            stores=self.stores.loaded(), stats=self.pipeline.stats() if self.role == "solo"
            else None, model_seconds=self.model_seconds if self.role == "solo" else None,
            fixture_ids=self.fixture_ids,
            notes=(*((self.selection_note,) if self.selection_note else ()),
                   *self.pipeline.warnings(), *self.received_notes))
        self.results = {r.case_id: r for r in self.record.cases}

    def _removed(self) -> list[CaseResult]:
        """Baseline entries whose fixture is gone: reported, never silently dropped."""
        return [
            CaseResult(case_id, suite, compare_entries(case_id, entry, None), root=root)
            for (root, suite), baseline in self.baselines.items()
            for case_id, entry in baseline.entries.items()
            if case_id not in self.fixture_ids(root, suite)
        ]

    def _run_one(self, item: Collected) -> CaseResult:
        """xdist worker: run, grade and judge one case as the scheduler hands it over."""
        if not self._warm:
            warm_up(self._models([item]))
            self._warm = True
        (result,) = self._evaluate([item], lambda *_: None)
        verdict = judge_case(result.comparison, target=item.case_id in self.settings.targets,
                             calendar=result.calendar_only and not self.settings.fail_on_calendar)
        self.results[item.case_id] = replace(result, verdict=verdict)
        return self.results[item.case_id]

    def check(self, item: Collected, properties: list[tuple[str, object]]) -> None:
        """pytest's verdict on one item: pass, xfail (a known failure) or a failure text."""
        import pytest

        if self.role == "worker" and item.case_id not in self.results:
            self._run_one(item)
        result = self.results.get(item.case_id)
        if result is None:
            raise CaseFailed(f"{item.case_id}: the case was not run")
        properties += junit_properties(result)
        if self.role == "worker":  # the controller gates, reports and records the whole run
            properties.append((WIRE, result.to_json()))
            warnings = self.pipeline.warnings()  # a worker's warnings never reach the terminal
            if warnings:
                properties.append((WIRE_NOTES, list(warnings)))
        if item.error is not None:
            raise item.error
        if self.settings.update_baseline:
            if result.entry is not None and result.entry.error:
                raise CaseFailed(f"{item.case_id}: not recorded: {result.entry.error}")
            if not self.settings.accept_failing and result in failing_new_cases([result]):
                raise CaseFailed(f"{failure_text(result)}\n  not recorded: a new case that does"
                                 " not pass; fix it, or record it as a known failure with"
                                 " --accept-failing")
            return
        if result.verdict is None:
            return
        if result.verdict.status == "fail":
            raise CaseFailed(failure_text(result))
        if result.verdict.status == "known-failure":
            pytest.xfail(f"known failure: {first_problem(result)}")

    # -- reporting -----------------------------------------------------------------------

    def summary(self, *, verbose: bool, width: int, colour: bool) -> list[str]:
        lines = [f"harness: {self.selection_note}"] if self.selection_note else []
        if self.record is None or not self.record.cases:
            return lines
        return lines + summary_lines(self.record, verbose=verbose, width=width, colour=colour,
                                     written=self.written)

    # -- pytest-xdist ----------------------------------------------------------------------

    def receive(self, properties: list[tuple[str, object]], when: str) -> list[tuple[str, object]]:
        """Controller: keep each worker's graded case (sent with the call-phase report) and its
        warnings, and return the other properties, so that --junitxml shows only the readable
        ones."""
        kept = []
        for name, value in properties:
            if name == WIRE_NOTES:
                if when == "call" and isinstance(value, list):
                    self.received_notes += [n for n in value if isinstance(n, str)
                                            and n not in self.received_notes]
            elif name != WIRE:
                kept.append((name, value))
            elif when == "call" and isinstance(value, dict):  # every phase carries it: once
                self.received.append(value)
        return kept

    def _conclude_received(self) -> None:
        results = []
        for data in sorted(self.received, key=lambda data: data["id"]):
            result = CaseResult.from_json(data)
            key = (result.root, result.suite) if result.root else None
            if key and key not in self.baselines:
                self.collected[key].add(result.case_id)
                self.baselines[key] = read_baseline(key[0], key[1], self.settings.baseline_ref)
                self.stores.get(key[0])
            results.append(result)
        self._conclude(results)

    def finish(self) -> bool | None:
        """Write the run's outputs; the run's verdict, or None when there is nothing to say."""
        if self.role == "controller" and self.received:
            self._conclude_received()
        if self.record is None or self.role == "worker":
            return None
        self.written = write_outputs(self.settings, self.record, stores=self.stores.loaded())
        return self.record.passed


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A CI job cancelled (SIGTERM) stops the run like Ctrl-C: the cases finished so far are
    still reported, marked interrupted (a SIGKILL cannot be caught; the cache keeps them)."""
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def junit_properties(result: CaseResult) -> list[tuple[str, object]]:
    """The case's grades as JUnit <property> elements (pytest's --junitxml)."""
    entry = result.entry
    if entry is None:
        return []
    latency = sum(r.latency_s for r in result.runs)
    return [("harness.score", f"{entry.score:.4f}"), ("harness.change", result.comparison.change),
            *(_grade_property(name, grade) for name, grade in entry.grades.items()),
            ("harness.latency_s", f"{latency:.3f}"),
            *((f"harness.tool.{i}", str(line)) for i, line in enumerate(tool_lines(result), 1))]


@functools.cache
def _grade_property(name: str, grade: str) -> tuple[str, str]:
    """One tuple per (dimension, grade): pytest keeps every item's properties, and each of its
    reports' copy, to the end of the run; 10,000 cases would otherwise hold 60,000 tuples."""
    return f"harness.{name}", grade
