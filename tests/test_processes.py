"""run_cases(processes=N): the cases shared among N forked processes give the
same runs, in case order, with the call counters and the response cache of one process; and
run_and_grade's workers grade the cases they ran, as one process would."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI, Recorded, Reply, text
from gatekit import AGENT_YAML, ARTICLES, CATALOG, FIXTURES
from storekit import write_store

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.pipeline.pipeline import Pipeline
from harness.pipeline.runner import run_and_grade, run_cases
from harness.pipeline.settings import Settings
from harness.providers.cache import ResponseCache
from harness.providers.client import CallPolicy, ModelClient
from harness.store.loading import Store, load_store, load_suites
from harness.store.schema import Case

TODAY = dt.date(2026, 11, 27)
KEY = "sk-test-processes-0123456789"
MODEL = "openai/gpt-4o-mini"
FAST = CallPolicy(timeout_s=10, retries=0, backoff_s=0.001, max_backoff_s=0.01)
SIGN_OFF = "- The Kettle & Crema team"
# Every fixture that reaches the model (chargeback is handed over by a rule, before any call).
MODEL_FIXTURES = {stem: spec for stem, spec in FIXTURES.items() if stem != "chargeback"}


def load(root: Path) -> tuple[Store, list[Case]]:
    store = load_store(root)
    cases, problems = load_suites(store)
    assert not problems
    return store, list(reversed(cases))  # not sorted: the runs must follow this order


class PidAgent(Agent):
    """An agent that notes which process ran each case, in a file (forked children too)."""

    def __init__(self, *args: Any, log: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = log

    async def run(self, case: Case, sample: int = 0) -> Run:
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {case.case_id}\n")
        return await super().run(case, sample)


def ran_in(log: Path) -> dict[str, int]:
    pairs = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    found = {case_id: int(pid) for pid, case_id in pairs}
    assert len(found) == len(pairs), f"a case ran twice: {pairs}"
    return found


def essentials(run: Run) -> tuple[Any, ...]:
    return (run.case_id, run.sample, run.as_of, run.model, tuple(r.id for r in run.retrieved),
            run.served, run.reply, run.outcome, run.decided_by, run.why, run.error)


# -- the offline reference model ---------------------------------------------------------------


@pytest.fixture
def reference_store(tmp_path) -> tuple[Store, list[Case]]:
    return load(write_store(tmp_path / "store", articles=ARTICLES, catalog=CATALOG,
                            agent=AGENT_YAML, suites={"core": FIXTURES}))


def test_two_processes_give_the_runs_of_one_in_case_order(reference_store, tmp_path):
    store, cases = reference_store
    order = [case.case_id for case in cases]
    one_agent = PidAgent(store, today=TODAY, log=tmp_path / "one.log")
    two_agent = PidAgent(store, today=TODAY, log=tmp_path / "two.log")
    one = run_cases(one_agent, cases, processes=1)
    two = run_cases(two_agent, cases, processes=2)

    assert list(one) == order
    assert list(two) == order
    assert all(len(runs) == 1 for runs in two.values())
    assert {cid: essentials(runs[0]) for cid, runs in two.items()} == {
        cid: essentials(runs[0]) for cid, runs in one.items()}
    assert {cid: runs[0].outcome for cid, runs in two.items()} == {
        **dict.fromkeys(order, "resolve"), "core/chargeback": "escalate"}
    assert "30 days" in two["core/returns-window"][0].reply
    assert all(runs[0].error is None for runs in two.values())

    # processes=1 ran here; processes=2 ran every case once, in two forked processes
    assert set(ran_in(tmp_path / "one.log").values()) == {os.getpid()}
    forked = ran_in(tmp_path / "two.log")
    assert sorted(forked) == sorted(order)
    assert os.getpid() not in forked.values()
    assert len(set(forked.values())) == 2


def test_the_counters_of_forked_processes_add_up_to_those_of_one(reference_store):
    store, cases = reference_store
    one = Agent(store, today=TODAY)
    two = Agent(store, today=TODAY)
    run_cases(one, cases, processes=1)
    run_cases(two, cases, processes=2)
    assert one.client.stats.requests == len(MODEL_FIXTURES)  # the reference model is not cached
    assert (two.client.stats.requests, two.client.stats.cache_hits, two.client.stats.retries) == (
        len(MODEL_FIXTURES), 0, 0)


def test_forked_workers_grade_every_sample_of_the_cases_they_ran(reference_store):
    store, cases = reference_store

    def grade(case: Case, runs: tuple[Run, ...]) -> tuple[int, str, tuple[int, ...]]:
        return os.getpid(), case.case_id, tuple(run.sample for run in runs)

    done = run_and_grade(Agent(store, today=TODAY), cases, grade, processes=2, repeat=3)
    assert list(done) == [case.case_id for case in cases]
    for case_id, (runs, (pid, graded_id, samples)) in done.items():
        assert graded_id == case_id and samples == (0, 1, 2)  # a case's samples stay together
        assert [run.sample for run in runs] == [0, 1, 2]
        assert pid != os.getpid()  # graded in the worker that ran it, not here
    assert len({pid for _, (pid, _, _) in done.values()}) == 2

    alone = run_and_grade(Agent(store, today=TODAY), cases, grade, processes=1, repeat=3)
    assert {pid for _, (pid, _, _) in alone.values()} == {os.getpid()}
    assert {cid: g[1:] for cid, (_, g) in alone.items()} == {
        cid: g[1:] for cid, (_, g) in done.items()}


@pytest.mark.parametrize("repeat", [1, 2])
def test_grading_in_forked_workers_gives_the_grades_of_one_process(reference_store, repeat):
    store, cases = reference_store

    def evaluate(processes: int) -> dict[str, Any]:
        settings = Settings(today=TODAY, cache="off", processes=processes, repeat=repeat)
        return {done.case.case_id: (done.graded, [essentials(r) for r in done.runs])
                for done in Pipeline(settings).evaluate(store, cases)}

    one, two = evaluate(1), evaluate(2)
    assert list(two) == list(one) == [case.case_id for case in cases]
    assert two == one
    assert any(graded.grades for graded, _ in one.values())


# -- a provider (the fake OpenAI server) ---------------------------------------------------------


def echo(request: Recorded) -> Reply:
    """A reply that quotes the customer's question, so each run shows which case it answered."""
    return text(f"You asked: {request.messages[-1]['content']} {SIGN_OFF}")


