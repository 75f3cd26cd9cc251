"""Run many cases concurrently: short loops over `Agent.run` and `judge_run`, bounded by a
semaphore. Progress and reporting consume the results; grading is handed in by the pipeline
(`run_and_grade`), so that forked workers grade what they ran. None of them lives here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.grading.judge import Judged, judge_run
from harness.providers.client import CallStats, ModelClient, quiesce_background_logging
from harness.store.loading import Store
from harness.store.schema import Case

__all__ = ["judge_runs", "run_and_grade", "run_cases", "share_prompts"]

Progress = Callable[[int, int, int], None]  # (runs done, runs in all, errors so far)
T = TypeVar("T")
G = TypeVar("G")


async def _bounded(jobs: Sequence[Callable[[], Awaitable[T]]], concurrency: int,
                   done: Callable[[T, int], None] | None = None) -> list[T]:
    gate = asyncio.Semaphore(max(1, concurrency))
    finished = 0

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        nonlocal finished
        async with gate:
            result = await job()
        finished += 1
        if done:
            done(result, finished)
        return result

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _finish(work: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None) -> T:
    """Run to the end: on the caller's long-lived loop if it keeps one (promptfoo's worker),
    else on a new one."""
    return loop.run_until_complete(work) if loop is not None else asyncio.run(work)


def _run_pairs(agent: Agent, pairs: Sequence[tuple[Case, int]], concurrency: int,
               done: Callable[[Run, int], None] | None,
               loop: asyncio.AbstractEventLoop | None = None) -> list[Run]:
    jobs = [lambda c=case, s=sample: agent.run(c, s) for case, sample in pairs]
    return _finish(_bounded(jobs, concurrency, done), loop)


def share_prompts(runs: Sequence[Run]) -> list[Run]:
    """The runs with one object per distinct system prompt and per distinct list of articles
    served. Cases that retrieve the same articles get the same prompt text, kilobytes each, and
    every case of one day is served the same articles; a run of 10,000 cases would otherwise
    hold (and a forked worker send back) every copy. The values are unchanged."""
    seen: dict[str, str] = {}
    served: dict[tuple[str, ...], tuple[str, ...]] = {}
    shared = []
    for run in runs:
        messages = run.messages
        if messages and messages[0].get("role") == "system":
            text = messages[0].get("content")
            if isinstance(text, str):
                kept = seen.setdefault(text, text)
                if kept is not text:
                    run = replace(run, messages=({**messages[0], "content": kept},
                                                 *messages[1:]))
        same = served.setdefault(run.served, run.served)
        if same is not run.served:
            run = replace(run, served=same)
        shared.append(run)
    return shared


# A forked worker finds its share of the work here: set by the parent just before the fork.
_FORKED: dict[str, Any] = {}


def _by_case(cases: Sequence[Case], runs: Sequence[Run]) -> dict[str, tuple[Run, ...]]:
    """Each case's runs in the order of `cases`, its samples in sample order."""
    by_case: dict[str, list[Run]] = {case.case_id: [] for case in cases}
    for run in runs:
        by_case[run.case_id].append(run)
    return {case_id: tuple(sorted(samples, key=lambda r: r.sample))
            for case_id, samples in by_case.items()}


def _forked_worker(index: int) -> tuple[list[Run], list[Any] | None, CallStats]:
    agent, shares, concurrency, done, errors, grade = (
        _FORKED["agent"], _FORKED["shares"], _FORKED["concurrency"], _FORKED["done"],
        _FORKED["errors"], _FORKED["grade"])

    agent.client.stats = CallStats()  # count this process's calls only: the parent adds them
    # the parent's SIGTERM handler (a cancelled run reports what finished) is not this
    # process's: the pool ends its workers with SIGTERM, which must end them quietly
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def tick(run: Run, finished: int) -> None:
        with done.get_lock():
            done.value += 1
        if run.error:
            with errors.get_lock():
                errors.value += 1

    cases, pairs = shares[index]
    runs = share_prompts(_run_pairs(agent, pairs, concurrency, tick))
    # graded here, the parent never holds what grading allocates (its memory is freed when
    # this process exits) and every worker's core grades its own share
    graded = None if grade is None else [
        grade(case, samples) for case, samples in zip(cases, _by_case(cases, runs).values(),
                                                      strict=True)]
    return runs, graded, agent.client.stats  # pickled once: each shared prompt is sent once


