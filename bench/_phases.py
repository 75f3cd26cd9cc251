"""Time a `pytest suites/` run by phase, from inside its process (used by bench/_child.py).

The phases are found by wrapping the functions that do them (the harness is not changed for
this): see bench/profile.py for what each phase holds. CPU is this process's plus its forked
workers' (`RUSAGE_CHILDREN`, counted once they are reaped at the end of the model phase);
the retrieval and prompt time of forked workers reaches the parent through shared counters.
"""

from __future__ import annotations

import contextlib
import functools
import io
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _stdlib_profilers() -> tuple[Any, Any]:
    """cProfile imports the standard `profile`, which bench/profile.py shadows here."""
    here = str(Path(__file__).resolve().parent)
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
    sys.modules.pop("profile", None)
    try:
        import cProfile
        import pstats
    finally:
        sys.path[:] = saved
    return cProfile, pstats


cProfile, pstats = _stdlib_profilers()

# Shared with forked workers: CPU and wall seconds of retrieval + prompt, summed.
_SHARED = multiprocessing.get_context("fork").Array("d", 2)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


class Phases:
    """Wall and CPU seconds per phase, and the moments between them."""

    def __init__(self, cprofile: str | None) -> None:
        self.sums: dict[str, list[float]] = {}
        self.marks: dict[str, tuple[float, float]] = {}
        self.cprofile = cprofile
        self.profiler = cProfile.Profile() if cprofile else None

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, (time.perf_counter(), _cpu()))

    def span(self, start: str, end: str) -> tuple[float, float]:
        (w0, c0), (w1, c1) = self.marks[start], self.marks[end]
        return w1 - w0, c1 - c0

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        profiling = self.profiler is not None and self.cprofile == phase
        if profiling:
            self.profiler.enable()
        try:
            yield
        finally:
            if profiling:
                self.profiler.disable()
            total = self.sums.setdefault(phase, [0.0, 0.0])
            total[0] += time.perf_counter() - wall
            total[1] += time.process_time() - cpu

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timed(phase):
                return original(*args, **kwargs)

        setattr(owner, name, timed)


def _wrap_shared(owner: Any, name: str) -> None:
    """Retrieval and prompt run in forked workers too: sum them in shared memory."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            with _SHARED.get_lock():
                _SHARED[0] += time.thread_time() - cpu
                _SHARED[1] += time.perf_counter() - wall

    setattr(owner, name, timed)


def _instrument(phases: Phases) -> None:
    import harness.agent.loop as loop
    import harness.pipeline.pipeline as pipeline
    import harness.plugin.session as session

    _wrap_shared(loop.Agent, "retrieve")
    _wrap_shared(loop, "render_system_prompt")
    _wrap_shared(loop, "find_products")
    phases.wrap(pipeline.Pipeline, "grade", "grading")
    phases.wrap(session, "compare", "comparison")
    phases.wrap(session, "conclude", "comparison")
    phases.wrap(session.HarnessSession, "_mark_calendar", "comparison")
    phases.wrap(session.HarnessSession, "summary", "reports")
    phases.wrap(session.HarnessSession, "finish", "reports")

    def around(owner: Any, name: str, start: str, end: str,
               profile_as: str | None = None) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def marked(*args: Any, **kwargs: Any) -> Any:
            phases.mark(start)
            try:
                if profile_as:
                    with phases.timed(profile_as):
                        return original(*args, **kwargs)
                return original(*args, **kwargs)
            finally:
                phases.mark(end)
                if end == "run_end" and phases.profiler and phases.cprofile == "items":
                    phases.profiler.enable()  # pytest's per-item loop, up to sessionfinish

        setattr(owner, name, marked)

    around(session, "warm_up", "import_start", "import_end", "import")
    around(pipeline.Pipeline, "evaluate", "model_start", "model_end", "model_calls")
    around(session.HarnessSession, "run", "run_start", "run_end")


class _Hooks:
    def __init__(self, phases: Phases) -> None:
        self.phases = phases

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.phases.mark("configure")

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        self.phases.mark("collection_start")
        with self.phases.timed("collection"):
            result = yield
        self.phases.mark("collection_end")
        return result

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.phases.mark("finish_start")
        if self.phases.profiler and self.phases.cprofile == "items":
            self.phases.profiler.disable()


def profile_run(store: str, concurrency: int, cprofile: str | None, *, started: float
                ) -> dict[str, Any] | None:
    """Run `pytest suites/` with every report; return its phases (or print cProfile's)."""
    phases = Phases(cprofile)
    _instrument(phases)
    os.chdir(store)
    args = ["suites", "-q", "-p", "no:cacheprovider", "--cache", "off", "--concurrency",
            str(concurrency), "--harness-report", "run.json", "--harness-markdown", "run.md",
            "--harness-html", "run.html", "--junitxml", "junit.xml"]
    if cprofile in ("retrieval_prompt", "model_calls"):
        args += ["--processes", "1"]  # cProfile sees only this process
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        pytest.main(args, plugins=[_Hooks(phases)])
    phases.mark("end")
    if phases.profiler is not None:
        spent = phases.sums.get(cprofile) or phases.span("run_end", "finish_start")
        print(f"phase {cprofile}: {spent[0]:.2f} s wall, {spent[1]:.2f} s CPU")
        text = io.StringIO()
        sort = os.environ.get("BENCH_SORT", "tottime")  # or "cumulative"
        pstats.Stats(phases.profiler, stream=text).sort_stats(sort).print_stats(60)
        print(text.getvalue())
        return None
    sums = {k: tuple(v) for k, v in phases.sums.items()}
    retrieval_cpu, retrieval_wall = _SHARED[0], _SHARED[1]
    model_wall, model_cpu = phases.span("model_start", "model_end")
    import_wall, import_cpu = phases.span("import_start", "import_end")
    # Between the end of the harness's run and sessionfinish: pytest runs each item (its
    # verdict) and reports it.
    items_wall, items_cpu = phases.span("run_end", "finish_start")
    tail_wall, tail_cpu = phases.span("finish_start", "end")
    reports = sums.get("reports", (0.0, 0.0))
    out = {
        "import": (import_wall, import_cpu),
        "collection": phases.span("collection_start", "collection_end"),
        "retrieval_prompt": (retrieval_wall, retrieval_cpu),
        "model_calls": (model_wall, model_cpu - retrieval_cpu),
        "grading": sums.get("grading", (0.0, 0.0)),
        "comparison": sums.get("comparison", (0.0, 0.0)),
        "reports": reports,
        # pytest's own loop over the items (each one's verdict, report, JUnit entry) and its
        # session end, less the harness's reports written there
        "pytest_items": (items_wall + tail_wall - reports[0], items_cpu + tail_cpu - reports[1]),
    }
    return {
        "phases": {k: [round(w, 3), round(c, 3)] for k, (w, c) in out.items()},
        "configure_at_s": round(phases.marks["configure"][0] - started, 3),
        "configure_cpu_s": round(phases.marks["configure"][1], 3),
        "end_at_s": round(phases.marks["end"][0] - started, 3),
        "end_cpu_s": round(phases.marks["end"][1], 3),
        "peak_mb": _peak_mb(),
        "model_line": _model_line(output.getvalue()),
    }


def _model_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if "model calls:" in line), "")

