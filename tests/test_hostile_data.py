"""Deeply nested exports, configs and labels; a corrupt cache or history (issue 15, items 5, 7).

A bad line is skipped with an error naming file:line; a bad file is one clear error; the
response cache and the history database are records that never decide the run.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harness.coach.calibrate import Labels
from harness.errors import HarnessError, LoadError
from harness.history import FILE_NAME, open_history, record_suite_run
from harness.interop.promptfoo_import import load_tests
from harness.providers.cache import ResponseCache
from harness.regression.baseline import Provenance
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


ROUNDS, WORKERS = 5, 8
GARBAGE = b"a restore cut short" * 300


def _open_and_put(base: Path, start: Any, number: int) -> None:
    for round_ in range(ROUNDS):
        start.wait()
        cache = ResponseCache(base / str(round_))
        cache.put(f"k{number}", "m", {"content": str(number)})
        cache.close()


def test_workers_opening_a_corrupt_cache_at_once_move_it_aside_once(tmp_path):
    """pytest -n N: every worker opens the store's cache at its first case, at the same moment.
    One moves the damaged file aside; the others must not move the new cache away after it
    (losing what was written there, and overwriting the kept copy)."""
    import multiprocessing

    for round_ in range(ROUNDS):
        (tmp_path / str(round_)).mkdir()
        (tmp_path / str(round_) / "responses.sqlite3").write_bytes(GARBAGE)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    workers = [context.Process(target=_open_and_put, args=(tmp_path, start, n))
               for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    assert [w.exitcode for w in workers] == [0] * WORKERS
    for round_ in range(ROUNDS):
        folder = tmp_path / str(round_)
        kept = [p.read_bytes() for p in folder.glob("responses.sqlite3.corrupt-*")
                if not p.name.endswith(("-wal", "-shm"))]
        assert kept == [GARBAGE], round_
        cache = ResponseCache(folder)
        assert cache.warning is None
        found = [cache.get(f"k{n}") for n in range(WORKERS)]
        assert found == [{"content": str(n)} for n in range(WORKERS)], round_


def test_an_unreadable_cache_row_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path / "c")
    with sqlite3.connect(cache.path) as db:
        db.execute("INSERT INTO responses (key, model, response) VALUES ('k', 'm', '{not json')")
    assert cache.get("k") is None


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_a_run_with_a_corrupt_cache_and_history_goes_by_the_verdict(make_store, pytester,
                                                                    monkeypatch, fake_openai,
                                                                    workers):
    """Both damaged files are moved aside, kept, and told in the summary (under xdist too,
    where the cache is opened by the workers), and the gate's verdict is the exit status."""
    from fake_openai import text

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("COLUMNS", "1000")  # the summary's lines unwrapped, paths whole
    fake_openai.respond = lambda request: text(
        "You can return most items within 30 days of delivery.\n\n- Test Roasters team")
    make_store(root=pytester.path, agent={"model": "openai/gpt-4o-mini", "retries": 0})
    assert _run(pytester, "--update-baseline").ret == 0
    root = Path(pytester.path)
    for extra in (root / ".harness-cache").glob("responses.sqlite3-*"):
        extra.unlink()  # as CI restores it: the one file, no write-ahead log beside it
    (root / ".harness-cache" / "responses.sqlite3").write_bytes(b"garbage" * 500)
    (root / FILE_NAME).write_bytes(b"not a database either" * 50)
    result = _run(pytester, "--history", *workers)
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "INTERNALERROR" not in out and "Traceback" not in out
    summary = out[out.index("harness summary"):]
    (cache_aside,) = (root / ".harness-cache").glob("responses.sqlite3.corrupt-*")
    (history_aside,) = root.glob(f"{FILE_NAME}.corrupt-*")
    assert cache_aside.read_bytes() == b"garbage" * 500
    assert history_aside.read_bytes() == b"not a database either" * 50
    assert summary.count(f"moved aside to {cache_aside.name}") == 1, summary
    assert f"moved aside to {history_aside.name}" in summary, summary
    assert "recorded 1 cases in the history" in summary, summary
    again = _run(pytester, "--history", *workers).stdout.str()  # the next run: all is well
    assert "moved aside" not in again and "recorded 1 cases in the history" in again, again


