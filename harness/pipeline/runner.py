"""Run many cases concurrently: short loops over `Agent.run` and `judge_run`, bounded by a
semaphore. Progress, grading and reporting consume the results; none of them lives here.
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

__all__ = ["judge_runs", "run_cases", "share_prompts"]

Progress = Callable[[int, int, int], None]  # (runs done, runs in all, errors so far)
T = TypeVar("T")


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


def _forked_worker(index: int) -> tuple[list[Run], CallStats]:
    agent, shares, concurrency, done, errors = (
        _FORKED["agent"], _FORKED["shares"], _FORKED["concurrency"], _FORKED["done"],
        _FORKED["errors"])

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

    runs = share_prompts(_run_pairs(agent, shares[index], concurrency, tick))
    return runs, agent.client.stats  # pickled once: each shared prompt is sent once


def _run_in_processes(agent: Agent, pairs: Sequence[tuple[Case, int]], concurrency: int,
                      processes: int, progress: Progress | None) -> list[Run]:
    """Share the cases among forked processes, one event loop each, to use every core:
    litellm spends milliseconds of CPU per call, so one process saturates well before the
    provider does."""
    quiesce_background_logging()  # no litellm thread mid-task when the workers are forked
    context = multiprocessing.get_context("fork")
    done, errors = context.Value("i", 0), context.Value("i", 0)
    shares = [list(pairs[i::processes]) for i in range(processes)]
    _FORKED.update(agent=agent, shares=shares, done=done, errors=errors,
                   concurrency=max(1, concurrency // processes))
    try:
        with context.Pool(processes) as pool:
            pending = pool.map_async(_forked_worker, range(processes))
            reported = 0
            while not pending.ready():
                pending.wait(0.5)
                if progress and done.value != reported:
                    reported = done.value
                    progress(reported, len(pairs), errors.value)
            parts = pending.get()
    finally:
        _FORKED.clear()
    for _, stats in parts:
        agent.client.stats.requests += stats.requests
        agent.client.stats.cache_hits += stats.cache_hits
        agent.client.stats.retries += stats.retries
    return [run for runs, _ in parts for run in runs]


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
    pairs = [(case, sample) for case in cases for sample in range(max(1, repeat))]
    if processes > 1 and len(pairs) >= 2 * processes and hasattr(os, "fork"):
        runs = _run_in_processes(agent, pairs, concurrency, processes, progress)
    else:
        failed = 0

        def report(run: Run, finished: int) -> None:
            nonlocal failed
            failed += run.error is not None
            if sink is not None:
                sink.append(run)
            if progress:
                progress(finished, len(pairs), failed)

        runs = share_prompts(_run_pairs(agent, pairs, concurrency, report, loop))
    by_case: dict[str, list[Run]] = {case.case_id: [] for case in cases}
    for run in runs:
        by_case[run.case_id].append(run)
    return {case_id: tuple(samples) for case_id, samples in by_case.items()}


def judge_runs(
    client: ModelClient, model: str, store: Store, pairs: Sequence[tuple[Case, Run]],
    *, concurrency: int = 8, loop: asyncio.AbstractEventLoop | None = None,
) -> list[Judged]:
    """The judge's verdicts on each (case, run), in order."""
    jobs = [lambda c=case, r=run: judge_run(client, model, c, r, store) for case, run in pairs]
    return _finish(_bounded(jobs, concurrency), loop)
