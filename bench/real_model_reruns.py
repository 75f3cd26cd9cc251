"""Issue 16's "done when": an unchanged store at temperature 0.8 under `--repeat 5` passes the
gate on every rerun against a real model (SmolLM2-135M on 127.0.0.1, tests/realmodel/).

    bash tests/realmodel/setup.sh && .venv/bin/python bench/real_model_reruns.py [--reruns 3]

It writes a 12-case store (10 answerable questions, one the model should escalate, one the
on_request rule hands off) with the store's defaults for concurrency, timeout and retries,
records the baseline with `--repeat 5`, then reruns `--repeat 5 --cache off` (fresh samples)
and prints each rerun's gate, the cases called worse, errors and time. Needs `.venv-llm`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from realmodel.server import start_server  # noqa: E402
from storekit import write_store  # noqa: E402

GREETING = [{"customer": "Hi!"}, {"agent": "Hello! How can I help you today?"}]
FACTS = {  # article: (one-sentence body, question, the fact the reply must state)
    "returns": ("You can return any item within 30 days of delivery.",
                "How many days do I have to return an item?", "30 days"),
    "shipping": ("Standard shipping takes 5 business days.",
                 "How long does standard shipping take?", "5 business days"),
    "warranty": ("Every grinder has a warranty of 2 years.",
                 "How long is the warranty on a grinder?", "2 years"),
    "gift-cards": ("Gift cards never expire.", "Do gift cards expire?", "never expire"),
    "express": ("Express shipping costs $15.", "How much does express shipping cost?", "$15"),
    "beans": ("Our coffee beans are roasted every Monday.",
              "On which day are the beans roasted?", "Monday"),
    "store-hours": ("Our shop in Leeds is open from 9am to 6pm.",
                    "What are the opening hours of the Leeds shop?", "9am"),
    "decaf": ("Our decaf beans are decaffeinated with the Swiss Water process.",
              "How is your decaf decaffeinated?", "Swiss Water"),
    "points": ("You earn 1 point for every dollar you spend.",
               "How many points do I earn per dollar?", "1 point"),
    "descaling": ("Descale your kettle every 3 months.",
                  "How often should I descale my kettle?", "3 months"),
}
TEMPLATE = ("You are the support assistant of {{ tone.brand }}, a coffee shop. Answer the"
            " customer in one short sentence, using this fact:"
            " {% for article in articles %}{{ article.body }} {% endfor %}\n")


def make_store(root: Path, model: str) -> Path:
    articles = {name: {"title": name.replace("-", " ").title(), "topic": name,
                       "status": "active", "body": body} for name, (body, _, _) in FACTS.items()}
    cases = {name: {"topic": name, "conversation": [*GREETING, {"customer": question}],
                    "expect": {"outcome": "resolve", "facts": [fact], "articles": [name]}}
             for name, (_, question, fact) in FACTS.items()}
    cases["broken-grinder"] = {"topic": "warranty", "expect": {"outcome": "escalate"},
                               "conversation": [{"customer": "My grinder arrived broken."}]}
    cases["wants-a-person"] = {"topic": "other", "expect": {"outcome": "escalate"},
                               "conversation": [{"customer": "I want to talk to a real person."}]}
    agent = {"model": model, "temperature": 0.8, "max_tokens": 80, "retrieval": {"top_k": 1},
             "escalation": {"topics": {}, "min_confidence": 0.2, "on_request": True},
             "tone": {"brand": "Bean Box", "voice": "friendly and brief", "max_words": 60,
                      "banned_phrases": ["as an AI"], "emoji": False}}
    return write_store(root, articles=articles, catalog={"currency": "USD", "products": []},
                       agent=agent, suites={"core": cases}, template=TEMPLATE)


def run(store: Path, api_base: str, *args: str) -> tuple[int, dict, float]:
    report = store / f"report-{time.monotonic_ns()}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPENAI_"))}
    env.update(OPENAI_API_BASE=api_base, OPENAI_API_KEY="none", NO_PROXY="127.0.0.1,localhost",
               LITELLM_OFFLINE_MODE="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/", "-q", "-p",
                           "no:cacheprovider", f"--harness-report={report}", *args],
                          cwd=store, env=env, capture_output=True, text=True, timeout=1800)
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, data, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_server() as server:
        store = make_store(Path(tmp) / "store", server.litellm_model)
        code, data, seconds = run(store, server.api_base, "--repeat", str(args.repeat),
                                  "--update-baseline", "--accept-failing")
        passing = sum(c["passed"] for c in data.get("cases", ()))
        print(f"baseline: exit {code}, {len(data.get('cases', ()))} cases ({passing} pass),"
              f" {seconds:.0f} s")
        passed_all = True
        for n in range(1, args.reruns + 1):
            code, data, seconds = run(store, server.api_base, "--repeat", str(args.repeat),
                                      "--cache", "off")
            cases = data.get("cases", ())
            worse = [c["id"] for c in cases if c["change"] == "worse"]
            errors = [c["id"] for c in cases if c.get("error")]
            print(f"rerun {n}: gate {data.get('gate')}, exit {code}, worse {worse or 'none'},"
                  f" errors {errors or 'none'}, {data.get('usage', {}).get('requests')} requests,"
                  f" {seconds:.0f} s")
            passed_all &= data.get("gate") == "pass"
    print(f"unchanged store passed the gate on every rerun: {passed_all}")
    return 0 if passed_all else 1


if __name__ == "__main__":
    sys.exit(main())
