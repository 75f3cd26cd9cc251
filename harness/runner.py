"""Run many cases concurrently: a short loop over `Agent.run`, bounded by a semaphore.

Progress, grading and reporting consume the results; none of them lives in this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from harness.agent import Agent, Run
from harness.schema import Case

__all__ = ["run_cases"]

Progress = Callable[[Run, int, int], None]


async def _run_all(
    agent: Agent, jobs: Sequence[tuple[Case, int]], concurrency: int, progress: Progress | None
) -> list[Run]:
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(case: Case, sample: int) -> Run:
        nonlocal done
        async with gate:
            run = await agent.run(case, sample)
        done += 1
        if progress:
            progress(run, done, len(jobs))
        return run

    return list(await asyncio.gather(*(one(case, sample) for case, sample in jobs)))


def run_cases(
    agent: Agent, cases: Sequence[Case], *, concurrency: int = 8, repeat: int = 1,
    progress: Progress | None = None,
) -> dict[str, tuple[Run, ...]]:
    """Each case's runs (one per sample, `repeat` in all), by case id, in the order of `cases`."""
    jobs = [(case, sample) for case in cases for sample in range(max(1, repeat))]
    runs = asyncio.run(_run_all(agent, jobs, concurrency, progress))
    by_case: dict[str, list[Run]] = {case.case_id: [] for case in cases}
    for run in runs:
        by_case[run.case_id].append(run)
    return {case_id: tuple(samples) for case_id, samples in by_case.items()}
