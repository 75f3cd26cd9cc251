"""Does a run grow linearly? 1,000 and 10,000 fixtures at concurrency 64: time and peak memory.

    python bench/scale.py [--sizes 1000 10000] [--concurrency 64] [--latency 0.1]

Each size is a fresh `pytest suites/ --cache off --harness-report run.json` process
(`bench/_child.py harness`) against `bench/server.py` on 127.0.0.1. Prints, per size: the whole
command's wall, the model phase, the ideal (N x latency / concurrency), peak memory (the
largest of the process and its forked workers), and per-case figures, so that growth shows as
the ratio of per-case time and memory between sizes. Peak memory must stay under 400 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from make_store import make_store
from run import Server, _child

LIMIT_MB = 400


def measure(sizes: list[int], concurrency: int, latency: float) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(latency)
        try:
            for size in sizes:
                store = make_store(Path(scratch) / f"store-{size}", size, server.base)
                found = _child("harness", str(store), str(concurrency))
                rows.append({"cases": size, "concurrency": concurrency,
                             "ideal_s": round(size * latency / concurrency, 2), **found})
        finally:
            server.close()
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = ["| fixtures | whole command | model phase (ideal) | ms per case (whole) |"
             " peak memory | growth vs smallest (time, memory) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    first = rows[0]
    for row in rows:
        per_case = row["total_s"] / row["cases"] * 1000
        time_growth = row["total_s"] / first["total_s"]
        size_growth = row["cases"] / first["cases"]
        lines.append(
            f"| {row['cases']:,} | {row['total_s']:.1f} s | {row['model_phase_s']:.1f} s"
            f" ({row['ideal_s']:.1f} s) | {per_case:.2f} | {row['peak_mb']:.0f} MB |"
            f" {time_growth:.1f}x time, {row['peak_mb'] / first['peak_mb']:.2f}x memory for"
            f" {size_growth:.0f}x cases |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    args = parser.parse_args()
    rows = measure(args.sizes, args.concurrency, args.latency)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(render(rows))
    over = [r for r in rows if r["peak_mb"] >= LIMIT_MB]
    if over:
        sys.exit(f"peak memory over {LIMIT_MB} MB at {over[0]['cases']} fixtures")


if __name__ == "__main__":
    main()
