"""A small store for the gate's pytester tests, and helpers to run `pytest suites/` on it.

The store has six articles, a catalog and seven fixtures that the offline reference model
answers correctly, plus `pytest.ini` (so that pytest's rootdir, and so its conftest, is the
store root) and a `conftest.py` that appends one line to `agent-runs.log` per case run.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from storekit import case, write_store

__all__ = [
    "AGENT_YAML", "ARTICLES", "CATALOG", "FIXTURES", "RETURNS", "agent_runs", "article",
    "assert_gate", "baseline_of", "commit_all", "fixture", "git", "run_suites",
    "write_gate_store",
]

AGENT_YAML = """\
temperature: 0
retrieval: {top_k: 3}
escalation:
  topics:
    payment-dispute: [chargeback, "/disput(e|ing)/", "/charged (me )?twice/"]
    fraud: [unauthorized]
  min_confidence: 0.2  # the default; the sample store keeps its own 0.35
  on_request: true
tone:
  brand: Kettle & Crema
  voice: warm, plain-spoken and concise
  max_words: 120
  banned_phrases: ["as an AI", "per our policy"]
  emoji: false
  sign_off: "- The Kettle & Crema team"
judge:
  model: null
"""


def article(title: str, topic: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "topic": topic, "status": "active", **extra, "body": body}


RETURNS = ("You can return most items within 30 days of delivery for a full refund.\n"
           "A returned item must be unused and in its original packaging.\n"
           "Opened coffee beans cannot be returned.")
LOYALTY_TYPO = ("Rewards members earn 1 point for evrey dollar spent on coffee gear.\n"
                "Points can be redeemed at checkout.")

ARTICLES: dict[str, dict[str, Any]] = {
    "returns-policy": article("Returns and refunds", "returns", RETURNS),
    "shipping": article(
        "Shipping times and costs", "shipping",
        "Standard shipping takes 3-5 business days.\n"
        "Express shipping costs $14.95 and arrives in 1-2 business days."),
    "warranty": article(
        "Grinder warranty", "warranty",
        "Every grinder comes with a 2-year warranty against manufacturing defects.\n"
        "The warranty does not cover worn burrs."),
    "gift-cards": article(
        "Gift cards", "gift-cards",
        "Gift cards never expire and can be used on any order.\n"
        "Gift cards cannot be exchanged for cash."),
    "loyalty": article("Rewards points", "loyalty", LOYALTY_TYPO),
    "payment-methods": article(
        "Payment methods", "payments",
        "We accept Visa, Mastercard, American Express and PayPal.\n"
        "Your card is charged when the order ships."),
}

CATALOG: dict[str, Any] = {
    "currency": "USD",
    "products": [
        {"sku": "GRD-S2", "name": "Burr Grinder S2", "price": 189.0, "status": "active"},
        {"sku": "GRD-S1", "name": "Burr Grinder S1", "price": 149.0,
         "status": "discontinued"},
        {"sku": "KTL-GN", "name": "Gooseneck Kettle", "price": 59.95, "status": "active"},
    ],
}


def fixture(question: str, facts: list[str], articles: list[str],
            outcome: str = "resolve") -> dict[str, Any]:
    spec = case(question, outcome=outcome, topic="gate", source={"kind": "synthetic"})
    spec["expect"].update({"facts": facts, "articles": articles})
    return spec


FIXTURES: dict[str, dict[str, Any]] = {
    "returns-window": fixture("How many days do I have to return an item?",
                              ["30 days"], ["returns-policy"]),
    "opened-beans": fixture("Can I return a bag of opened coffee beans?",
                            ["cannot be returned"], ["returns-policy"]),
    "express-shipping": fixture("How much does express shipping cost?",
                                ["$14.95"], ["shipping"]),
    "grinder-warranty": fixture("How long is the warranty on a grinder?",
                                ["2-year warranty"], ["warranty"]),
    "gift-card-expiry": fixture("Do gift cards expire?", ["never expire"], ["gift-cards"]),
    "grinder-price": fixture("How much is the Burr Grinder S2?", ["/\\$189(\\.00)?/"], []),
    "chargeback": fixture("I am going to file a chargeback with my bank.", [], [],
                          outcome="escalate"),
}

# Counts the agent's runs (each run is where a model would be called): one line per case run
# in agent-runs.log. A run that stops before any model call leaves no log at all.
PROBE_CONFTEST = '''\
from pathlib import Path

import harness.agent.loop

_real = harness.agent.loop.Agent.run


async def _counted(self, *args, **kwargs):
    with (Path(__file__).parent / "agent-runs.log").open("a", encoding="utf-8") as log:
        log.write("run\\n")
    return await _real(self, *args, **kwargs)


def pytest_configure(config):
    harness.agent.loop.Agent.run = _counted


def pytest_unconfigure(config):
    harness.agent.loop.Agent.run = _real
'''


def write_gate_store(
    root: Path,
    *,
    articles: dict[str, Any] | None = None,
    suites: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write the gate store (or the given articles / suites) at `root`, probe included."""
    write_store(
        root,
        articles=ARTICLES if articles is None else articles,
        catalog=CATALOG,
        agent=AGENT_YAML,
        suites={"core": FIXTURES} if suites is None else suites,
    )
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "conftest.py").write_text(PROBE_CONFTEST, encoding="utf-8")
    return root


def run_suites(pytester: pytest.Pytester, *args: str, where: str = "suites/") -> pytest.RunResult:
    """`pytest suites/ -rA ARGS` in a subprocess, in the store at pytester.path."""
    return pytester.runpytest_subprocess(where, "-p", "no:cacheprovider", "-rA", *args)


_GATE = re.compile(r"^GATE (PASS|FAIL): (.*)$")
_COUNT = re.compile(r"(\d+) ([a-z][a-z -]*[a-z])")


def assert_gate(result: pytest.RunResult, verdict: str, **counts: int) -> None:
    """The run's one `GATE PASS|FAIL: 7 cases, 1 blocking, ...` line says `verdict` and each of
    `counts` (known_failures= for "known failures"); counts not named are not checked."""
    lines = [m for line in result.outlines if (m := _GATE.match(line))]
    assert len(lines) == 1, f"expected one GATE line, got {[m.group(0) for m in lines]}"
    found = {name: int(number) for number, name in _COUNT.findall(lines[0].group(2))}
    wanted = {name.replace("_", " "): number for name, number in counts.items()}
    assert (lines[0].group(1), {k: found.get(k) for k in wanted}) == (verdict, wanted), (
        lines[0].group(0))


def agent_runs(root: Path) -> int:
    """How many cases the agent ran (see PROBE_CONFTEST); removes the log for the next run."""
    log = root / "agent-runs.log"
    if not log.exists():
        return 0
    count = len(log.read_text(encoding="utf-8").splitlines())
    log.unlink()
    return count


def baseline_of(root: Path, suite: str = "core") -> dict[str, Any]:
    return json.loads((root / "suites" / suite / "baseline.json").read_text(encoding="utf-8"))


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git in `root`, with an identity of its own and no signing, whatever the user's config."""
    command = ["git", "-C", str(root), "-c", "user.name=Gate Test",
               "-c", "user.email=gate@example.invalid", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True)


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
