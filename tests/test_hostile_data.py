"""Deeply nested exports, configs and labels; a corrupt cache or history (issue 15, items 5, 7).

A bad line is skipped with an error naming file:line; a bad file is one clear error; the
response cache and the history database are records that never decide the run.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.coach.calibrate import Labels
from harness.errors import HarnessError, LoadError
from harness.interop.promptfoo_import import load_tests
from harness.providers.cache import ResponseCache
from harness.store.conversations import BadLine, Conversation, read_export
from harness.store.loading import load_yaml_file

DEEP_JSON = "[" * 200_000 + "]" * 200_000
DEEP_YAML = "tests:\n  - " + "[" * 5000 + "]" * 5000 + "\n"
GOOD = {"id": "c1", "started_at": "2026-01-05T10:00:00", "customer": "x", "channel": "chat",
        "messages": [{"role": "customer", "text": "Where is my order?"}]}


def test_a_deeply_nested_export_line_is_skipped_naming_its_line(tmp_path):
    export = tmp_path / "export.jsonl"
    deep = {**GOOD, "id": "c2", "messages": DEEP_JSON}
    export.write_text(json.dumps(GOOD) + "\n" + DEEP_JSON + "\n"
                      + json.dumps(deep).replace('"' + DEEP_JSON + '"', DEEP_JSON) + "\n"
                      + json.dumps({**GOOD, "id": "c3"}) + "\n", encoding="utf-8")
    read = list(read_export(export))
    assert [n for n, item in read if isinstance(item, Conversation)] == [1, 4]
    bad = [item for _, item in read if isinstance(item, BadLine)]
    assert [b.line for b in bad] == [2, 3]
    assert all("export.jsonl, line" in str(b.error) for b in bad)


@pytest.mark.parametrize(("name", "content"), [
    ("deep.json", '{"tests": ' + DEEP_JSON + "}"),
    ("deep.yaml", DEEP_YAML),
    ("bomb.yaml", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\ntests: [*b, *b, *b]\n"),
])
def test_a_hostile_promptfoo_config_is_one_clear_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HarnessError, match=name):
        load_tests(path)


@pytest.mark.parametrize("content", [
    "labels:\n  - " + "[" * 5000 + "]" * 5000 + "\n",
    "labels:\n  - &a {id: core/x, accuracy: pass}\n  - *a\n",
])
def test_a_hostile_labels_file_is_a_load_error(tmp_path, content):
    path = tmp_path / "labels.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LoadError, match=r"labels\.yaml, line \d"):
        load_yaml_file(path, Labels)


def test_duplicate_calibration_labels_are_refused(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("labels:\n  - {id: core/a, accuracy: pass}\n  - {id: core/b, tone: fail}\n"
                    "  - {id: core/a, accuracy: fail}\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"'core/a' is labelled twice \(labels.0 and labels.2\)"):
        load_yaml_file(path, Labels)


@pytest.mark.parametrize("garbage", [b"this is not a database" * 100, b"SQLite format 3\x00" +
                                     b"\xff" * 4000])
def test_a_corrupt_cache_is_moved_aside_with_a_warning(tmp_path, garbage):
    folder = tmp_path / ".harness-cache"
    folder.mkdir()
    (folder / "responses.sqlite3").write_bytes(garbage)
    cache = ResponseCache(folder)
    assert cache.warning and "moved aside" in cache.warning
    cache.put("k", "m", {"content": "hello"})
    assert cache.get("k") == {"content": "hello"}
    assert [p.read_bytes() for p in folder.glob("responses.sqlite3.corrupt-*")] == [garbage]


def test_an_unreadable_cache_row_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path / "c")
    with sqlite3.connect(cache.path) as db:
        db.execute("INSERT INTO responses (key, model, response) VALUES ('k', 'm', '{not json')")
    assert cache.get("k") is None


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", *args)


def test_a_run_with_a_corrupt_cache_and_history_goes_by_the_verdict(make_store, pytester,
                                                                    monkeypatch, fake_openai):
    from fake_openai import text

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_openai.respond = lambda request: text(
        "You can return most items within 30 days of delivery.\n\n- Test Roasters team")
    make_store(root=pytester.path, agent={"model": "openai/gpt-4o-mini", "retries": 0})
    assert _run(pytester, "--update-baseline").ret == 0
    root = Path(pytester.path)
    for extra in (root / ".harness-cache").glob("responses.sqlite3-*"):
        extra.unlink()  # as CI restores it: the one file, no write-ahead log beside it
    (root / ".harness-cache" / "responses.sqlite3").write_bytes(b"garbage" * 500)
    (root / ".harness-history.sqlite3").write_bytes(b"not a database either" * 50)
    result = _run(pytester, "--history")
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert "moved aside" in out and "not recorded in the history" in out
