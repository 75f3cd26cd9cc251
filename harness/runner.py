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
    agent: Agent, cases: Sequence[Case], concurrency: int, progress: Progress | None
) -> list[Run]:
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(case: Case) -> Run:
        nonlocal done
        async with gate:
            run = await agent.run(case)
        done += 1
        if progress:
            progress(run, done, len(cases))
        return run

    return list(await asyncio.gather(*(one(case) for case in cases)))


def run_cases(
    agent: Agent, cases: Sequence[Case], *, concurrency: int = 8, progress: Progress | None = None
) -> dict[str, Run]:
    """Each case's Run, by case id, in the order of `cases`."""
    runs = asyncio.run(_run_all(agent, cases, concurrency, progress))
    return {run.case_id: run for run in runs}
