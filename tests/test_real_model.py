"""The harness end to end against a real (small) language model: SmolLM2-135M-Instruct served on
127.0.0.1 by llama-cpp-python (chat format `chatml-tools`, tests/realmodel/), driven exactly as a
user drives it: a store whose `prompts/agent.yaml` says `model: openai/smollm2`, the server's
base URL in `OPENAI_API_BASE`, `pytest suites/` in a subprocess, its `--harness-report` JSON read
back. Four checks (issue 16, item 6):

1. every case runs with no error (no timeout) at the store's defaults: agent.yaml leaves
   concurrency, timeout and retries unset (8 calls in flight against a one-slot server);
2. an unchanged store at temperature 0.8, recorded with `--repeat 3` and rerun with
   `--repeat 3 --cache off` (fresh samples), passes the gate: no false alarm;
3. at temperature 0, a KB edit that removes a fact the model repeats fails the gate, naming
   the case;
4. with `judge: {model: openai/smollm2}` (same server) the judge's answers, valid JSON of the
   wrong shape, are `unscored`: no crash, and the summary says the judge is unscored.

The store is small on purpose (a 135M model): one-sentence articles, `top_k: 1`, a one-line
system prompt, questions whose answer is one KB sentence. SmolLM2 over-calls tools: under
`chatml-tools` the choice between a tool call and words is greedy, and every support question
asked cold was a call to `escalate_to_human`, whatever the system prompt said (a dozen
phrasings tried, including "respond with a message" and a demonstration of `message:`). What
does work is a conversation that opens with a greeting exchange (customer "Hi!", agent "Hello!
How can I help you today?"): the chat format renders the agent's earlier turn as
`message: ...`, a one-shot demonstration, and the model then answers in words. So the
answerable cases open with that greeting; one case asks cold and expects the model itself to
escalate (a tool call), one goes to a person by the on_request rule before any model call.

Run time: about 1-2 minutes on 2 idle cores (the server has one thread). It needs `.venv-llm`
(`bash tests/realmodel/setup.sh`: ~5 min the first time, then ~30 s from pip's wheel cache);
without it every test here is skipped with the reason, and HARNESS_REAL_MODEL=require turns
the skip into a failure. Marked `real_model`:

    .venv/bin/pytest tests/test_real_model.py -v -rs      # this file alone
    .venv/bin/pytest tests/ -m "not real_model"           # everything but the real model
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from realmodel import server as realmodel_server
from realmodel.server import LlamaServer
from storekit import write_store

pytestmark = pytest.mark.real_model  # registered in tests/conftest.py
real_model = realmodel_server.real_model  # the session fixture: SmolLM2 on 127.0.0.1

# --repeat K of the temperature test: 3 keeps CI's share small; bench/real_model_reruns.py
# measures issue 16's 12 cases x 5 samples x 3 reruns.
REPEAT = 3
RUN_TIMEOUT_S = 420  # one `pytest suites/` run; a healthy one takes 5-60 s here

GREETING = [{"customer": "Hi!"}, {"agent": "Hello! How can I help you today?"}]

# One sentence per article; each answerable case's expected fact is in exactly one of them.
ARTICLES: dict[str, dict[str, Any]] = {
    "returns": {"title": "Returns", "topic": "returns", "status": "active",
                "body": "You can return any item within 30 days of delivery."},
    "shipping": {"title": "Shipping", "topic": "shipping", "status": "active",
                 "body": "Standard shipping takes 5 business days."},
    "warranty": {"title": "Grinder warranty", "topic": "warranty", "status": "active",
                 "body": "Every grinder has a warranty of 2 years."},
    "gift-cards": {"title": "Gift cards", "topic": "gift-cards", "status": "active",
                   "body": "Gift cards never expire."},
}

# The answerable cases: (case id, article, question, the fact the reply must state).
FACT_CASES = [
    ("returns-window", "returns", "How many days do I have to return an item?", "30 days"),
    ("shipping-time", "shipping", "How long does standard shipping take?", "5 business days"),
    ("grinder-warranty", "warranty", "How long is the warranty on a grinder?", "2 years"),
    ("gift-card-expiry", "gift-cards", "Do gift cards expire?", "never expire"),
]

SUITES: dict[str, dict[str, Any]] = {"core": {
    **{cid: {"topic": ARTICLES[article]["topic"],
             "conversation": [*GREETING, {"customer": question}],
             "expect": {"outcome": "resolve", "facts": [fact], "articles": [article]}}
       for cid, article, question, fact in FACT_CASES},
    # Asked cold: SmolLM2 calls escalate_to_human (the tool path, through litellm).
    "broken-grinder": {"topic": "warranty",
                       "conversation": [{"customer": "My grinder arrived broken. What now?"}],
                       "expect": {"outcome": "escalate"}},
    # The on_request rule hands it over before any model call.
    "wants-a-person": {"topic": "other",
                       "conversation": [{"customer": "I want to talk to a real person."}],
                       "expect": {"outcome": "escalate"}},
}}

TEMPLATE = ("You are the support assistant of {{ tone.brand }}, a coffee shop. Answer the"
            " customer in one short sentence, using this fact:"
            " {% for article in articles %}{{ article.body }} {% endfor %}\n")


def agent_yaml(server: LlamaServer, temperature: float, judge: bool = False) -> dict[str, Any]:
    """No concurrency, timeout or retries: the harness's defaults (8, 60 s, 6) apply."""
    agent: dict[str, Any] = {
        "model": server.litellm_model,  # openai/smollm2; the URL is OPENAI_API_BASE
        "temperature": temperature,
        "max_tokens": 80,  # "one short sentence"; a reply cut off is reported, not hidden
        "retrieval": {"top_k": 1},
        "escalation": {"topics": {"payment-dispute": ["chargeback"]},
                       "min_confidence": 0.2, "on_request": True},
        "tone": {"brand": "Bean Box", "voice": "friendly and brief", "max_words": 60,
                 "banned_phrases": ["as an AI"], "emoji": False},
    }
    if judge:  # same server (OPENAI_API_BASE); 60 tokens, not 800: see JUDGED
        agent["judge"] = {"model": server.litellm_model, "max_tokens": 60}
    return agent