def _run_in_processes(agent: Agent, cases: Sequence[Case], repeat: int, concurrency: int,
                      processes: int, progress: Progress | None,
                      grade: Callable[[Case, tuple[Run, ...]], Any] | None,
                      ) -> tuple[list[Run], dict[str, Any]]:
    """Share the cases among forked processes, one event loop each, to use every core:
    litellm spends milliseconds of CPU per call, so one process saturates well before the
    provider does. Every sample of a case goes to one process, which grades the case when
    `grade` is given."""
    quiesce_background_logging()  # no litellm thread mid-task when the workers are forked
    context = multiprocessing.get_context("fork")
    done, errors = context.Value("i", 0), context.Value("i", 0)
    shares = []
    for i in range(processes):
        mine = list(cases[i::processes])
        shares.append((mine, [(case, sample) for case in mine for sample in range(repeat)]))
    _FORKED.update(agent=agent, shares=shares, done=done, errors=errors, grade=grade,
                   concurrency=max(1, concurrency // processes))
    calls = len(cases) * repeat
    try:
        with context.Pool(processes) as pool:
            pending = pool.map_async(_forked_worker, range(processes))
            reported = 0
            while not pending.ready():
                pending.wait(0.5)
                if progress and done.value != reported:
                    reported = done.value
                    progress(reported, calls, errors.value)
            parts = pending.get()
    finally:
        _FORKED.clear()
    graded: dict[str, Any] = {}
    for (mine, _), (_, found, stats) in zip(shares, parts, strict=True):
        agent.client.stats.requests += stats.requests
        agent.client.stats.cache_hits += stats.cache_hits
        agent.client.stats.retries += stats.retries
        if found is not None:
            graded.update(zip((case.case_id for case in mine), found, strict=True))
    return [run for runs, _, _ in parts for run in runs], graded


def _run(agent: Agent, cases: Sequence[Case], grade: Callable[[Case, tuple[Run, ...]], Any]
         | None, *, concurrency: int, repeat: int, progress: Progress | None, processes: int,
         loop: asyncio.AbstractEventLoop | None, sink: list[Run] | None,
         ) -> tuple[dict[str, tuple[Run, ...]], dict[str, Any]]:
    repeat = max(1, repeat)
    calls = len(cases) * repeat
    if processes > 1 and calls >= 2 * processes and hasattr(os, "fork"):
        runs, graded = _run_in_processes(agent, cases, repeat, concurrency, processes,
                                         progress, grade)
        return _by_case(cases, runs), graded
    failed = 0

    def report(run: Run, finished: int) -> None:
        nonlocal failed
        failed += run.error is not None
        if sink is not None:
            sink.append(run)
        if progress:
            progress(finished, calls, failed)

    pairs = [(case, sample) for case in cases for sample in range(repeat)]
    by_case = _by_case(cases, share_prompts(_run_pairs(agent, pairs, concurrency, report, loop)))
    graded = {} if grade is None else {
        case.case_id: grade(case, by_case[case.case_id]) for case in cases}
    return by_case, graded


def run_cases(
    agent: Agent, cases: Sequence[Case], *, concurrency: int = 8, repeat: int = 1,
    progress: Progress | None = None, processes: int = 1,
    loop: asyncio.AbstractEventLoop | None = None, sink: list[Run] | None = None,
) -> dict[str, tuple[Run, ...]]:
    """Each case's runs (one per sample, `repeat` in all), by case id, in the order of `cases`.

    With `processes` > 1 the work is shared among that many forked processes (POSIX only).
    `sink` collects each run as it ends, so that a run stopped by Ctrl-C still knows what it
    finished (in one process; forked workers keep theirs in the response cache).
    """
    runs, _ = _run(agent, cases, None, concurrency=concurrency, repeat=repeat,
                   progress=progress, processes=processes, loop=loop, sink=sink)
    return runs


def run_and_grade(
    agent: Agent, cases: Sequence[Case], grade: Callable[[Case, tuple[Run, ...]], G], *,
    concurrency: int = 8, repeat: int = 1, progress: Progress | None = None,
    processes: int = 1, loop: asyncio.AbstractEventLoop | None = None,
    sink: list[Run] | None = None,
) -> dict[str, tuple[tuple[Run, ...], G]]:
    """As `run_cases`, each case's runs with `grade(case, runs)`; forked processes grade the
    cases they ran, so the parent receives graded cases and never grades them itself."""
    runs, graded = _run(agent, cases, grade, concurrency=concurrency, repeat=repeat,
                        progress=progress, processes=processes, loop=loop, sink=sink)
    return {case_id: (samples, graded[case_id]) for case_id, samples in runs.items()}


def judge_runs(
    client: ModelClient, model: str, store: Store, pairs: Sequence[tuple[Case, Run]],
    *, concurrency: int = 8, loop: asyncio.AbstractEventLoop | None = None,
) -> list[Judged]:
    """The judge's verdicts on each (case, run), in order."""
    jobs = [lambda c=case, r=run: judge_run(client, model, c, r, store) for case, run in pairs]
    return _finish(_bounded(jobs, concurrency), loop)
