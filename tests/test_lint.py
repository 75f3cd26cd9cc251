"""lint.py and `harness kb lint`: every planted KB hygiene problem is found, nothing clean is."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from storekit import REPO, case

from harness.cli import main
from harness.kbtools.lint import Finding, claims, lint_store, same_question
from harness.store.loading import load_store, load_suites
from harness.store.schema import Article

TODAY = dt.date(2026, 11, 28)
FRESH = "2026-10-01"  # reviewed recently enough for the default 180 days


def art(topic: str, body: str, *, status: str = "active", reviewed: str | None = FRESH,
        **front: Any) -> dict[str, Any]:
    """An article spec for write_store: title from the topic, a recent review by default."""
    spec = {"title": f"{topic.title()} help", "topic": topic, "status": status, **front}
    return {**spec, "reviewed": reviewed, "body": body} if reviewed else {**spec, "body": body}


RETURNS = ("You can return most items within 30 days of delivery for a full refund.\n"
           "A returned item must be unused and in its original packaging.")
WARRANTY = ("Every grinder comes with a 2-year warranty against manufacturing defects.\n"
            "The warranty covers the motor and the burr carrier but not worn burrs.\n"
            "Send a video of the fault with your order number to make a warranty claim.")

# Every hygiene problem, each planted once.
PLANTED: dict[str, Any] = {
    "returns-policy": art("returns", RETURNS, facts={"return_window_days": 30}),
    "returns-faq": art("returns", "Refund questions: a refund reaches your card after the"
                       " parcel is checked.", facts={"return_window_days": 14}),
    "returns-2024": art("returns", "Returns within 14 days, for store credit.",
                        status="archived"),
    "shipping": art("shipping", "Orders over $49 ship free.\n"
                    "Standard shipping takes 3-5 business days."),
    "shipping-faq": art("shipping", "Do you ship for free? Free shipping on orders over $59."),
    "summer-sale-2026": art("promotions", "Coffee beans are 20% off in the summer sale.",
                            valid_from="2026-06-15", valid_until="2026-08-31"),
    "grinder-cleaning": art("products", "Clean grinder burrs with a brush every month.",
                            reviewed="2024-06-02"),
    "gift-cards": art("gift-cards", "Gift cards never expire.", reviewed=None),
    "warranty": art("warranty", WARRANTY),
    "grinder-warranty": art("warranty", WARRANTY.replace("motor", "gearbox")),
    "loyalty-gold": art("loyalty", "Gold members earn 2 points per dollar.", status="draft"),
    "wholesale": art("wholesale", "Cafes can open a trade account for office catering."),
}
PLANTED_SUITES: dict[str, dict[str, Any]] = {
    "core": {
        "returns-window": case("How many days do I have to return an item?", as_of="2026-10-15",
                               expect={"outcome": "resolve", "articles": ["returns-policy"]}),
        "free-shipping": case("Is shipping free on big orders?",
                              expect={"outcome": "resolve", "articles": ["shipping"]}),
        "gold-tier": case("How many points do gold members earn?",
                          expect={"outcome": "resolve", "articles": ["loyalty-gold"]}),
        "old-returns": case("Do I get store credit for a return?",
                            expect={"outcome": "resolve", "articles": ["returns-2024"]}),
        "deleted": case("Can I return a gift card?",
                        expect={"outcome": "resolve", "articles": ["gift-card-returns"]}),
        "broken": "conversation: [unclosed\n",
    },
    "seasonal": {
        "summer-sale": case("Are coffee beans on sale?",
                            expect={"outcome": "resolve", "articles": ["summer-sale-2026"]}),
    },
}


def lint(root: Path, today: dt.date = TODAY, max_age_days: int = 180) -> list[Finding]:
    store = load_store(root)
    cases, broken = load_suites(store)
    return lint_store(store, cases, today, max_age_days, broken)


def problems(findings: list[Finding]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(severity, rule, articles) of every error and warning."""
    return {(f.severity, f.rule, f.articles) for f in findings if f.severity != "info"}


@pytest.fixture
def planted(make_store: Callable[..., Path]) -> Path:
    return make_store(articles=PLANTED, suites=PLANTED_SUITES)


