"""`harness promote`: a production conversation becomes a fixture that loads."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from exportkit import RETURNS_A, RETURNS_Q, SIGN_OFF, conversation, write_export

from harness.cli import main
from harness.store.loading import load_case, load_store

WRONG = ("ai", "You can return most items within 14 days of delivery.")


@pytest.fixture
def store(make_store):
    return make_store()


def promote(store, export, *args: str) -> int:
    return main(["promote", *args, "--store", str(store), "--from", str(export)])


def test_the_promoted_fixture_loads_and_ends_with_the_turn_to_answer(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl", conversation(
        "zd-1", "2026-11-20T10:00",
        ("customer", "Hi! Do you ship to Canada?"), ("ai", "Standard shipping takes 3-5 business"
                                                         " days."),
        RETURNS_Q, WRONG, ("customer", "ok thanks"), topic="returns"))

    assert promote(store, export, "zd-1", "--suite", "production") == 0

    path = store / "suites" / "production" / "zd-1.yaml"
    case = load_case(path, load_store(store))
    assert [(t.role, t.text) for t in case.conversation] == [
        ("customer", "Hi! Do you ship to Canada?"),
        ("agent", f"Standard shipping takes 3-5 business days.\n\n{SIGN_OFF}"),
        ("customer", RETURNS_Q[1]),
    ]
    assert case.expect.outcome == "resolve"
    assert case.expect.facts == ("30 days",) and case.expect.forbidden == ("14 days",)
    assert case.expect.articles == ("returns-policy",)
    assert case.source.kind == "production" and case.source.conversation == "zd-1"
    assert case.as_of == dt.date(2026, 11, 20) and case.topic == "returns"
    text = path.read_text()
    assert text.index("# TODO(coach):") < text.index("  facts:")


def test_a_human_taking_over_after_the_ai_makes_the_outcome_escalate(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl", conversation(
        "zd-2", "2026-11-20T10:00", ("customer", "My grinder makes a grinding noise, is that"
                                                 " normal?"),
        ("ai", "Grinders are great."), ("agent", "Hi, Sam here: that needs a repair.")))

    assert promote(store, export, "zd-2", "--suite", "production") == 0

    case = load_case(store / "suites" / "production" / "zd-2.yaml", load_store(store))
    assert case.expect.outcome == "escalate" and case.expect.articles == ()


def test_a_request_for_a_person_the_ai_ignored_is_promoted_as_escalate(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl", conversation(
        "zd-3", "2026-11-20T10:00", ("customer", "talk to a human please"), RETURNS_A))

    assert promote(store, export, "zd-3", "--suite", "core") == 0

    assert load_case(store / "suites" / "core" / "zd-3.yaml",
                     load_store(store)).expect.outcome == "escalate"


PERSONAL = ("customer", "I'm jane.doe@example.com, call (503) 555-0199. Order #KC-48213 to"
                        " 1428 Elm Street was paid with 4111 1111 1111 1111. How long to"
                        " return it?")


def test_personal_data_is_redacted_by_default(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl",
                          conversation("zd-4", "2026-11-20T10:00", PERSONAL, WRONG))

    assert promote(store, export, "zd-4", "--suite", "production") == 0

    said = yaml.safe_load((store / "suites/production/zd-4.yaml").read_text())["conversation"]
    assert said == [{"customer": "I'm [email], call [phone]. Order #[order] to [address] was"
                                 " paid with [card]. How long to return it?"}]


def test_no_redact_keeps_the_text(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl",
                          conversation("zd-5", "2026-11-20T10:00", PERSONAL, WRONG))

    assert promote(store, export, "zd-5", "--suite", "production", "--no-redact") == 0

    said = yaml.safe_load((store / "suites/production/zd-5.yaml").read_text())["conversation"]
    assert said == [{"customer": PERSONAL[1]}]


def test_an_existing_fixture_is_never_overwritten(store, tmp_path, capsys):
    export = write_export(tmp_path / "export.jsonl",
                          conversation("returns-window", "2026-11-20T10:00", RETURNS_Q, WRONG))
    existing = store / "suites" / "core" / "returns-window.yaml"
    before = existing.read_text()

    status = promote(store, export, "returns-window", "--suite", "production")

    assert status == 1
    assert f"{existing} already exists" in capsys.readouterr().err
    assert existing.read_text() == before
    assert not (store / "suites" / "production").exists()


def test_promote_from_the_history_store(store, tmp_path):
    export = write_export(tmp_path / "export.jsonl",
                          conversation("zd-6", "2026-11-20T10:00", PERSONAL, WRONG))
    assert main(["score", str(export), "--store", str(store)]) == 0

    assert main(["promote", "zd-6", "--suite", "production", "--store", str(store)]) == 0

    case = load_case(store / "suites" / "production" / "zd-6.yaml", load_store(store))
    assert "[email]" in case.conversation[0].text
    assert case.expect.forbidden == ("14 days",)


def test_no_redact_needs_the_export(store, tmp_path, capsys):
    status = main(["promote", "zd-7", "--suite", "production", "--store", str(store),
                   "--no-redact"])

    assert status == 1
    assert "--no-redact needs --from EXPORT.jsonl" in capsys.readouterr().err


def test_an_unknown_conversation_is_an_error(store, tmp_path, capsys):
    export = write_export(tmp_path / "export.jsonl",
                          conversation("zd-8", "2026-11-20T10:00", RETURNS_Q, WRONG))

    assert promote(store, export, "zd-9", "--suite", "production") == 1
    assert "no conversation with id 'zd-9'" in capsys.readouterr().err


def test_a_conversation_without_an_ai_message_cannot_be_promoted(store, tmp_path, capsys):
    export = write_export(tmp_path / "export.jsonl", conversation(
        "zd-10", "2026-11-20T10:00", RETURNS_Q, ("agent", "30 days.")))

    assert promote(store, export, "zd-10", "--suite", "production") == 1
    assert "has no AI message to promote" in capsys.readouterr().err