def _a_history_with_rows(root: Path) -> bytes:
    """A real history file of a few hundred suite rows, as bytes (to damage in copies)."""
    root.mkdir(exist_ok=True)
    history = open_history(None, root)
    made_with = Provenance("0", "m", "p", "k")
    for number in range(8):
        record_suite_run(history, [{"id": f"core/c{number}-{i}", "grades": {"accuracy": "pass"},
                                    "score": 1.0, "review": False} for i in range(200)],
                         made_with)
    history.engine.dispose()
    return (root / FILE_NAME).read_bytes()


def _damaged(data: bytes) -> dict[str, bytes]:
    half, page = len(data) // 2, 4096
    return {
        "text": b"not a database either" * 50,
        "header only": b"SQLite format 3\x00" + b"\xff" * 4000,
        "cut short": data[: len(data) // 3],  # a CI restore cut short
        "a page of noise": data[: 2 * page] + bytes(range(256)) * 16 + data[3 * page:],
        "zeroed tail": data[:half] + b"\0" * (len(data) - half),
    }


@pytest.mark.parametrize("kind", ["text", "header only", "cut short", "a page of noise",
                                  "zeroed tail"])
def test_a_corrupt_history_is_moved_aside_and_a_new_one_started(tmp_path, kind):
    data = _damaged(_a_history_with_rows(tmp_path / "good"))[kind]
    root = tmp_path / "store"
    root.mkdir()
    (root / FILE_NAME).write_bytes(data)
    history = open_history(None, root)
    aside = list(root.glob(f"{FILE_NAME}.corrupt-*"))
    assert [p.read_bytes() for p in aside] == [data]  # kept as it was, for a person
    assert history.warning and str(root / FILE_NAME) in history.warning
    assert aside[0].name in history.warning and "new history" in history.warning
    record_suite_run(history, [{"id": "core/x", "grades": {"accuracy": "pass"}, "score": 1.0,
                                "review": False}], Provenance("0", "m", "p", "k"))
    again = open_history(None, root)  # the next run finds the new database, as it left it
    assert again.warning is None and again.run(1) is not None
    assert len(list(root.glob(f"{FILE_NAME}.corrupt-*"))) == 1


def test_a_healthy_or_unreachable_history_is_never_moved(tmp_path):
    _a_history_with_rows(tmp_path)
    assert open_history(None, tmp_path).warning is None
    folder = tmp_path / "folder"
    (folder / FILE_NAME).mkdir(parents=True)  # not a file: an error, nothing moved
    with pytest.raises(HarnessError, match="history database"):
        open_history(None, folder)
    assert not list(folder.glob("*.corrupt-*"))


def test_harness_score_with_a_corrupt_history_scores_records_and_says_where_it_went(
        make_store, tmp_path, capsys):
    import subprocess

    from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

    from harness.cli import main

    root = make_store()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / FILE_NAME).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    export = write_export(tmp_path / "export.jsonl",
                          conversation("c1", "2026-11-20T10:00", RETURNS_Q, RETURNS_A))
    assert main(["score", str(export), "--store", str(root)]) == 0
    err = capsys.readouterr().err
    (aside,) = root.glob(f"{FILE_NAME}.corrupt-*")
    assert f"moved aside to {aside.name}" in err and "Traceback" not in err
    ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", aside.name])
    assert ignored.returncode == 0  # the kept copy holds customers' conversations: not for git
    assert open_history(None, root).count() == 1
    assert main(["score", str(export), "--store", str(root)]) == 0  # the next run works
    assert "moved aside" not in capsys.readouterr().err
