"""Does `harness score` stay linear? N exported conversations: wall time and peak memory.

    python bench/score_scale.py [--sizes 20000 200000] [--no-history] [--json PATH]

The export is examples/export-2026-W48.jsonl (40 conversations of every kind: resolved,
escalated, repeat contacts, KB gaps) repeated with fresh ids, customers and times, a minute
apart, each customer message signed with a name of its own, so a run of N lines is N distinct
conversations in time order, as a helpdesk writes them. Each size is one fresh `harness score`
process on a copy of the sample store (its own history database, unless --no-history). Prints,
per size, wall time, peak memory (the child's max RSS), CPU time and CPU per conversation (the
machine is shared: CPU is the comparable figure), so that growth shows as the ratio between
sizes; and the seconds a later command takes to open the history database the run left.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "examples" / "export-2026-W48.jsonl"
START = dt.datetime(2026, 1, 5, 8, 0)


def write_export(path: Path, count: int) -> Path:
    """`count` conversations: the example's 40 in turn, each a minute after the one before."""
    templates = [json.loads(line) for line in SOURCE.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            row = dict(templates[number % len(templates)])
            at = START + dt.timedelta(minutes=number)
            stamp = at.strftime("%Y-%m-%dT%H:%M:00Z")
            row["id"] = f"bench-{number:07d}"
            row["customer"] = f"{row['customer']}-{number // len(templates)}"
            row["started_at"] = stamp
            row["messages"] = [_signed({**m, "at": stamp} if "at" in m else m, number)
                               for m in row["messages"]]
            out.write(json.dumps(row) + "\n")
    return path


def _signed(message: dict[str, Any], number: int) -> dict[str, Any]:
    """A customer's message signed with a name of its own, so that no two conversations'
    texts are the same (as in a real export: a cache of texts seen must not flatter it)."""
    if message.get("role") != "customer":
        return message
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "bcdfghjklmnpqrstvwxzaeiouy"[digit]
        if not number:
            break
    return {**message, "text": f"{message['text']}\n\nAlex {letters.capitalize()}"}


def store_copy(target: Path) -> Path:
    for folder in ("knowledge", "prompts", "suites"):
        shutil.copytree(REPO / folder, target / folder)
    return target


def measure(size: int, scratch: Path, history: bool) -> dict[str, Any]:
    root = store_copy(scratch / f"store-{size}")
    export = write_export(scratch / f"export-{size}.jsonl", size)
    command = [sys.executable, "-m", "harness.cli", "score", str(export), "--store", str(root),
               "--json", str(scratch / f"scored-{size}.json")]
    if not history:
        command.append("--no-history")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = after.ru_maxrss
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):
        raise SystemExit(f"harness score failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if peak <= before.ru_maxrss:
        raise SystemExit("peak memory of this size is hidden by an earlier, larger child: run"
                         " sizes in increasing order")
    database = root / ".harness-history.sqlite3"
    return {"conversations": size, "history": history, "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "peak_mb": round(peak / 1024),
            "us_per_conversation": round(cpu / size * 1e6),
            "history_mb": round(database.stat().st_size / 2**20) if database.exists() else 0,
            "open_history_s": _open_seconds(root) if database.exists() else None}


def _open_seconds(root: Path) -> float:
    """What every later command pays to open the history this run left (its quick check)."""
    code = ("import sys, time; from pathlib import Path; from harness.history import"
            " open_history; t = time.perf_counter(); open_history(None, Path(sys.argv[1]));"
            " print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                          text=True, check=True)
    return round(float(done.stdout.strip()), 2)


def render(rows: list[dict[str, Any]]) -> str:
    lines = ["| conversations | history | wall | CPU | CPU per conversation | peak memory |"
             " history file (open) |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        opened = f" ({row['open_history_s']} s)" if row["open_history_s"] is not None else ""
        lines.append(f"| {row['conversations']:,} | {'yes' if row['history'] else 'no'} |"
                     f" {row['wall_s']:.1f} s | {row['cpu_s']:.1f} s |"
                     f" {row['us_per_conversation']} us | {row['peak_mb']} MB |"
                     f" {row['history_mb']} MB{opened} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--no-history", action="store_true", help="score with --no-history")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in sorted(args.sizes):
            rows.append(measure(size, Path(scratch), not args.no_history))
            print(render(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(render(rows))


if __name__ == "__main__":
    main()
