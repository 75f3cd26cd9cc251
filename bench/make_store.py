"""Write a benchmark store: the sample store's KB and prompts, N generated fixtures.

    python bench/make_store.py /tmp/bench-store --cases 1000 --api-base http://127.0.0.1:8765/v1
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    ("How long do I have to return an unused grinder?", ["30 days"], ["returns-policy"]),
    ("Can I get a refund on a kettle I never used?", ["refund"], ["returns-policy"]),
    ("What is your return window for gifts?", ["30 days"], ["returns-policy"]),
]


def make_store(target: Path, cases: int, api_base: str, model: str = "openai/gpt-4o-mini") -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "knowledge", target / "knowledge")
    shutil.copytree(REPO / "prompts", target / "prompts")
    agent = yaml.safe_load((target / "prompts" / "agent.yaml").read_text())
    agent.update({"model": model, "api_base": api_base, "retries": 2})
    agent["escalation"]["min_confidence"] = 0.0  # every case reaches the model
    (target / "prompts" / "agent.yaml").write_text(yaml.safe_dump(agent, sort_keys=False))
    suite = target / "suites" / "bench"
    suite.mkdir(parents=True)
    for number in range(cases):
        question, facts, articles = QUESTIONS[number % len(QUESTIONS)]
        fixture = {
            "as_of": "2026-10-15",
            "conversation": [{"customer": f"{question} (order {number})"}],
            "expect": {"outcome": "resolve", "facts": facts, "articles": articles},
        }
        (suite / f"case-{number:05d}.yaml").write_text(yaml.safe_dump(fixture, sort_keys=False))
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", type=Path)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--api-base", default="http://127.0.0.1:8765/v1")
    args = parser.parse_args()
    make_store(args.target, args.cases, args.api_base)


if __name__ == "__main__":
    main()
