"""Run many cases concurrently: short loops over `Agent.run` and `judge_run`, bounded by a
semaphore. Progress, grading and reporting consume the results; none of them lives here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from harness.agent import Agent, Run
from harness.judge import Judged, judge_run
from harness.loading import Store
from harness.providers import ModelClient
from harness.schema import Case

__all__ = ["judge_runs", "run_cases"]

Progress = Callable[[Run, int, int], None]
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


def run_cases(
    agent: Agent, cases: Sequence[Case], *, concurrency: int = 8, repeat: int = 1,
    progress: Progress | None = None,
) -> dict[str, tuple[Run, ...]]:
    """Each case's runs (one per sample, `repeat` in all), by case id, in the order of `cases`."""
    pairs = [(case, sample) for case in cases for sample in range(max(1, repeat))]
    jobs = [lambda c=case, s=sample: agent.run(c, s) for case, sample in pairs]
    report = (lambda run, n: progress(run, n, len(jobs))) if progress else None
    runs = asyncio.run(_bounded(jobs, concurrency, report))
    by_case: dict[str, list[Run]] = {case.case_id: [] for case in cases}
    for run in runs:
        by_case[run.case_id].append(run)
    return {case_id: tuple(samples) for case_id, samples in by_case.items()}


def judge_runs(
    client: ModelClient, model: str, store: Store, pairs: Sequence[tuple[Case, Run]],
    *, concurrency: int = 8,
) -> list[Judged]:
    """The judge's verdicts on each (case, run), in order."""
    jobs = [lambda c=case, r=run: judge_run(client, model, c, r, store) for case, run in pairs]
    return asyncio.run(_bounded(jobs, concurrency))