def test_every_planted_problem_is_found_and_nothing_else(planted: Path) -> None:
    assert problems(lint(planted)) == {
        ("error", "expired-active", ("summer-sale-2026",)),
        ("error", "fact-conflict", ("returns-faq", "returns-policy")),
        ("error", "fixture-article", ("loyalty-gold",)),
        ("error", "fixture-article", ("returns-2024",)),
        ("error", "fixture-article", ("gift-card-returns",)),
        ("error", "fixture-load", ()),
        ("warning", "fixture-date", ("summer-sale-2026",)),
        ("warning", "stale-review", ("grinder-cleaning",)),
        ("warning", "stale-review", ("gift-cards",)),
        ("warning", "figure-conflict", ("shipping", "shipping-faq")),
        ("warning", "near-duplicate", ("grinder-warranty", "warranty")),
    }


def test_messages_name_the_articles_and_the_fix(planted: Path) -> None:
    by_rule = {f.rule: f.message for f in lint(planted)}
    assert "shipping-faq" in by_rule["figure-conflict"]
    assert "$49" in by_rule["figure-conflict"] and "$59" in by_rule["figure-conflict"]
    assert "returns-faq says 14, returns-policy says 30" in by_rule["fact-conflict"]
    assert "status: archived" in by_rule["expired-active"]
    stale = [f.message for f in lint(planted) if f.rule == "stale-review"]
    assert any("has no `reviewed:`" in m for m in stale)
    assert any("last reviewed 2024-06-02, 909 days ago (limit 180)" in m for m in stale)
    (missing,) = [f.message for f in lint(planted) if f.articles == ("gift-card-returns",)]
    assert missing.startswith("suites/core/deleted.yaml (line 6) expects gift-card-returns")


def test_untested_and_most_retrieved_come_from_retrieval_alone(planted: Path) -> None:
    info = [f for f in lint(planted) if f.severity == "info"]
    untested = {f.articles[0] for f in info if f.rule == "untested"}
    assert "wholesale" in untested
    assert "returns-policy" not in untested and "shipping" not in untested
    assert not untested & {"summer-sale-2026", "loyalty-gold", "returns-2024"}  # not served
    (top,) = [f for f in info if f.rule == "most-retrieved"]
    assert "returns-policy" in top.articles and "wholesale" not in top.articles
    assert top.message.endswith(")") and f"{top.articles[0]} (" in top.message


def test_max_age_days_is_configurable(planted: Path) -> None:
    stale = {f.articles for f in lint(planted, max_age_days=10_000) if f.rule == "stale-review"}
    assert stale == {("gift-cards",)}  # a missing `reviewed:` is stale at any age
    stale = {f.articles for f in lint(planted, max_age_days=30) if f.rule == "stale-review"}
    assert ("returns-policy",) in stale  # reviewed 2026-10-01, 58 days before TODAY


# -- a clean store: nothing flagged ----------------------------------------------------------

CLEAN: dict[str, Any] = {
    "returns-policy": art("returns", RETURNS, facts={"return_window_days": 30}),
    "exchanges": art("returns", "Exchanges for another size are free within 30 days of"
                     " delivery.", facts={"return_window_days": 30.0}),
    "shipping": art("shipping", "Standard shipping takes 3-5 business days.\n"
                    "Orders over $49 ship free, and smaller orders pay $5.95.",
                    facts={"free_shipping_threshold_usd": 49}),
    "shipping-faq": art("shipping", "Do you ship for free? Orders over $49 ship free.\n"
                        "Express shipping takes 1-2 business days.",
                        facts={"free_shipping_threshold_usd": "49"}),
    "international": art("shipping", "Standard shipping to Canada takes 7-14 business days."),
    "warranty": art("warranty", "Kettles come with a 1-year warranty.\n"
                    "The Gooseneck Kettle Pro comes with a 2-year warranty."),
    # Seasonal content: last year's sale is archived, two sales never served together.
    "summer-sale-2025": art("promotions", "Coffee beans are 15% off in the summer sale.",
                            status="archived", valid_until="2025-08-31"),
    "black-friday-2026": art("promotions", "Grinders are 25% off in the sale this week.",
                             valid_from="2026-11-27", valid_until="2026-11-30",
                             facts={"grinder_discount_percent": 25}),
    "spring-sale-2027": art("promotions", "Grinders are 20% off in the sale this week.",
                            valid_from="2027-03-01", valid_until="2027-03-07",
                            facts={"grinder_discount_percent": 20}),
}
CLEAN_SUITES: dict[str, dict[str, Any]] = {
    "core": {
        "returns": case("How many days do I have to return an item?",
                        expect={"outcome": "resolve", "articles": ["returns-policy"]}),
        "spring": case("Are grinders on sale?", as_of="2027-03-02",
                       expect={"outcome": "resolve", "articles": ["spring-sale-2027"]}),
    },
}


