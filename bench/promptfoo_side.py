"""promptfoo's side of the benchmark: promptfoo itself calls the bench server for N fixtures.

    npm install --prefix bench/.promptfoo promptfoo@0.121.20  # once (gitignored; Node 20)
    python bench/server.py --port 8765 --latency 0.1 &
    python bench/make_store.py /tmp/bench-store --cases 100
    python bench/promptfoo_side.py /tmp/bench-store --cases 100 --concurrency 8 \
        --api-base http://127.0.0.1:8765/v1 [--python-assert]

Every test sends the same system prompt (the store's, rendered once for the first fixture) and
the fixture's question to `openai:chat:bench-model`, then checks one built-in `contains` (the
fixture's first fact), or with `--python-assert` the same check as a `type: python` assertion,
which promptfoo runs in a new Python process per test. Prints one JSON line:
{"concurrency", "cases", "wall_s", ...}; wall_s is the whole `promptfoo eval` command, start-up
included. Offline: telemetry, update check, sharing and remote generation are off, and other
hosts go to a dead loopback proxy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from harness.agent.loop import Agent
from harness.agent.prompt import render_system_prompt
from harness.store.loading import load_suites, open_store
from harness.store.schema import Case
from harness.text.matching import is_regex

BENCH = Path(__file__).resolve().parent
DEFAULT_BIN = BENCH / ".promptfoo" / "node_modules" / ".bin" / "promptfoo"
OFFLINE = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_DISABLE_SHARING": "1", "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost"}
PYTHON_ASSERT = '''def get_assert(output, context):
    """The `contains` check, as a Python assertion: promptfoo starts a Python for each call."""
    return context["vars"]["fact"] in output
'''


def fixtures(store_dir: Path, count: int) -> tuple[str, list[Case]]:
    """The store's system prompt (rendered once) and its first `count` fixtures."""
    store = open_store(store_dir)
    cases, broken = load_suites(store)
    if broken or len(cases) < count:
        sys.exit(f"{store_dir}: {len(cases)} fixtures load ({len(broken)} broken);"
                 f" {count} asked for: make it with bench/make_store.py --cases {count}")
    hits, _ = Agent(store, today=dt.date.today()).retrieve(cases[0])
    system = render_system_prompt(store.template_path, tone=store.agent.tone,
                                  articles=[h.article for h in hits],
                                  conversation=cases[0].conversation, catalog=store.catalog)
    if "{{" in system or "{%" in system:
        sys.exit("the system prompt holds template syntax, which promptfoo would render")
    return system, cases[:count]


def config(system: str, cases: list[Case], api_base: str, python_assert: bool,
           folder: Path) -> Path:
    """Write the prompt, the optional Python assertion and promptfooconfig.yaml into folder."""
    (folder / "prompt.json").write_text(
        '[{"role": "system", "content": ' + json.dumps(system) + '},\n'
        ' {"role": "user", "content": {{ question | dump }}}]\n', encoding="utf-8")
    check: dict[str, Any] = {"type": "contains", "value": "{{fact}}"}
    if python_assert:
        (folder / "bench_assert.py").write_text(PYTHON_ASSERT, encoding="utf-8")
        check = {"type": "python", "value": "file://bench_assert.py"}
    facts = [next((f for f in c.expect.facts if not is_regex(f)), "30 days") for c in cases]
    suite = {
        "description": f"bench: {len(cases)} cases",
        "prompts": ["file://prompt.json"],
        "providers": [{"id": "openai:chat:bench-model",
                       "config": {"apiBaseUrl": api_base, "apiKey": "sk-bench", "temperature": 0}}],
        "defaultTest": {"assert": [check]},
        "tests": [{"vars": {"question": c.last_customer_text, "fact": fact}}
                  for c, fact in zip(cases, facts, strict=True)],
    }
    path = folder / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False, width=100), encoding="utf-8")
    return path


def server_requests(api_base: str) -> int | None:
    """The bench server's request count (GET /stats), or None for another server."""
    root = api_base.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/stats", timeout=5) as answer:
            return int(json.load(answer)["requests"])
    except (OSError, ValueError, KeyError):
        return None


def check_reachable(api_base: str) -> None:
    """Stop before promptfoo retries a refused connection for minutes."""
    parts = urllib.parse.urlsplit(api_base)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 5).close()
    except OSError as error:
        sys.exit(f"{api_base}: {error}; start bench/server.py first")


def run(binary: Path, path: Path, concurrency: int, folder: Path) -> tuple[float, dict[str, Any]]:
    """`promptfoo eval`, timed from the outside; returns wall seconds and promptfoo's stats."""
    env = {**os.environ, **OFFLINE, "PROMPTFOO_PYTHON": sys.executable,
           "PROMPTFOO_CONFIG_DIR": str(folder / "home")}
    out = folder / "out.json"
    started = time.perf_counter()
    done = subprocess.run([str(binary), "eval", "-c", str(path), "--no-cache", "--no-table",
                           "-j", str(concurrency), "-o", str(out)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    if not out.exists():
        sys.exit(f"promptfoo eval failed ({done.returncode}):\n{done.stdout[-3000:]}"
                 f"\n{done.stderr[-3000:]}")
    return wall, json.loads(out.read_text())["results"]["stats"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="a store made by bench/make_store.py")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--concurrency", "-j", type=int, default=8)
    parser.add_argument("--api-base", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--python-assert", action="store_true",
                        help="check with one `type: python` assertion instead of `contains`")
    parser.add_argument("--promptfoo", type=Path, default=DEFAULT_BIN,
                        help=f"the promptfoo CLI (default: {DEFAULT_BIN})")
    args = parser.parse_args()
    if not args.promptfoo.exists():
        sys.exit(f"{args.promptfoo} not found: npm install --prefix {BENCH / '.promptfoo'}"
                 " promptfoo")
    check_reachable(args.api_base)
    system, cases = fixtures(args.store, args.cases)
    with tempfile.TemporaryDirectory(prefix="bench-promptfoo-") as tmp:
        folder = Path(tmp)
        path = config(system, cases, args.api_base, args.python_assert, folder)
        before = server_requests(args.api_base)
        wall, stats = run(args.promptfoo, path, args.concurrency, folder)
        after = server_requests(args.api_base)
    print(json.dumps({
        "concurrency": args.concurrency, "cases": len(cases), "wall_s": round(wall, 3),
        "assertion": "python" if args.python_assert else "contains",
        "eval_s": round(stats.get("durationMs", 0) / 1000, 3),
        "passed": stats.get("successes"), "failed": stats.get("failures"),
        "errors": stats.get("errors"),
        "server_requests": after - before if before is not None and after is not None else None,
    }))


if __name__ == "__main__":
    main()