def make_store(root: Path, server: LlamaServer, temperature: float) -> Path:
    return write_store(root, articles=ARTICLES, catalog={"currency": "USD", "products": []},
                       agent=agent_yaml(server, temperature), suites=SUITES, template=TEMPLATE)


@dataclass
class HarnessRun:
    """One `pytest suites/` in a store: its exit status, output and JSON report."""

    args: tuple[str, ...]
    returncode: int
    output: str
    report: dict[str, Any]
    seconds: float

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report.get("cases", ())}

    def explain(self) -> str:
        return (f"`pytest suites/ {' '.join(self.args)}` exited {self.returncode} in"
                f" {self.seconds:.0f} s; its output ends:\n{self.output[-4000:]}")


def harness(store: Path, server: LlamaServer, *args: str) -> HarnessRun:
    """`pytest suites/ ARGS` in the store, as a user runs it, with the server in the environment."""
    report = store / f"report-{time.monotonic_ns()}.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "OPENAI_", "HARNESS_"))}
    env.update(OPENAI_API_BASE=server.api_base, OPENAI_API_KEY="none",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               LITELLM_OFFLINE_MODE="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
               "--color=no", f"--harness-report={report}", *args]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=store, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        out = (error.stdout or b"").decode(errors="replace") if isinstance(
            error.stdout, bytes) else (error.stdout or "")
        pytest.fail(f"`pytest suites/ {' '.join(args)}` still running after {RUN_TIMEOUT_S} s;"
                    f" server log:\n{server.log_tail()}\noutput:\n{out[-3000:]}")
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    data = json.loads(report.read_text()) if report.exists() else {}
    run = HarnessRun(tuple(args), done.returncode, output, data, seconds)
    assert data, f"no --harness-report written. {run.explain()}"
    print(f"\n`pytest suites/ {' '.join(args)}`: exit {done.returncode}, {seconds:.1f} s,"
          f" {data['usage']['requests']} requests, {data['usage']['cache_hits']} cache hits",
          file=sys.stderr)
    return run


