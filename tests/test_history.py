"""history.py: scored conversations and suite runs kept between runs (SQLAlchemy Core)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from exportkit import RETURNS_A, RETURNS_Q, conversation, write_export

from harness.cli import main
from harness.errors import HarnessError
from harness.history import (
    FILE_NAME,
    conversations,
    open_history,
    record_suite_run,
    runs,
    suite_cases,
    upsert_statement,
)
from harness.regression.baseline import provenance_of
from harness.store.loading import load_store


@pytest.fixture
def export(tmp_path):
    return write_export(
        tmp_path / "export.jsonl",
        conversation("h-1", "2026-11-20T10:00", RETURNS_Q, RETURNS_A, customer="c-1"),
        conversation("h-2", "2026-11-20T11:00",
                     ("customer", "I'm jane@example.com, order #48213: 30 days to return?"),
                     RETURNS_A, customer="c-2"),
        conversation("h-3", "2026-11-21T10:00", RETURNS_Q,
                     ("ai", "You can return most items within 14 days."), customer="c-3"),
    )


def test_scoring_the_same_export_twice_does_not_double_count(make_store, export, tmp_path):
    store = make_store()
    url = f"sqlite:///{tmp_path / 'team.sqlite3'}"

    assert main(["score", str(export), "--store", str(store), "--history", url]) == 0
    assert main(["score", str(export), "--store", str(store), "--history", url]) == 0

    history = open_history(url, store)
    assert history.count() == 3
    with history.engine.connect() as conn:
        recorded = conn.execute(sa.select(runs)).mappings().all()
    made_with = provenance_of(load_store(store))
    assert [r["kind"] for r in recorded] == ["score", "score"]
    assert [r["count"] for r in recorded] == [3, 3]
    assert {(r["kb_hash"], r["prompt_hash"]) for r in recorded} == {(made_with.kb,
                                                                     made_with.prompt)}
    assert history.conversation("h-3")["run_id"] == recorded[-1]["id"]


def test_the_default_history_is_a_sqlite_file_in_the_store(make_store, export, capsys):
    store = make_store()

    assert main(["score", str(export), "--store", str(store)]) == 0

    assert (store / FILE_NAME).is_file()
    assert f"recorded in the history (sqlite:///{store / FILE_NAME})" in capsys.readouterr().out
    row = open_history(None, store).conversation("h-3")
    assert row["grades"]["accuracy"] == "fail" and row["accuracy"] == 0.0
    assert row["review"] is True and row["outcome"] == "resolve"


def test_no_history_records_nothing(make_store, export):
    store = make_store()

    assert main(["score", str(export), "--store", str(store), "--no-history"]) == 0

    assert not (store / FILE_NAME).exists()


def test_conversation_text_is_kept_redacted(make_store, export):
    store = make_store()
    main(["score", str(export), "--store", str(store)])

    messages = open_history(None, store).conversation("h-2")["messages"]

    assert messages[0] == {"role": "customer",
                           "text": "I'm [email], order [order]: 30 days to return?"}


def test_record_suite_run_keeps_each_case_with_its_provenance(make_store):
    store = load_store(make_store())
    history = open_history(None, store.root)
    made_with = provenance_of(store)
    results = [
        {"id": "core/returns-window", "grades": {"accuracy": "pass", "relevance": "partial",
                                                 "tone": "pass", "resolution": "pass"},
         "score": 0.875, "review": False},
        {"id": "core/express", "grades": {"accuracy": "fail"}, "score": 0.0, "review": True},
    ]

    run_id = record_suite_run(history, results, made_with, gate="fail")

    run = history.run(run_id)
    assert (run["kind"], run["count"], run["gate"], run["kb_hash"]) == ("suite", 2, "fail",
                                                                        made_with.kb)
    with history.engine.connect() as conn:
        rows = conn.execute(sa.select(suite_cases).order_by(suite_cases.c.case_id)).mappings()
        cases = {r["case_id"]: r for r in rows}
    assert cases["core/returns-window"]["relevance"] == 0.5
    assert cases["core/express"]["review"] is True and cases["core/express"]["tone"] is None


def test_record_suite_run_refuses_a_bad_result_before_writing(make_store):
    store = load_store(make_store())
    history = open_history(None, store.root)

    with pytest.raises(HarnessError, match="core/x"):
        record_suite_run(history, [{"id": "core/x", "grades": {"accuracy": "great"}}],
                         provenance_of(store))

    with history.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one() == 0


def test_an_unusable_url_is_an_error_in_the_users_words(make_store, export, capsys):
    status = main(["score", str(export), "--store", str(make_store()), "--history",
                   "nosuchdb://somewhere/db"])

    assert status == 1
    assert "--history: cannot use the database URL" in capsys.readouterr().err


def test_a_password_in_the_url_is_never_shown(tmp_path):
    with pytest.raises(HarnessError) as caught:
        open_history("postgresql+psycopg://coach:s3cret@127.0.0.1:9/history", tmp_path)

    assert "s3cret" not in str(caught.value)


def test_on_postgresql_the_upsert_is_insert_on_conflict_update():
    from sqlalchemy.dialects import postgresql

    sql = str(upsert_statement(conversations, "postgresql").compile(
        dialect=postgresql.dialect()))

    assert "INSERT INTO harness_conversations" in sql
    assert "ON CONFLICT (id) DO UPDATE SET" in sql and "score = excluded.score" in sql
