"""Catastrophic user patterns (issue 15, item 2): a time limit at run time, found by check."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.text.matching import PatternTimeout, find_phrase, slow_pattern

EXPLOSIVE = "/^(a|a)+$/"  # exponential on the regex engine too: the time limit must stop it


def test_a_pattern_past_its_time_limit_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr("harness.text.matching.PATTERN_SECONDS", 0.2)
    with pytest.raises(PatternTimeout, match=r"backtracks catastrophically"):
        find_phrase(EXPLOSIVE, "a" * 60 + "!")


def test_slow_pattern_flags_explosive_and_passes_ordinary_ones():
    assert slow_pattern(EXPLOSIVE) is not None
    for fine in ("/30 days?/", "/refund(ed)?/", "/\\$\\d+(\\.\\d\\d)?/", "30 days"):
        assert slow_pattern(fine) is None


def test_check_flags_a_catastrophic_fact_by_file_and_key(make_store, capsys):
    root = make_store(suites={"core": {"slow": {
        "conversation": [{"customer": "How many days do I have to return an item?"}],
        "expect": {"outcome": "resolve", "facts": ["30 days", EXPLOSIVE]}}}})
    assert main(["check", "--store", str(root)]) == 1
    err = capsys.readouterr().err
    assert "slow.yaml, line" in err and "expect.facts.1" in err and "catastrophically" in err


def test_check_of_a_clean_store_still_passes(make_store, capsys):
    assert main(["check", "--store", str(make_store())]) == 0


def test_a_timed_out_fact_fails_its_case_and_the_others_run(make_store, monkeypatch,
                                                            fake_openai):
    import datetime as dt

    from fake_openai import text

    from harness.pipeline.pipeline import Pipeline
    from harness.pipeline.settings import Settings
    from harness.store.loading import load_store, load_suites

    monkeypatch.setattr("harness.text.matching.PATTERN_SECONDS", 0.1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = lambda request: text(
        "a" * 60 + "!" if "explode" in request.messages[-1]["content"] else "You have 30 days.")
    ask = "How many days do I have to return an item?"
    root = make_store(agent={"model": "openai/gpt-4o-mini", "retries": 0}, suites={"core": {
        "fine": {"conversation": [{"customer": ask}],
                 "expect": {"outcome": "resolve", "facts": ["30 days"]}},
        "slow": {"conversation": [{"customer": ask + " explode"}],
                 "expect": {"outcome": "resolve", "facts": [EXPLOSIVE]}},
    }})
    store = load_store(root)
    cases, _ = load_suites(store)
    settings = Settings(today=dt.date(2026, 1, 5), cache="off", api_base=fake_openai.base_url)
    done = {e.case.case_id: e.graded for e in Pipeline(settings).evaluate(store, cases)}
    assert done["core/fine"].error is None and done["core/fine"].grades
    assert "slow.yaml" in done["core/slow"].error
    assert "catastrophically" in done["core/slow"].error


def test_harness_score_skips_the_conversation_a_pattern_times_out_on(make_store, tmp_path,
                                                                     monkeypatch, capsys):
    """An escalation pattern of agent.yaml that passes check's probes can still explode on one
    customer's words: that conversation is skipped, naming the export's line and the pattern;
    the others are scored and recorded, and the exit status says a line was skipped."""
    from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

    from harness.history import open_history

    monkeypatch.setattr("harness.text.matching.PATTERN_SECONDS", 0.1)
    root = make_store(agent={"escalation": {"topics": {"safety": [EXPLOSIVE]},
                                            "min_confidence": 0.35}})
    export = write_export(
        tmp_path / "export.jsonl",
        conversation("c1", "2026-11-20T10:00", RETURNS_Q, RETURNS_A, customer="a"),
        conversation("c2", "2026-11-20T11:00", ("customer", "a" * 60 + "!"), RETURNS_A,
                     customer="b"),
        conversation("c3", "2026-11-20T12:00", RETURNS_Q, RETURNS_A, customer="c"))
    assert main(["score", str(export), "--store", str(root)]) == 1
    captured = capsys.readouterr()
    assert "export.jsonl, line 2" in captured.err and EXPLOSIVE in captured.err
    assert "Traceback" not in captured.err and "2 conversation(s) scored" in captured.out
    history = open_history(None, root)
    assert history.count() == 2 and history.conversation("c2") is None