def assert_no_errors(run: HarnessRun) -> None:
    errors = {cid: c["error"] for cid, c in run.cases.items() if c.get("error")}
    assert not errors, f"cases with an error: {errors}. {run.explain()}"
    assert "INTERNALERROR" not in run.output, run.explain()


@pytest.fixture(scope="module")
def cold_store(real_model: LlamaServer, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[Path, HarnessRun]]:
    """The store at temperature 0 with its baseline recorded (and its replies cached)."""
    root = make_store(tmp_path_factory.mktemp("realmodel-t0") / "store", real_model, 0.0)
    recorded = harness(root, real_model, "--update-baseline", "--accept-failing")
    yield root, recorded


def test_every_case_runs_at_the_store_defaults(cold_store: tuple[Path, HarnessRun]) -> None:
    root, run = cold_store
    agent = yaml.safe_load((root / "prompts" / "agent.yaml").read_text())
    assert not {"concurrency", "timeout", "retries"} & set(agent)  # the defaults apply
    assert run.returncode == 0, run.explain()
    assert run.report["gate"] == "pass" and run.report["updated"], run.explain()
    assert_no_errors(run)
    cases = run.cases
    assert set(cases) == {f"core/{cid}" for cid in SUITES["core"]}, run.explain()
    asked = [c for c in cases.values() if c["runs"][0]["decided_by"] == "model"]
    assert len(asked) == len(cases) - 1, run.explain()  # all but the on_request hand-off
    assert all(c["runs"][0]["latency_s"] > 0 and c["tokens"]["completion"] > 0 for c in asked)
    # The model can do the job at all: it states some facts, and it escalates by a tool call.
    passing = [cid for cid, c in cases.items() if c["passed"]]
    assert len(passing) >= 2, f"only {passing} pass. {run.explain()}"
    assert cases["core/broken-grinder"]["outcome"] == "escalate", run.explain()
    assert cases["core/broken-grinder"]["runs"][0]["decided_by"] == "model", run.explain()
    assert cases["core/wants-a-person"]["runs"][0]["decided_by"] == "on_request"


def test_a_kb_edit_that_removes_a_repeated_fact_is_caught(
        real_model: LlamaServer, cold_store: tuple[Path, HarnessRun],
        tmp_path: Path) -> None:
    source, recorded = cold_store
    # The first case whose baseline reply states its fact (at temperature 0 the reply is the
    # same on every run); greedy decoding may differ on another CPU, hence the choice.
    stated = [(cid, article, fact) for cid, article, _, fact in FACT_CASES
              if recorded.cases[f"core/{cid}"]["grades"].get("accuracy") == "pass"]
    assert stated, f"the model stated none of the facts at temperature 0. {recorded.explain()}"
    cid, article, fact = stated[0]
    root = tmp_path / "store"
    shutil.copytree(source, root)  # the baseline and the cache of the other cases come along
    path = root / "knowledge" / "articles" / f"{article}.md"
    text = path.read_text()
    body = ARTICLES[article]["body"]
    assert fact in body and body in text
    # Remove the sentence that holds the fact; keep a sentence so the article still retrieves.
    path.write_text(text.replace(body, {
        "returns": "Returned items must be unused and in their original box.",
        "shipping": "Standard shipping is tracked from our warehouse.",
        "warranty": "Every grinder comes with a warranty.",
        "gift-cards": "Gift cards are sent by email.",
    }[article]))

    run = harness(root, real_model)
    assert run.returncode == 1, run.explain()
    assert run.report["gate"] == "fail", run.explain()
    assert_no_errors(run)
    case = run.cases[f"core/{cid}"]
    assert case["change"] == "worse" and case["verdict"] == "fail", run.explain()
    assert ["accuracy", "pass", "fail"] in case["worse"], run.explain()
    assert fact in case["reasons"]["accuracy"], run.explain()
    blocking = [c for c, r in run.cases.items() if r["verdict"] == "fail"]
    assert blocking == [f"core/{cid}"], run.explain()  # the other cases replay from the cache
    assert re.search(rf"core/{re.escape(cid)}\b.*worse", run.output), run.explain()
    assert "GATE FAIL" in run.output, run.explain()


