"""Paths and small things (issue 15, items 7 and 11): report targets that are not files,
quotes in article titles, an interrupted `harness score`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

from harness.agent.prompt import render_system_prompt
from harness.coach.score import score_file
from harness.errors import HarnessError
from harness.history import open_history
from harness.regression.baseline import write_atomic
from harness.store.loading import load_store


def test_a_report_path_that_is_a_directory_is_a_clear_error(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(HarnessError, match="not a regular file"):
        write_atomic(tmp_path / "out", "{}")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_report_path_on_a_device_is_never_renamed_over(tmp_path):
    link = tmp_path / "report.json"
    os.symlink(os.devnull, link)
    with pytest.raises(HarnessError, match="not a regular file"):
        write_atomic(link, "{}")
    assert Path(os.devnull).is_char_device() and link.is_symlink()
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no stray .tmp


def test_a_report_path_that_is_a_directory_fails_the_pytest_run_clearly(make_store, pytester):
    make_store(root=pytester.path)
    (pytester.path / "out").mkdir()
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider",
                                           "--harness-report", "out")
    out = result.stdout.str()
    assert "not a regular file" in out and "Traceback" not in out
    assert result.ret != 0


def test_a_quote_in_an_article_title_keeps_the_prompt_well_formed(make_store):
    import re

    title = 'The "Rewards" program & <you>'
    root = make_store(articles={"rewards": {"title": title, "topic": "rewards",
                                            "status": "active", "body": "Points expire."}})
    store = load_store(root)
    text = render_system_prompt(store.template_path, tone=store.agent.tone,
                                articles=store.articles, conversation=())
    (tag,) = re.findall(r"<article\b[^>]*>", text)
    attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
    assert set(attributes) == {"id", "title", "topic"}
    import html
    assert html.unescape(attributes["title"]) == title


def test_an_interrupted_score_leaves_no_empty_run_for_the_review(make_store, tmp_path):
    store = load_store(make_store())
    export = write_export(
        tmp_path / "export.jsonl",
        conversation("a", "2026-11-17T10:00", RETURNS_Q, RETURNS_A),
        conversation("b", "2026-11-18T10:00", RETURNS_Q, RETURNS_A, customer="c-2"),
        "not json: the interrupt comes here",
        conversation("c", "2026-11-20T10:00", RETURNS_Q, RETURNS_A, customer="c-3"),
    )
    history = open_history(None, store.root)

    def stop(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_file(store, export, history=history, json_path=None, worst=5, on_bad=stop,
                   on_progress=lambda _: None)
    start, end = dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1)
    runs = list(history.runs_between(start, end))
    assert all(run["count"] > 0 for run in runs)
    recorded = history.count()
    assert recorded == sum(run["count"] for run in runs)
    cited = history.provenance_of_week(start, end)
    assert cited is None or (cited["count"] > 0 and cited["gate"] == "interrupted")


def test_a_committed_journal_cannot_move_files_outside_the_baselines(make_store, tmp_path):
    import json

    from harness.regression.baseline import PENDING, recover

    root = make_store()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    planted = root / "suites" / "core" / "planted.txt"
    planted.write_text("from the pull request", encoding="utf-8")
    (root / f".{PENDING}.abc.tmp").write_text("half a journal", encoding="utf-8")
    (root / PENDING).write_text(json.dumps({str(victim): str(planted)}), encoding="utf-8")
    recover(root)
    assert victim.read_text(encoding="utf-8") == "precious" and planted.exists()
    assert not (root / PENDING).exists() and not list(root.glob(f".{PENDING}.*.tmp"))


def test_a_symlinked_suite_folder_is_never_written_through(make_store, pytester,
                                                           tmp_path_factory):
    """Item 10: a suite folder that is a symbolic link out of the store. --update-baseline
    writes no baseline through it (nor any other suite's: all or none), and the run fails:
    a baseline asked for and not written is not a passing run."""
    make_store(root=pytester.path)
    outside = tmp_path_factory.mktemp("elsewhere") / "linked"
    outside.mkdir()
    fixture = (pytester.path / "suites" / "core" / "returns-window.yaml").read_text()
    (outside / "return-days.yaml").write_text(fixture, encoding="utf-8")
    os.symlink(outside, pytester.path / "suites" / "linked")
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider",
                                           "--update-baseline")
    out = " ".join(result.stdout.str().split())
    assert "leads outside the store" in out and "Traceback" not in out
    assert "hint: no baseline was written" in out and "GATE FAIL" in out
    assert not (outside / "baseline.json").exists()
    assert not list(pytester.path.glob("suites/*/baseline.json"))
    assert not list(outside.glob("*.tmp")) and not list(pytester.path.glob("suites/*/*.tmp"))
    assert result.ret != 0, out
