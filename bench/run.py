"""The benchmark, in one command: the harness against a local OpenAI-compatible server.

    python bench/run.py [--cases 1000] [--latency 0.1] [--out docs/benchmarks.md]

It starts `bench/server.py` on 127.0.0.1 (fixed latency, canned reply), writes a store of
N generated fixtures (`bench/make_store.py`), and measures side by side in one run:
- the harness (`pytest suites/ --cache off --harness-report run.json`) at concurrency 8, 32
  and 128: the model phase's wall time against the ideal N x latency / concurrency, the whole
  command's wall and peak memory;
- a bare `litellm.acompletion` loop at the same concurrency, and the ratio of the two;
- per-case overhead at zero latency (harness and bare loop);
- promptfoo on the same cases against the same server (`bench/promptfoo_side.py`), when it
  is installed under bench/.promptfoo (`npm install --prefix bench/.promptfoo
  promptfoo@0.121.20`, the newest that runs on Node 20), and the ratio of its whole
  command to the harness's.
Timings are noisy on a shared machine: compare the ratios of one run, not runs of two days.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from make_store import make_store

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
CONCURRENCY = (8, 32, 128)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """bench/server.py in its own process, so its CPU is not the harness's."""

    def __init__(self, latency: float) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/v1"
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "server.py"), "--port", str(self.port), "--latency", str(latency)])
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the bench server did not start")

    def requests(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return int(json.load(r)["requests"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, str(HERE / "_child.py"), *args], capture_output=True,
                          text=True, env={"OPENAI_API_KEY": "sk-bench", "PATH": "/usr/bin:/bin",
                                          "HOME": str(Path.home())}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _promptfoo(store: Path, cases: int, base: str, concurrency: int) -> dict[str, Any] | None:
    script = HERE / "promptfoo_side.py"
    if not script.exists() or not (HERE / ".promptfoo").exists():
        return None
    done = subprocess.run([PYTHON, str(script), str(store), "--cases", str(cases),
                           "--api-base", base, "--concurrency", str(concurrency)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _best(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Of repeated runs, the least disturbed by the machine's other programs (the fastest)."""
    done = [r for r in runs if r and key in r]
    return min(done, key=lambda r: r[key]) if done else runs[0]


def measure(cases: int, latency: float, repeat: int = 1) -> dict[str, Any]:
    """Each concurrency's harness, bare loop and promptfoo, one after another, `repeat` times
    in turn (so a busy spell of the machine hits all three alike); the best of each is kept."""
    results: dict[str, Any] = {"cases": cases, "latency_s": latency, "repeat": repeat,
                               "rows": []}
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(latency)
        try:
            store = make_store(Path(scratch) / "store", cases, server.base)
            for concurrency in CONCURRENCY:
                ideal = cases * latency / concurrency
                row: dict[str, Any] = {"concurrency": concurrency, "ideal_s": round(ideal, 2)}
                tries: dict[str, list[dict[str, Any]]] = {"harness": [], "litellm": [],
                                                          "promptfoo": []}
                for _ in range(repeat):
                    tries["harness"].append(_child("harness", str(store), str(concurrency)))
                    tries["litellm"].append(
                        _child("litellm", server.base, str(concurrency), str(cases)))
                    tries["promptfoo"].append(
                        _promptfoo(store, cases, server.base, concurrency) or {})
                row["harness"] = _best(tries["harness"], "total_s")
                row["litellm"] = _best(tries["litellm"], "model_phase_s")
                row["promptfoo"] = _best(tries["promptfoo"], "wall_s") or None
                row["tries"] = {k: [r.get("total_s", r.get("model_phase_s", r.get("wall_s")))
                                    for r in v] for k, v in tries.items()}
                results["rows"].append(row)
        finally:
            server.close()
        zero = Server(0.0)
        try:
            store = make_store(Path(scratch) / "zero", cases, zero.base)
            results["zero_latency"] = {
                "harness": _child("harness", str(store), "8", "1"),
                "litellm": _child("litellm", zero.base, "8", str(cases)),
            }
        finally:
            zero.close()
    return results


def _ratio(seconds: float | None, ideal: float) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s ({seconds / ideal:.2f}x)"


def render(results: dict[str, Any], command: str) -> str:
    n, latency = results["cases"], results["latency_s"]
    lines = [
        "# Benchmarks", "",
        f"Measured with `{command}` on this project's machine (2 cores, shared with other"
        f" jobs while it ran), against `bench/server.py` on 127.0.0.1: {n} fixtures,"
        f" {latency * 1000:.0f} ms latency per call, response cache off. Every number comes"
        f" from one run, side by side (best of {results.get('repeat', 1)} tries each, taken"
        " in turn).", "",
        "| concurrency | ideal | harness model phase | bare litellm loop | harness whole command"
        " | promptfoo whole command | promptfoo / harness | harness peak memory |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["rows"]:
        ideal = row["ideal_s"]
        harness, bare, pf = row["harness"], row["litellm"], row.get("promptfoo")
        if pf is None:
            pf_text, speedup = "not installed", "-"
        elif "wall_s" not in pf:
            pf_text, speedup = pf.get("error", "error")[:40], "-"
        else:
            pf_text, speedup = f"{pf['wall_s']:.2f} s", f"{pf['wall_s'] / harness['total_s']:.2f}x"
        lines.append(
            f"| {row['concurrency']} | {ideal:.2f} s | {_ratio(harness['model_phase_s'], ideal)}"
            f" | {_ratio(bare['model_phase_s'], ideal)}"
            f" | {harness['total_s']:.2f} s | {pf_text} | {speedup}"
            f" | {harness['peak_mb']:.0f} MB |")
    lines += ["", "Harness model phase against the bare loop (below 1 is faster): " + ", ".join(
        f"c={r['concurrency']} {r['harness']['model_phase_s'] / r['litellm']['model_phase_s']:.2f}"
        for r in results["rows"]) + "."]
    zero = results["zero_latency"]
    per_case = zero["harness"]["model_phase_s"] / n * 1000
    per_call = zero["litellm"]["model_phase_s"] / n * 1000
    lines += [
        "", f"Per-case cost at zero latency (concurrency 8, one process): harness"
        f" {per_case:.2f} ms per case (retrieval, prompt, litellm call, parsing, grading),"
        f" bare litellm loop {per_call:.2f} ms per call.", "",
        "The harness's model phase is the time from the first model call to the last graded"
        " case; the whole command is `pytest suites/ --cache off --harness-report run.json`"
        " from the interpreter's start to its exit, litellm's import and collection included."
        " promptfoo's is its whole `promptfoo eval -o out.json` command (offline settings of"
        " bench/promptfoo_side.py), with one built-in `contains` assertion per case. The bare"
        " loop is `litellm.acompletion` under a semaphore, warmed up, timed from its first"
        " call to its last.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=2,
                        help="tries of each measurement, in turn; the best is kept")
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "benchmarks.md",
                        help="write the table here (and the numbers beside it as .json)")
    args = parser.parse_args()
    results = measure(args.cases, args.latency, args.repeat)
    command = "python bench/run.py" + (f" --cases {args.cases}" if args.cases != 1000 else "")
    text = render(results, command)
    args.out.write_text(text, encoding="utf-8")
    (args.out.with_suffix(".json")).write_text(json.dumps(results, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