@pytest.fixture
def provider(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = echo
    return fake_openai


@pytest.fixture
def provider_store(tmp_path) -> tuple[Store, list[Case]]:
    agent = {**yaml.safe_load(AGENT_YAML), "model": MODEL}
    return load(write_store(tmp_path / "store", articles=ARTICLES, catalog=CATALOG,
                            agent=agent, suites={"core": MODEL_FIXTURES}))


def agent_for(store: Store, api: FakeOpenAI, cache: ResponseCache | None = None) -> Agent:
    client = ModelClient(cache=cache, mode="on" if cache is not None else "off", policy=FAST,
                         api_base=api.base_url)
    return Agent(store, today=TODAY, client=client)


def question(case: Case) -> str:
    return case.conversation[-1].text


def test_forked_processes_count_every_provider_request(provider_store, provider):
    store, cases = provider_store
    agent = agent_for(store, provider)
    runs = run_cases(agent, cases, processes=2)
    assert [r[0].error for r in runs.values()] == [None] * len(cases)
    assert list(runs) == [case.case_id for case in cases]
    for case in cases:  # each case got the reply to its own question
        assert runs[case.case_id][0].reply == f"You asked: {question(case)} {SIGN_OFF}"
    assert provider.calls == len(cases) == len(MODEL_FIXTURES)
    stats = agent.client.stats
    assert (stats.requests, stats.cache_hits, stats.retries) == (provider.calls, 0, 0)
    assert sum(r[0].prompt_tokens for r in runs.values()) == 11 * len(cases)  # fake's usage

    alone = run_cases(agent_for(store, provider), cases, processes=1)
    assert {cid: essentials(r[0]) for cid, r in alone.items()} == {
        cid: essentials(r[0]) for cid, r in runs.items()}


def test_the_response_cache_works_from_forked_processes(provider_store, provider, tmp_path):
    store, cases = provider_store
    folder = tmp_path / "cache"
    first = run_cases(agent_for(store, provider, ResponseCache(folder)), cases, processes=2)
    assert provider.calls == len(cases)
    assert not any(r[0].cached for r in first.values())
    assert len(ResponseCache(folder)) == len(cases)  # the children's writes reached the disk

    again = agent_for(store, provider, ResponseCache(folder))
    second = run_cases(again, cases, processes=2)
    assert provider.calls == len(cases)  # zero requests the second time
    assert all(r[0].cached for r in second.values())
    assert {cid: r[0].reply for cid, r in second.items()} == {
        cid: r[0].reply for cid, r in first.items()}
    stats = again.client.stats
    assert (stats.requests, stats.cache_hits) == (0, len(cases))


def test_the_counters_stay_right_over_two_forked_runs_on_one_client(
    provider_store, provider, tmp_path,
):
    """A client that already counted calls forks children that start from its counts: the
    parent must add what each child did, not what the child's copy of the counters says."""
    store, cases = provider_store
    agent = agent_for(store, provider, ResponseCache(tmp_path / "cache"))
    run_cases(agent, cases, processes=2)
    assert agent.client.stats.requests == provider.calls == len(cases)
    run_cases(agent, cases, processes=2)  # every reply from the cache
    stats = agent.client.stats
    assert provider.calls == len(cases)
    assert (stats.requests, stats.cache_hits) == (provider.calls, len(cases))


def test_identical_system_prompts_are_one_string_and_values_are_kept():
    """share_prompts keeps every run's value and holds each distinct prompt once."""
    import datetime as dt

    from harness.agent.run import Run
    from harness.pipeline.runner import share_prompts

    def run(n: int, prompt: str) -> Run:
        system = {"role": "system", "content": "".join(prompt)}  # a fresh string each time
        return Run(f"core/q{n}", dt.date(2026, 10, 15), "m",
                   messages=(system, {"role": "user", "content": f"question {n}"}))

    runs = [run(0, "KB: returns"), run(1, "KB: returns"), run(2, "KB: shipping"), Run(
        "core/q3", dt.date(2026, 10, 15), "m")]
    shared = share_prompts(runs)
    assert [r.messages for r in shared] == [r.messages for r in runs]
    assert shared[0].messages[0]["content"] is shared[1].messages[0]["content"]
    assert shared[2].messages[0]["content"] == "KB: shipping"
    assert shared[3].messages == ()


def test_identical_served_article_lists_are_one_tuple():
    """share_prompts holds each distinct list of served articles once, values unchanged."""
    import datetime as dt

    from harness.agent.run import Run
    from harness.pipeline.runner import share_prompts

    def run(n: int, *served: str) -> Run:
        return Run(f"core/q{n}", dt.date(2026, 10, 15), "m", served=tuple(list(served)))

    runs = [run(0, "returns", "shipping"), run(1, "returns", "shipping"), run(2, "returns")]
    shared = share_prompts(runs)
    assert [r.served for r in shared] == [r.served for r in runs]
    assert runs[0].served is not runs[1].served
    assert shared[0].served is shared[1].served
    assert shared[2].served == ("returns",)


def test_no_litellm_logging_task_is_mid_run_when_workers_are_forked():
    """A fork taken while litellm's logging thread holds a lock leaves a forked worker
    waiting on it for ever: the parent waits for the pool's pending tasks before forking."""
    import threading

    from harness.providers.client import litellm_module, quiesce_background_logging

    litellm_module()
    import litellm.utils

    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def busy() -> None:  # a logging task still running at the moment of the fork
        started.set()
        release.wait(5)
        finished.set()

    litellm.utils.executor.submit(busy)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    quiesce_background_logging()
    assert finished.is_set()  # it returned only once the task was done
    quiesce_background_logging()  # and with nothing pending it returns at once
