"""The one pipeline: load -> run -> grade -> compare, shared by every entry point.

`pytest suites/`, `harness run`, `harness dials --what-if`, `harness calibrate` and the promptfoo
provider all run cases through a `Pipeline`, so they all get the same model client (the
response cache, agent.yaml's timeout and retries, the run's concurrency) and the same grading.
The pipeline holds no pytest and prints nothing: its callers render what it returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.errors import HarnessError
from harness.grading.fixture import grade_run
from harness.grading.judge import Judged
from harness.grading.rubric import Graded
from harness.grading.samples import combine_samples
from harness.pipeline.record import CaseResult, RunRecord
from harness.pipeline.runner import judge_runs, run_and_grade, run_cases
from harness.pipeline.settings import Settings
from harness.providers.cache import ResponseCache
from harness.providers.client import CallPolicy, CallStats, ModelClient
from harness.regression.baseline import (
    Baseline,
    Entry,
    baseline_path,
    provenance_of,
    render_baseline,
    write_all_atomic,
)
from harness.regression.calendar import calendar_notes
from harness.regression.compare import apply_repeat_rule, compare_entries
from harness.regression.gate import decide
from harness.regression.repeats import recommend_repeats
from harness.store.loading import Store
from harness.store.schema import Case

__all__ = [
    "Evaluated", "Interrupted", "Pipeline", "Progress", "compare", "conclude", "entry_of",
    "failing_new_cases", "run_notes",
]

Progress = Callable[[int, int, int], None]  # (runs done, runs in all, errors so far)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) mid-run; carries the cases that finished, run and graded."""

    def __init__(self, finished: list[Evaluated]) -> None:
        super().__init__("interrupted")
        self.finished = finished
        self.finished_results: list[CaseResult] = []  # filled in by whoever compares them


@dataclass(frozen=True)
class Evaluated:
    """A case run and graded, not yet compared with any baseline."""

    case: Case
    runs: tuple[Run, ...]
    judged: tuple[Judged, ...]
    graded: Graded

    @property
    def run(self) -> Run:
        return self.runs[0]


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
        as_of=run.as_of.isoformat() if run else None,
        grade_counts=dict(graded.grade_counts), case_passes=graded.case_passes,
    )