def test_a_clean_store_gets_no_error_or_warning(make_store: Callable[..., Path]) -> None:
    root = make_store(articles=CLEAN, suites=CLEAN_SUITES)
    assert problems(lint(root)) == set()
    assert main(["kb", "lint", "--store", str(root), "--as-of", TODAY.isoformat()]) == 0


# -- the figure heuristic --------------------------------------------------------------------


def claim(text: str) -> Any:
    (found,) = claims(Article(id="a", title="t", topic="t", status="active", body=text))
    return found


@pytest.mark.parametrize(("first", "second", "same"), [
    ("Orders over $49 ship free.", "Free shipping on orders over $59.", True),
    ("Students get 15% off coffee gear.", "Students get 10% off coffee gear.", True),
    ("Standard shipping takes 3-5 business days.",
     "Express shipping takes 1-2 business days.", False),           # a different subject
    ("Standard shipping takes 3-5 business days.",
     "Standard shipping to Canada takes 7-14 business days.", False),  # narrowed by a name
    ("Kettles come with a 1-year warranty.",
     "The Gooseneck Kettle Pro comes with a 2-year warranty.", False),
])
def test_same_question(first: str, second: str, same: bool) -> None:
    assert same_question(claim(first), claim(second)) is same


def test_claims_keep_only_figures_with_a_unit() -> None:
    body = ("Call 1-800-555-0142 between 8 and 6.\nThe sale ends on November 30.\n"
            "Express shipping costs $12.95 and takes 1-2 business days.")
    (only,) = claims(Article(id="a", title="t", topic="t", status="active", body=body))
    assert dict(only.figures) == {"$": frozenset({(12.95,)}), "days": frozenset({(1.0, 2.0)})}


# -- the command -----------------------------------------------------------------------------


def test_exit_status_output_and_json(planted: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "lint.json"
    status = main(["kb", "lint", "--store", str(planted), "--as-of", "2026-11-28",
                   "--json", str(out)])
    assert status == 1
    lines = capsys.readouterr().out.splitlines()
    severities = [line.split()[0] for line in lines[:-1]]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert lines[0].startswith("error ") and lines[-1].startswith("6 error(s), 5 warning(s),")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data) == len(lines) - 1
    for item in data:
        assert set(item) == {"rule", "severity", "articles", "message"}
        assert item["severity"] in {"error", "warning", "info"}
        assert all(isinstance(i, str) for i in item["articles"])
    assert [item["rule"] for item in data].count("fixture-article") == 3
    assert not list(out.parent.glob("*.tmp"))


def test_warnings_alone_exit_0(make_store: Callable[..., Path]) -> None:
    root = make_store(articles={"faq": art("shipping", "Orders ship fast.", reviewed=None)},
                      suites={"core": {"q": case("Do orders ship fast?")}})
    assert main(["kb", "lint", "--store", str(root)]) == 0


def test_a_bad_option_is_a_usage_error(planted: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["kb", "lint", "--store", str(planted), "--as-of", "28/11/2026"])
    assert exit_.value.code == 2


def test_the_sample_store_has_exactly_its_planted_errors(
        capsys: pytest.CaptureFixture[str]) -> None:
    errors = {(f.rule, f.articles) for f in lint(REPO) if f.severity == "error"}
    assert errors == {("expired-active", ("summer-sale-2026",)),
                      ("fact-conflict", ("shipping-faq", "shipping-policy"))}
    (top,) = [f for f in lint(REPO) if f.rule == "most-retrieved"]
    assert len(top.articles) == 20
    assert main(["kb", "lint", "--store", str(REPO), "--as-of", TODAY.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "error fact-conflict: facts disagree on `free_shipping_threshold_usd`" in out