def test_an_unchanged_store_at_temperature_0_8_raises_no_false_alarm(
        real_model: LlamaServer, tmp_path: Path) -> None:
    root = make_store(tmp_path / "store", real_model, 0.8)
    recorded = harness(root, real_model, "--repeat", str(REPEAT), "--update-baseline",
                       "--accept-failing")
    assert recorded.returncode == 0 and recorded.report["updated"], recorded.explain()
    assert_no_errors(recorded)

    rerun = harness(root, real_model, "--repeat", str(REPEAT), "--cache", "off")
    assert_no_errors(rerun)
    asked = sum(c["runs"][0]["decided_by"] != "on_request" for c in rerun.cases.values())
    assert rerun.report["usage"]["requests"] == REPEAT * asked, rerun.explain()  # fresh samples
    assert all(c["samples"] == REPEAT for c in rerun.cases.values()), rerun.explain()
    # Sampling really happened: some case's ten replies are not all one text.
    replies = {cid: {r["reply"] for r in (*rerun.cases[cid]["runs"],)} |
               {recorded.cases[cid]["reply"]} for cid in rerun.cases}
    assert any(len(texts) > 1 for texts in replies.values()), replies
    worse = [cid for cid, c in rerun.cases.items() if c["change"] == "worse"]
    assert not worse, f"false alarm on {worse}. {rerun.explain()}"
    assert rerun.returncode == 0 and rerun.report["gate"] == "pass", rerun.explain()


# The judge's prompt is ~500 tokens, and under llama.cpp's JSON grammar SmolLM2 writes one long
# JSON string until judge.max_tokens runs out, every time: with the default 800 that is 13 s a
# verdict on an idle machine, 27 s under load, and three verdicts queued on the one-slot server
# made the third try time out at 60 s (retried once, then fine). 60 tokens end the same way
# (cut JSON: unscored) in a tenth of the time. Three cases: an answer, the model's
# escalation, the rule's hand-off.
JUDGED = ("returns-window", "broken-grinder", "wants-a-person")


def test_a_judge_that_answers_the_wrong_json_is_unscored(
        real_model: LlamaServer, cold_store: tuple[Path, HarnessRun], tmp_path: Path) -> None:
    source, _ = cold_store
    root = tmp_path / "store"
    shutil.copytree(source, root)  # the agent's replies come from the cache: only the judge runs
    for fixture in (root / "suites" / "core").glob("*.yaml"):
        if fixture.stem not in JUDGED:
            fixture.unlink()
    (root / "prompts" / "agent.yaml").write_text(
        yaml.safe_dump(agent_yaml(real_model, 0.0, judge=True), sort_keys=False))

    run = harness(root, real_model)
    assert_no_errors(run)  # a verdict, not INTERNALERROR (exit 3) or a usage error (4)
    ran = {cid: c for cid, c in run.cases.items() if not c["removed"]}
    assert set(ran) == {f"core/{cid}" for cid in JUDGED}, run.explain()
    assert all(c["judge_usage"] for c in ran.values()), run.explain()  # every reply was judged
    assert run.report["usage"]["judge"]["completion_tokens"] > 0, run.explain()
    verdicts = [g for c in ran.values() for g in c.get("judge", {}).values()]
    assert verdicts and set(verdicts) == {"unscored"}, f"judge: {verdicts}. {run.explain()}"
    assert all("judge unscored" in reason
               for c in ran.values() for reason in c["reasons"].values()), run.explain()
    # Unscored lowers no grade: the gate passes, and the summary says why the judge is silent.
    assert [c["change"] for c in ran.values()] == ["same"] * len(JUDGED), run.explain()
    assert run.returncode == 0 and run.report["gate"] == "pass", run.explain()
    assert any(n.startswith(f"judge: {len(verdicts)} of {len(verdicts)} verdicts unscored")
               for n in run.report["notes"]), run.report["notes"]
    assert re.search(r"note: judge: \d+ of \d+ verdicts unscored", run.output), run.explain()