class Pipeline:
    """A run's model clients and agents (one per store), and the steps every entry point takes."""

    def __init__(self, settings: Settings, *, forking: bool = True,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.settings = settings
        self.forking = forking  # False inside a pytest-xdist worker: never fork processes
        self.loop = loop  # a caller's long-lived event loop (promptfoo's worker), if it keeps one
        self._clients: dict[Path, ModelClient] = {}
        self._agents: dict[int, tuple[Store, Agent]] = {}

    # -- the model client and agent of a store ------------------------------------------

    def client(self, store: Store) -> ModelClient:
        """The store's client: its response cache, and agent.yaml's timeout and retries."""
        if store.root not in self._clients:
            settings, agent = self.settings, store.agent
            cache = ResponseCache.for_store(store.root) if settings.cache != "off" else None
            self._clients[store.root] = ModelClient(
                cache=cache, mode=settings.cache,
                policy=CallPolicy(timeout_s=agent.timeout, retries=agent.retries),
                api_base=settings.api_base,
            )
        return self._clients[store.root]

    def clients(self) -> Mapping[Path, ModelClient]:
        return dict(self._clients)

    def warnings(self) -> tuple[str, ...]:
        """What the run must tell about its clients: a corrupt response cache moved aside."""
        caches = [c.cache for c in self._clients.values() if c.cache is not None]
        return tuple(f"warning: {c.warning}" for c in caches if c.warning)

    def agent(self, store: Store) -> Agent:
        """The agent of this store value (a what-if variant of a store gets its own)."""
        key = id(store)
        if key not in self._agents:
            agent = Agent(store, as_of=self.settings.as_of, today=self.settings.today,
                          client=self.client(store))
            self._agents[key] = (store, agent)  # the store is kept so its id stays unique
        return self._agents[key][1]

    def concurrency(self, store: Store) -> int:
        return self.settings.concurrency or store.agent.concurrency or 8

    def stats(self) -> CallStats:
        """Provider requests, cache hits and retries over every store of the run."""
        total = CallStats()
        for client in self._clients.values():
            total.requests += client.stats.requests
            total.cache_hits += client.stats.cache_hits
            total.retries += client.stats.retries
        return total

    # -- run -> judge -> grade ------------------------------------------------------------

    def run(self, store: Store, cases: Sequence[Case], progress: Progress | None = None,
            finished: list[Run] | None = None) -> dict[str, tuple[Run, ...]]:
        """Each case's runs, one per sample of --repeat."""
        concurrency = self.concurrency(store)
        calls = len(cases) * self.settings.repeat
        return run_cases(self.agent(store), cases, concurrency=concurrency,
                         repeat=self.settings.repeat, progress=progress,
                         processes=self._processes(concurrency, calls), loop=self.loop,
                         sink=finished)

    def judge(self, store: Store, cases: Sequence[Case], runs: Mapping[str, tuple[Run, ...]]
              ) -> dict[tuple[str, int], Judged]:
        """The LLM judge's verdicts, when agent.yaml names a `judge.model`."""
        model = store.agent.judge.model
        if not model:
            return {}
        pairs = [(case, run) for case in cases for run in runs.get(case.case_id, ())]
        found = judge_runs(self.client(store), model, store, pairs,
                           concurrency=self.concurrency(store), loop=self.loop)
        return {(run.case_id, run.sample): v for (_, run), v in zip(pairs, found, strict=True)}

    def grade(self, store: Store, case: Case, runs: Sequence[Run],
              judged: Mapping[tuple[str, int], Judged]) -> tuple[Graded, tuple[Judged, ...]]:
        verdicts = [judged.get((run.case_id, run.sample)) for run in runs]
        try:  # a fixture's pattern past its time limit fails this case, not the run
            samples = [grade_run(case, run, store, v.grades if v else None)
                       for run, v in zip(runs, verdicts, strict=True)]
        except HarnessError as error:
            return Graded(case.case_id, error=f"{case.path}: {error}"), ()
        return (combine_samples(samples, store.agent.rubric.weights),
                tuple(v for v in verdicts if v))

    def evaluate(self, store: Store, cases: Sequence[Case], progress: Progress | None = None
                 ) -> list[Evaluated]:
        """Run, judge and grade the cases of one store, in the order given. Ctrl-C raises
        `Interrupted` with the cases whose every sample had finished, graded (not judged)."""
        finished: list[Run] = []
        try:
            if not store.agent.judge.model:  # graded where run: in forked workers, if any
                return self._run_and_grade(store, cases, progress, finished)
            runs = self.run(store, cases, progress, finished)
        except KeyboardInterrupt:
            raise Interrupted(self._finished(store, cases, finished)) from None
        judged = self.judge(store, cases, runs)
        evaluated = []
        for case in cases:
            samples = runs[case.case_id]
            graded, verdicts = self.grade(store, case, samples, judged)
            evaluated.append(Evaluated(case, samples, verdicts, graded))
        return evaluated

    def _run_and_grade(self, store: Store, cases: Sequence[Case], progress: Progress | None,
                       finished: list[Run]) -> list[Evaluated]:
        """Without a judge, each case is graded as soon as its runs are in, by the process that
        ran it: a forked worker sends back graded cases, and what grading allocates is freed
        with the worker instead of staying in the parent."""
        concurrency = self.concurrency(store)

        def grade(case: Case, runs: tuple[Run, ...]) -> Graded:
            return self.grade(store, case, runs, {})[0]

        done = run_and_grade(self.agent(store), cases, grade, concurrency=concurrency,
                             repeat=self.settings.repeat, progress=progress,
                             processes=self._processes(concurrency,
                                                       len(cases) * self.settings.repeat),
                             loop=self.loop, sink=finished)
        evaluated = []
        for case in cases:
            runs, graded = done[case.case_id]
            evaluated.append(Evaluated(case, runs, (), graded))
        return evaluated

    def _finished(self, store: Store, cases: Sequence[Case], finished: list[Run]
                  ) -> list[Evaluated]:
        samples: dict[str, list[Run]] = defaultdict(list)
        for run in finished:
            samples[run.case_id].append(run)
        done = []
        for case in cases:
            runs = sorted(samples.get(case.case_id, ()), key=lambda r: r.sample)
            if runs and len(runs) == self.settings.repeat:
                graded, _ = self.grade(store, case, runs, {})
                done.append(Evaluated(case, tuple(runs), (), graded))
        return done

    def on_day(self, day: dt.date) -> Pipeline:
        """The same run with the KB served as of `day` (same clients, so the same cache)."""
        other = Pipeline(replace(self.settings, as_of=day), forking=self.forking, loop=self.loop)
        other._clients = self._clients
        return other

    def calendar_only(self, store: Store, worse: Sequence[tuple[Case, Entry]]) -> set[str]:
        """Of cases worse than their baseline entry, those that are not worse when run with the
        KB as of the day the baseline was recorded: the calendar moved them, not the change.
        Only cases without their own `as_of`, in a run without --as-of (a seasonal preview is
        meant to see the calendar's effects), can be moved by the calendar."""
        if self.settings.as_of is not None:
            return set()
        by_day: dict[str, list[tuple[Case, Entry]]] = defaultdict(list)
        for case, old in worse:
            if case.as_of is None and old.as_of:
                by_day[old.as_of].append((case, old))
        found = set()
        for day, pairs in by_day.items():
            then = self.on_day(dt.date.fromisoformat(day))
            for done, (_, old) in zip(then.evaluate(store, [c for c, _ in pairs]), pairs,
                                      strict=True):
                again = compare_entries(done.case.case_id, old, entry_of(done.graded, done.run))
                if again.change != "worse":
                    found.add(done.case.case_id)
        return found

    def evaluate_sample(self, store: Store, case: Case, sample: int) -> Evaluated:
        """One sample of one case (promptfoo's --repeat asks for them one by one)."""
        agent = self.agent(store)
        work = agent.run(case, sample)
        run = self.loop.run_until_complete(work) if self.loop else asyncio.run(work)
        judged = self.judge(store, [case], {case.case_id: (run,)})
        graded, verdicts = self.grade(store, case, [run], judged)
        return Evaluated(case, (run,), verdicts, graded)

    def _processes(self, concurrency: int, calls: int) -> int:
        """One process per core for big, highly concurrent runs; never inside an xdist worker."""
        if self.settings.processes is not None:
            return self.settings.processes
        if not self.forking or concurrency < 16 or calls < 200:
            return 1
        import os

        return max(1, min(os.cpu_count() or 1, concurrency // 8))


def compare(evaluated: Evaluated, old: Entry | None, *, root: Path | None = None) -> CaseResult:
    """A graded case against its baseline entry."""
    case = evaluated.case
    new = entry_of(evaluated.graded, evaluated.run)
    return CaseResult(case.case_id, case.suite, compare_entries(case.case_id, old, new),
                      graded=evaluated.graded, runs=evaluated.runs, judged=evaluated.judged,
                      root=root)


def _warnings(baselines: Mapping[tuple[Path, str], Baseline], stores: Sequence[Store]
              ) -> tuple[str, ...]:
    """How the baselines were made differently from this run, one line per difference."""
    by_root = {s.root: s for s in stores}
    suites_by_difference: dict[str, list[str]] = defaultdict(list)
    for (root, suite), baseline in sorted(baselines.items()):
        store = by_root.get(root)
        if baseline.made_with and store is not None:
            for difference in baseline.made_with.differences(provenance_of(store)):
                suites_by_difference[difference].append(suite)
    return tuple(f"baseline of {', '.join(suites)} made with {difference}"
                 for difference, suites in suites_by_difference.items())


def _record_baselines(results: Sequence[CaseResult], baselines: Mapping[tuple[Path, str],
                      Baseline], stores: Sequence[Store],
                      fixture_ids: Callable[[Path, str], set[str]]) -> tuple[str, ...]:
    """Write each suite's baseline from this run (cases that errored keep their old entry)."""
    by_root = {s.root: s for s in stores}
    ran: dict[tuple[Path, str], dict[str, Entry]] = defaultdict(dict)
    for result in results:
        entry = result.entry
        if result.root is not None and entry is not None and not entry.error:
            ran[(result.root, result.suite)][result.case_id] = entry
    updated, files = [], {}
    for (root, suite), entries in ran.items():
        old = baselines[(root, suite)].entries
        kept = {cid: e for cid, e in old.items() if cid in fixture_ids(root, suite)}
        path = baseline_path(root, suite)
        if not path.resolve().is_relative_to(root.resolve()):
            raise HarnessError(f"{path}: the suite folder leads outside the store (a symbolic"
                               " link?); the baseline is written only inside the store")
        files[path] = render_baseline(suite, provenance_of(by_root[root]), {**kept, **entries})
        new = sum(cid not in old for cid in entries)
        changed = sum(cid in old and old[cid] != e for cid, e in entries.items())
        gone = len(old) - len(kept)
        failing = sum(not e.passed for e in {**kept, **entries}.values())
        untouched = sum(cid not in entries for cid in kept)
        updated.append(f"{path.relative_to(root)} ({len({**kept, **entries})} cases: {new} new,"
                       f" {changed} changed, {len(entries) - new - changed} unchanged"
                       + (f", {untouched} not run and kept" if untouched else "")
                       + (f", {gone} removed" if gone else "")
                       + (f"; {failing} known failures" if failing else "") + ")")
    write_all_atomic(files)  # every suite's baseline, or none of them
    return tuple(updated)


def failing_new_cases(cases: Sequence[CaseResult]) -> list[CaseResult]:
    """New cases that do not pass: recorded, they would become known failures unnoticed."""
    return [c for c in cases if c.comparison.change == "new" and c.entry is not None
            and not c.entry.error and not c.entry.passed]


_UNSCORED_SHARE = 0.2  # above this share of unscored judge verdicts, the judge is not working


def run_notes(cases: Sequence[CaseResult], stores: Sequence[Store], settings: Settings
              ) -> tuple[str, ...]:
    """What the run must tell about itself: a sampling model asked once, a judge that does not
    answer, a model that never calls a tool, replies cut off at max_tokens."""
    notes = []
    for store in stores:
        agent = store.agent
        if agent.temperature > 0 and settings.repeat == 1 and not agent.model_name.startswith(
                "reference/"):
            k = recommend_repeats(agent.temperature, cases=max(len(cases), 1))
            notes.append(f"{store.root.name}: temperature {agent.temperature:g} with one sample"
                         " per case: a sampling model's single reply is noise, so a verdict may"
                         f" flip on a rerun with nothing changed; record the baseline and run"
                         f" with --repeat {k} (docs/repeats.md), or set temperature: 0")
    verdicts = [g for c in cases for j in c.judged for g, _ in j.grades.values()]
    unscored = sum(g == "unscored" for g in verdicts)
    if verdicts and unscored / len(verdicts) > _UNSCORED_SHARE:
        notes.append(f"judge: {unscored} of {len(verdicts)} verdicts unscored: the judge model"
                     " does not answer in the JSON asked for, so it lowers no grade; check"
                     " judge.model in agent.yaml")
    asked = [r for c in cases for r in c.runs if r.decided_by == "model"
             and not r.model.startswith("reference/")]
    if len(asked) >= 5 and not any(r.outcome == "escalate" for r in asked):
        notes.append(f"tools: no tool call came back on any of the {len(asked)} cases the model"
                     " answered: the model (or its server's chat format) may not support tools,"
                     " so it can never hand a conversation to a person")
    cut = [c.case_id for c in cases if any(r.truncated for r in c.runs)]
    if cut:
        notes.append(f"{len(cut)} replies cut off at max_tokens (finish_reason: length), graded"
                     f" as written: {', '.join(cut[:5])}{' ...' if len(cut) > 5 else ''}")
    return tuple(notes)


def conclude(results: Sequence[CaseResult], settings: Settings, *,
             baselines: Mapping[tuple[Path, str], Baseline], stores: Sequence[Store],
             fixture_ids: Callable[[Path, str], set[str]], stats: CallStats | None = None,
             model_seconds: float | None = None, notes: Sequence[str] = (),
             interrupted: bool = False) -> RunRecord:
    """The gate's verdict on every case, the calendar's part in each change, the baselines
    recorded when asked: the finished run."""
    temperature = max((s.agent.temperature for s in stores), default=0.0)
    judged, advice = apply_repeat_rule([r.comparison for r in results], temperature)
    results = [replace(r, comparison=c) for r, c in zip(results, judged, strict=True)]
    if advice:
        notes = (*notes, f"repeats: {advice}")
    gate = decide([r.comparison for r in results], settings.targets,
                  calendar=() if settings.fail_on_calendar
                  else [r.case_id for r in results if r.calendar_only])
    verdicts = {v.case_id: v for v in gate.verdicts}
    articles = {s.root: s.articles for s in stores}
    cases = tuple(replace(r, verdict=verdicts[r.case_id], calendar=calendar_notes(
        r.comparison.old, r.comparison.new, articles.get(r.root, ()) if r.root else ()))
        for r in results)
    updated: tuple[str, ...] = ()
    recorded = settings.update_baseline and not interrupted  # half a run is never a baseline
    refused = failing_new_cases(cases) if recorded and not settings.accept_failing else []
    if refused:
        ids = ", ".join(c.case_id for c in refused[:10]) + (" ..." if len(refused) > 10 else "")
        notes = (*notes, f"baseline not written: {len(refused)} new case(s) do not pass ({ids});"
                 " fix them, or record them as known failures with --update-baseline"
                 " --accept-failing")
    unwritten = False
    if not refused and recorded:
        try:
            updated = _record_baselines(cases, baselines, stores, fixture_ids)
        except (HarnessError, OSError) as error:  # nothing is half-written: say so, fail
            notes = (*notes, f"baseline not written: {error}")
            unwritten = True  # asked to record and did not: never a passing run
    return RunRecord(
        cases, gate, passed=(gate.passed or bool(updated)) and not interrupted and not unwritten,
        interrupted=interrupted, stats=replace(stats) if stats is not None else CallStats(),
        model_seconds=model_seconds,
        warnings=_warnings(baselines, stores), updated=updated,
        notes=(*notes, *run_notes(cases, stores, settings)),
        roots=tuple(s.root for s in stores))
