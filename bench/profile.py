"""Where a harness run's time goes: wall and CPU by phase, for 1000 cases at concurrency 32, 128.

    python bench/profile.py [--cases 1000] [--latency 0.1] [--concurrency 32 128] [--repeat 2]
    python bench/profile.py --cprofile grading       # the hottest functions of one phase

It starts `bench/server.py` on 127.0.0.1, writes a store of N generated fixtures
(`bench/make_store.py`) and runs `pytest suites/` on it in a fresh process per measurement
(`bench/_child.py profile`), with every report asked for (JSON, Markdown, HTML, JUnit XML).
The phases are timed from inside that process by wrapping the functions that do them:

- start-up: interpreter, pytest and the plugin, up to pytest's configure hook;
- import: litellm's import and first-call set-up (`litellm_module`, `warm_up`), the part the
  model phase had to wait for;
- collection: pytest's collection (loading the store and every fixture);
- retrieval + prompt: BM25 retrieval, product lookup and the system prompt, per case;
- model calls: the rest of the model phase (litellm, the client, the event loop);
- grading, comparison (baseline diff and the gate), reports (summary and files written);
- pytest's item loop: pytest runs each item (its verdict), reports it and writes JUnit XML.

Wall is each phase's elapsed time; retrieval + prompt run inside the model phase, so its wall
overlaps it. CPU is the process's (and its forked workers') CPU time in the phase. Prints a
Markdown table; `--out` appends nothing, it only prints, and `--json` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from make_store import make_store
from run import HERE, PYTHON, Server

PHASES = ("startup", "import", "collection", "retrieval_prompt", "model_calls", "grading",
          "comparison", "reports", "pytest_items")
LABELS = {"startup": "start-up and exit", "import": "litellm import", "collection": "collection",
          "retrieval_prompt": "retrieval + prompt", "model_calls": "model calls",
          "grading": "grading", "comparison": "comparison",
          "reports": "reports (summary, JSON, Markdown, HTML)",
          "pytest_items": "pytest's item loop (verdicts, JUnit XML)"}


def profile_child(store: Path, concurrency: int, cases: int, extra: tuple[str, ...] = ()
                  ) -> dict[str, Any]:
    """One run in a fresh process; start-up is what its wall and CPU hold outside pytest."""
    wall, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([PYTHON, str(HERE / "_child.py"), "profile", str(store),
                           str(concurrency), *extra], capture_output=True, text=True,
                          env={"OPENAI_API_KEY": "sk-bench", "PATH": "/usr/bin:/bin",
                               "HOME": str(Path.home()),
                               "BENCH_SORT": os.environ.get("BENCH_SORT", "tottime")},
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"profile child failed:\n{done.stderr[-3000:]}{done.stdout[-3000:]}")
    wall, cpu = time.perf_counter() - wall, _children_cpu() - cpu
    if extra:
        return {"text": done.stdout}
    found = json.loads(done.stdout.strip().splitlines()[-1])
    inside_wall = found["end_at_s"] - found["configure_at_s"]
    inside_cpu = found["end_cpu_s"] - found["configure_cpu_s"]
    found["phases"]["startup"] = [round(wall - inside_wall, 3), round(cpu - inside_cpu, 3)]
    found["total_wall_s"], found["total_cpu_s"] = round(wall, 3), round(cpu, 3)
    found["per_case_ms"] = {k: c / cases * 1000 for k, (_, c) in found["phases"].items()}
    return found


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of repeated runs, the one with the least total wall: the least disturbed by the other
    programs on a shared machine."""
    return min(runs, key=lambda r: r["total_wall_s"])


def render(results: dict[str, Any]) -> str:
    rows = results["rows"]
    head = "| phase | " + " | ".join(
        f"c={r['concurrency']} wall | c={r['concurrency']} CPU" for r in rows) + " |"
    lines = [head, "| --- |" + " ---: | ---: |" * len(rows)]
    for phase in PHASES:
        cells = []
        for row in rows:
            wall, cpu = row["phases"][phase]
            cells.append(f"{wall:.2f} s | {cpu:.2f} s")
        lines.append(f"| {LABELS[phase]} | " + " | ".join(cells) + " |")
    lines.append("| **whole command** | " + " | ".join(
        f"**{r['total_wall_s']:.2f} s** | **{r['total_cpu_s']:.2f} s**" for r in rows) + " |")
    per_case = [
        f"c={r['concurrency']}: grading {r['per_case_ms']['grading']:.3f} ms, comparison"
        f" {r['per_case_ms']['comparison']:.3f} ms, reports {r['per_case_ms']['reports']:.3f} ms,"
        f" pytest's item loop {r['per_case_ms']['pytest_items']:.3f} ms,"
        f" retrieval + prompt {r['per_case_ms']['retrieval_prompt']:.3f} ms,"
        f" model calls {r['per_case_ms']['model_calls']:.3f} ms of CPU per case;"
        f" peak memory {r['peak_mb']:.0f} MB"
        for r in rows]
    lines += ["", "Per case (CPU): " + "; ".join(per_case) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per concurrency; the least disturbed one is shown")
    parser.add_argument("--cprofile", metavar="PHASE",
                        help="print cProfile's hottest functions of one phase instead: import,"
                             " collection, model_calls (one process), grading, comparison,"
                             " reports (summary and files), items (pytest's loop over items)")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the table of numbers written before with --json")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return
    results: dict[str, Any] = {"cases": args.cases, "latency_s": args.latency, "rows": []}
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(args.latency)
        try:
            store = make_store(Path(scratch) / "store", args.cases, server.base)
            if args.cprofile:
                print(profile_child(store, args.concurrency[0], args.cases,
                                    ("--cprofile", args.cprofile))["text"])
                return
            for concurrency in args.concurrency:
                runs = [profile_child(store, concurrency, args.cases)
                        for _ in range(args.repeat)]
                results["rows"].append({"concurrency": concurrency, **best(runs),
                                        "walls_s": [r["total_wall_s"] for r in runs]})
        finally:
            server.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.cases} cases, {args.latency * 1000:.0f} ms latency, best of {args.repeat}:\n")
    print(render(results))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
