"""Run one measured job in this process and print its numbers as JSON (used by bench/run.py).

    python bench/_child.py harness STORE CONCURRENCY [PROCESSES]
    python bench/_child.py litellm API_BASE CONCURRENCY CALLS
    python bench/_child.py profile STORE CONCURRENCY [--cprofile PHASE]
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import resource
import sys
import time

STARTED = time.perf_counter()  # as near the interpreter's start as this file gets


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # KiB on Linux


def harness(store: str, concurrency: int, processes: str | None) -> dict[str, float]:
    import pytest

    os.chdir(store)
    args = ["suites", "-q", "-p", "no:cacheprovider", "--cache", "off",
            "--concurrency", str(concurrency), "--harness-report", "run.json"]
    if processes:
        args += ["--processes", processes]
    started = time.perf_counter()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        pytest.main(args)
    total = time.perf_counter() - started
    found = re.search(r"model calls: (\d+) provider requests.* in ([0-9.]+) s", output.getvalue())
    if not found:
        raise SystemExit("no model-call line in the harness output:\n" + output.getvalue()[-2000:])
    return {"requests": int(found.group(1)), "model_phase_s": float(found.group(2)),
            "total_s": round(total, 2), "peak_mb": _peak_mb()}


def bare_litellm(api_base: str, concurrency: int, calls: int) -> dict[str, float]:
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    messages = [{"role": "system", "content": "You answer from the KB. " * 100},
                {"role": "user", "content": "How long do I have to return an unused grinder?"}]

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await litellm.acompletion(model="openai/gpt-4o-mini", messages=messages,
                                          api_base=api_base, api_key="sk-bench", max_retries=0)

        await one()  # warm up: client session, first-call imports
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return time.perf_counter() - started

    return {"model_phase_s": round(asyncio.run(run()), 2), "peak_mb": _peak_mb()}


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "profile":
        from _phases import profile_run

        result = profile_run(args[0], int(args[1]), args[3] if args[2:3] == ["--cprofile"]
                             else None, started=STARTED)
        if result is None:
            return
    elif kind == "harness":
        result = harness(args[0], int(args[1]), args[2] if len(args) > 2 else None)
    else:
        result = bare_litellm(args[0], int(args[1]), int(args[2]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
