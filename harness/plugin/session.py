"""One pytest run of a store: load -> run -> grade -> compare -> gate -> report.

The plugin's hooks call these methods; this is the only object with state across hooks.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest

from harness.agent.loop import Agent, Run
from harness.errors import BaselineError, HarnessError, LoadError
from harness.grading.fixture import combine_samples, grade_run
from harness.grading.judge import Judged
from harness.pipeline.record import CaseResult, entry_of, from_wire, to_wire
from harness.pipeline.runner import judge_runs, run_cases
from harness.pipeline.settings import Settings, settings_from_options
from harness.plugin.items import CaseFailed, CaseItem
from harness.providers.cache import ResponseCache
from harness.providers.client import CallPolicy, CallStats, ModelClient, warm_up
from harness.regression.baseline import (
    Baseline,
    Entry,
    baseline_path,
    provenance_of,
    read_baseline,
    render_baseline,
    write_atomic,
)
from harness.regression.compare import compare_entries
from harness.regression.gate import GateResult, decide, judge_case
from harness.regression.impact import Change, changes_since, selection_note, why_run
from harness.reports.outputs import write_outputs
from harness.reports.terminal import (
    Progress,
    failure_text,
    seasonal_lines,
    summary_lines,
)
from harness.store.loading import Store, StoreLoadError, find_store_root, load_case, load_store
from harness.store.schema import Case

__all__ = ["HarnessSession"]

SuiteKey = tuple[Path, str]  # (store root, suite name)
Role = Literal["solo", "worker", "controller"]
WIRE = "harness-result"  # the user property that carries a worker's graded case


class HarnessSession:
    def __init__(self, settings: Settings, role: Role = "solo") -> None:
        self.settings = settings
        self.role = role  # "worker" and "controller" under pytest-xdist
        self.received: list[dict[str, Any]] = []  # controller: graded cases from the workers
        self.stores: dict[Path, Store | StoreLoadError] = {}
        self.taken_ids: dict[Path, dict[str, Path]] = {}
        self.collected: dict[SuiteKey, set[str]] = defaultdict(set)
        self._on_disk: dict[SuiteKey, set[str]] = {}
        self.selection_note = ""
        self.baselines: dict[SuiteKey, Baseline] = {}
        self.results: dict[str, CaseResult] = {}
        self.gate: GateResult | None = None
        self.updated: list[str] = []
        self.clients: dict[Path, ModelClient] = {}
        self.model_seconds = 0.0  # wall time of the model phase (agent and judge calls)
        self._warm = False

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> HarnessSession:
        try:
            settings = settings_from_options(config.option, os.environ)
        except HarnessError as error:
            raise pytest.UsageError(str(error)) from None
        worker = hasattr(config, "workerinput")
        distributed = getattr(config.option, "dist", "no") not in ("no", None)  # xdist's -n
        role: Role = "worker" if worker else ("controller" if distributed else "solo")
        return cls(settings, role)

    # -- collection ----------------------------------------------------------------------

    def store_root_for(self, path: Path) -> Path | None:
        """The store whose `suites/<suite>/` holds `path`, if any."""
        if path.parent.parent.name != "suites":
            return None
        root = path.parent.parent.parent
        return root if find_store_root(root) == root else None

    def store(self, root: Path) -> Store | None:
        if root not in self.stores:
            try:
                self.stores[root] = load_store(root)
            except StoreLoadError as error:
                self.stores[root] = error
        loaded = self.stores[root]
        return loaded if isinstance(loaded, Store) else None

    def load_case(self, path: Path) -> Case | None:
        root = self.store_root_for(path)
        store = self.store(root) if root else None
        if store is None or root is None:
            return None
        self.collected[(root, path.parent.name)].add(f"{path.parent.name}/{path.stem}")
        case = load_case(path, store, self.taken_ids.setdefault(root, {}))
        self.collected[(root, case.suite)].add(case.case_id)
        return case

    def fixture_ids(self, root: Path, suite: str) -> set[str]:
        """Every case id with a fixture file in the suite, run this time or not (-k, a path)."""
        if (root, suite) not in self._on_disk:
            store = self.store(root)
            ids = set()
            for path in sorted((root / "suites" / suite).glob("*.yaml")):
                ids.add(f"{suite}/{path.stem}")
                with contextlib.suppress(LoadError):  # reported by its own item when collected
                    if store is not None:
                        ids.add(load_case(path, store).case_id)
            self._on_disk[(root, suite)] = ids
        return self._on_disk[(root, suite)]

    def check_store(self) -> None:
        """Stop before any model call on a broken store or an unreadable baseline."""
        broken = [str(e) for e in self.stores.values() if isinstance(e, StoreLoadError)]
        if broken:
            raise pytest.UsageError("\n".join(broken))
        try:
            for root, suite in self.collected:
                ref = self.settings.baseline_ref
                self.baselines[(root, suite)] = read_baseline(root, suite, ref)
        except BaselineError as error:
            raise pytest.UsageError(str(error)) from None

    def select(self, items: list[Any]) -> tuple[list[Any], list[Any]]:
        """--changed-since: keep the cases the change can affect; say how many were skipped."""
        ref = self.settings.changed_since
        if not ref:
            return items, []
        selected, skipped, reasons = [], [], Counter()
        for root, mine in _by_store(items, self.store_root_for).items():
            store = self.store(root) if root else None
            if root is None or store is None:
                selected += mine
                continue
            try:
                change = changes_since(root, ref)
            except HarnessError as error:
                raise pytest.UsageError(str(error)) from None
            agent = Agent(store, as_of=self.settings.as_of, today=self.settings.today)
            for item in mine:
                why = self._why_run(item, change, agent, root)
                (selected if why else skipped).append(item)
                reasons[why or "unaffected"] += 1
        self.selection_note = selection_note(ref, len(selected), len(skipped), reasons)
        return selected, skipped

    def _why_run(self, item: Any, change: Change, agent: Agent, root: Path) -> str | None:
        if not isinstance(item, CaseItem) or item.case is None:
            return "it cannot be loaded"  # it fails on its own, with its error
        old = self.baselines[(root, item.case.suite)].entries.get(item.case_id)
        hits, _ = agent.retrieve(item.case)
        return why_run(item.case, change, old, [h.article.id for h in hits],
                       item.case_id in self.settings.targets)

    # -- running -------------------------------------------------------------------------

    def run(self, session: pytest.Session) -> None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return  # pytest stops on collection errors: no model is called
        if self.role == "worker":
            return  # an xdist worker learns its items one by one: each runs in check_item
        items = [i for i in session.items if isinstance(i, CaseItem)]
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if items:  # seconds of import and first-call setup, kept out of the timed phase
            warm_up(self._models(items))
        started = time.perf_counter()
        runs = self._run_models(items, Progress(reporter))
        judged = self._judge(items, runs)
        self.model_seconds = time.perf_counter() - started
        self._conclude([self._result(item, runs.get(item.case_id, ()), judged)
                        for item in items])

    def _conclude(self, results: list[CaseResult]) -> None:
        """Add the removed cases, let the gate judge every case, record baselines if asked."""
        results = results + self._removed()
        self.gate = decide([r.comparison for r in results], self.settings.targets)
        verdicts = {v.case_id: v for v in self.gate.verdicts}
        self.results = {r.case_id: replace(r, verdict=verdicts[r.case_id]) for r in results}
        if self.settings.update_baseline and self.role != "worker":
            self._update_baselines()

    def _result(self, item: CaseItem, runs: tuple[Run, ...],
                judged: dict[tuple[str, int], Judged]) -> CaseResult:
        """Grade one item's runs and compare the result with its baseline entry."""
        root = self.store_root_for(item.path)
        store = self.store(root) if root else None
        suite = item.case.suite if item.case else item.path.parent.name
        graded = None
        verdicts = [judged.get((run.case_id, run.sample)) for run in runs]
        if item.case and runs and store:
            samples = [grade_run(item.case, run, store, v.grades if v else None)
                       for run, v in zip(runs, verdicts, strict=True)]
            graded = combine_samples(samples, store.agent.rubric.weights)
        run = runs[0] if runs else None
        new = entry_of(graded, run, str(item.load_error) if item.load_error else None)
        old = self.baselines[(root, suite)].entries.get(item.case_id) if root else None
        return CaseResult(item.case_id, suite, compare_entries(item.case_id, old, new),
                          graded=graded, runs=runs, judged=tuple(v for v in verdicts if v),
                          root=root)

    def _run_models(self, items: list[CaseItem], progress: Progress) -> dict[str, tuple[Run, ...]]:
        by_store: dict[Path, list[Case]] = defaultdict(list)
        for item in items:
            root = self.store_root_for(item.path)
            if item.case is not None and root is not None:
                by_store[root].append(item.case)
        runs: dict[str, tuple[Run, ...]] = {}
        for root, cases in by_store.items():
            store = self.store(root)
            assert store is not None  # check_store stopped the run otherwise
            client = self.client_for(store)
            agent = Agent(store, as_of=self.settings.as_of, today=self.settings.today,
                          client=client)
            concurrency = self.settings.concurrency or store.agent.concurrency or 8
            calls = len(cases) * self.settings.repeat
            runs.update(run_cases(agent, cases, concurrency=concurrency,
                                  repeat=self.settings.repeat, progress=progress,
                                  processes=self._processes(concurrency, calls)))
        return runs

    def _models(self, items: list[CaseItem]) -> set[str]:
        roots = {self.store_root_for(item.path) for item in items}
        stores = [s for s in (self.store(r) for r in roots if r) if s is not None]
        return {m for s in stores for m in (s.agent.model_name, s.agent.judge.model) if m}

    def _processes(self, concurrency: int, calls: int) -> int:
        """One process per core for big, highly concurrent runs; never inside an xdist worker."""
        if self.settings.processes is not None:
            return self.settings.processes
        if self.role == "worker" or concurrency < 16 or calls < 200:
            return 1
        return max(1, min(os.cpu_count() or 1, concurrency // 8))

    def _judge(self, items: list[CaseItem], runs: dict[str, tuple[Run, ...]]
               ) -> dict[tuple[str, int], Judged]:
        """The LLM judge's verdicts, for stores whose agent.yaml names a `judge.model`."""
        verdicts: dict[tuple[str, int], Judged] = {}
        for root, client in self.clients.items():
            store = self.store(root)
            if store is None or not store.agent.judge.model:
                continue
            pairs = [(item.case, run) for item in items
                     if item.case is not None and self.store_root_for(item.path) == root
                     for run in runs.get(item.case_id, ())]
            concurrency = self.settings.concurrency or store.agent.concurrency or 8
            found = judge_runs(client, store.agent.judge.model, store, pairs,
                               concurrency=concurrency)
            verdicts.update({(run.case_id, run.sample): v for (_, run), v in zip(pairs, found,
                                                                                 strict=True)})
        return verdicts

    def client_for(self, store: Store) -> ModelClient:
        """One model client per store: its cache, and agent.yaml's timeout and retries."""
        if store.root in self.clients:  # an xdist worker asks once per case: open it once
            return self.clients[store.root]
        agent = store.agent
        cache = ResponseCache.for_store(store.root) if self.settings.cache != "off" else None
        self.clients[store.root] = client = ModelClient(
            cache=cache, mode=self.settings.cache,
            policy=CallPolicy(timeout_s=agent.timeout, retries=agent.retries),
            api_base=self.settings.api_base,
        )
        return client

    def _removed(self) -> list[CaseResult]:
        """Baseline entries whose fixture is gone: reported, never silently dropped."""
        return [
            CaseResult(case_id, suite, compare_entries(case_id, entry, None), root=root)
            for (root, suite), baseline in self.baselines.items()
            for case_id, entry in baseline.entries.items()
            if case_id not in self.fixture_ids(root, suite)
        ]

    def _update_baselines(self) -> None:
        ran: dict[SuiteKey, dict[str, Entry]] = defaultdict(dict)
        for result in self.results.values():
            entry = result.entry
            if result.root is not None and entry is not None and not entry.error:
                ran[(result.root, result.suite)][result.case_id] = entry
        for key, entries in ran.items():
            root, suite = key
            old = self.baselines[key].entries
            kept = {cid: e for cid, e in old.items() if cid in self.fixture_ids(root, suite)}
            store = self.store(root)
            assert store is not None
            path = baseline_path(root, suite)
            write_atomic(path, render_baseline(suite, provenance_of(store), {**kept, **entries}))
            self.updated.append(f"{path.relative_to(root)} ({len({**kept, **entries})} cases)")

    def _run_one(self, item: CaseItem) -> CaseResult:
        """xdist worker: run, grade and judge one case as the scheduler hands it over."""
        if not self._warm:
            warm_up(self._models([item]))
            self._warm = True
        runs = self._run_models([item], Progress(None))
        result = self._result(item, runs.get(item.case_id, ()), self._judge([item], runs))
        verdict = judge_case(result.comparison, target=item.case_id in self.settings.targets)
        self.results[item.case_id] = replace(result, verdict=verdict)
        return self.results[item.case_id]

    def check_item(self, item: CaseItem) -> None:
        if self.role == "worker" and item.case_id not in self.results:
            self._run_one(item)
        result = self.results.get(item.case_id)
        if result is None:
            raise CaseFailed(f"{item.case_id}: the case was not run")
        entry = result.entry
        if entry is not None:  # shown by pytest's --junitxml as <property> elements
            item.user_properties += [("harness.score", f"{entry.score:.4f}"),
                                     ("harness.change", result.comparison.change)]
            item.user_properties += [(f"harness.{name}", grade)
                                     for name, grade in entry.grades.items()]
        if self.role == "worker":  # the controller gates, reports and records the whole run
            item.user_properties.append((WIRE, to_wire(result)))
        if item.load_error is not None:
            raise item.load_error
        if self.settings.update_baseline:
            if result.entry is not None and result.entry.error:
                raise CaseFailed(f"{item.case_id}: not recorded: {result.entry.error}")
            return
        if result.verdict is None:
            return
        if result.verdict.status == "fail":
            raise CaseFailed(failure_text(result))
        if result.verdict.status == "known-failure":
            pytest.xfail(f"known failure: {_first_problem(result)}")

    # -- reporting -----------------------------------------------------------------------

    def warnings(self) -> list[str]:
        """How the baselines were made differently from this run, one line per difference."""
        suites_by_difference: dict[str, list[str]] = defaultdict(list)
        for (root, suite), baseline in sorted(self.baselines.items()):
            store = self.store(root)
            if baseline.made_with and store is not None:
                for difference in baseline.made_with.differences(provenance_of(store)):
                    suites_by_difference[difference].append(suite)
        return [f"baseline of {', '.join(suites)} made with {difference}"
                for difference, suites in suites_by_difference.items()]

    def loaded_stores(self) -> list[Store]:
        return [s for s in self.stores.values() if isinstance(s, Store)]

    def stats(self) -> CallStats:
        """Provider requests, cache hits and retries, over every store of the run."""
        total = CallStats()
        for client in self.clients.values():
            total.requests += client.stats.requests
            total.cache_hits += client.stats.cache_hits
            total.retries += client.stats.retries
        return total

    def summarize(self, reporter: Any) -> None:
        if self.selection_note:
            reporter.write_line(f"harness: {self.selection_note}")
        if not self.results or self.gate is None:
            return
        reporter.write_sep("=", "harness summary")
        lines = summary_lines(
            list(self.results.values()),
            gate_passed=self.gate.passed or self.settings.update_baseline,
            unknown_targets=self.gate.unknown_targets,
            warnings=self.warnings(),
            updated=self.updated,
            verbose=reporter.config.option.verbose > 0,
            stats=self.stats() if self.role == "solo" else None,  # xdist: counted per worker
            model_seconds=self.model_seconds if self.role == "solo" else None,
            extra=seasonal_lines(self.results.values(), self.loaded_stores()),
        )
        for line in lines:
            reporter.write_line(line)

    # -- pytest-xdist ----------------------------------------------------------------------

    def receive(self, report: pytest.TestReport) -> None:
        """Controller: keep each worker's graded case (sent with the call-phase report), and
        take it off the report so that --junitxml shows only the readable properties."""
        kept = []
        for name, value in report.user_properties:
            if name != WIRE:
                kept.append((name, value))
            elif report.when == "call":  # every phase's report carries it; keep it once
                self.received.append(value)
        report.user_properties = kept

    def _conclude_received(self) -> None:
        results = []
        for data in sorted(self.received, key=lambda data: data["case_id"]):
            root, suite, case_id, entry, runs, judged = from_wire(data)
            key = (root, suite)
            if key not in self.baselines:
                self.collected[key].add(case_id)
                self.baselines[key] = read_baseline(root, suite, self.settings.baseline_ref)
            old = self.baselines[key].entries.get(case_id)
            results.append(CaseResult(case_id, suite, compare_entries(case_id, old, entry),
                                      runs=runs, judged=judged, root=root))
        self._conclude(results)

    def finish(self, session: pytest.Session, exitstatus: int) -> int:
        if self.role == "controller" and self.received:
            try:
                self._conclude_received()
            except HarnessError as error:
                session.config.pluginmanager.get_plugin("terminalreporter").write_line(
                    f"harness: {error}")
                return pytest.ExitCode.USAGE_ERROR
        if self.gate is None or self.role == "worker":
            return exitstatus
        passed = self.gate.passed or self.settings.update_baseline
        notes = [*self.warnings(),
                 *(f"target not found among the cases run: {t}" for t in self.gate.unknown_targets)]
        write_outputs(self.settings, list(self.results.values()), passed=passed,
                      stats=self.stats(), notes=notes, stores=self.loaded_stores())
        if not passed and exitstatus == pytest.ExitCode.OK:
            return pytest.ExitCode.TESTS_FAILED
        return exitstatus


def _first_problem(result: CaseResult) -> str:
    entry = result.entry
    if entry is None:
        return ""
    for name, grade in entry.grades.items():
        if grade != "pass":
            return f"{name} {grade}: {entry.reasons.get(name, '')}"
    return ""


def _by_store(items: list[Any], root_of: Any) -> dict[Path | None, list[Any]]:
    """Items grouped by the store they belong to (None: not a store's case)."""
    grouped: dict[Path | None, list[Any]] = defaultdict(list)
    for item in items:
        grouped[root_of(item.path) if isinstance(item, CaseItem) else None].append(item)
    return grouped
