"""grading.py: every rubric rule, on Case / Run / Store values built by hand (no model, no disk)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from harness.agent.run import Retrieved, Run
from harness.grading.catalog_check import catalog_claims
from harness.grading.fixture import (
    grade_accuracy,
    grade_relevance,
    grade_resolution,
    grade_run,
    grade_tone,
)
from harness.grading.rubric import Dimension, is_review, score_of
from harness.store.loading import Store
from harness.store.schema import (
    DEFAULT_WEIGHTS,
    AgentConfig,
    Article,
    Case,
    Catalog,
    Expectation,
    Product,
    Tone,
    ToneOverride,
    Turn,
)

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "prompts" / "system.md.j2"
SIGN_OFF = "- The Kettle & Crema team"
TONE = Tone(brand="Kettle & Crema", voice="warm", max_words=30,
            banned_phrases=("as an AI", "/per (our|the) policy/"), emoji=False, sign_off=SIGN_OFF)

RETURNS = ("You can return most items within 30 days of delivery for a full refund. "
           "Opened coffee beans cannot be returned.")
ARTICLES = (
    Article(id="returns-policy", title="Returns and refunds", topic="returns", status="active",
            body=RETURNS),
    Article(id="returns-policy-2024", title="Returns (2024)", topic="returns", status="active",
            body="Unused items can be returned within 60 days of delivery."),
    Article(id="shipping", title="Shipping", topic="shipping", status="active",
            body="Standard shipping takes 3-5 business days. Express shipping costs $14.95."),
)
CATALOG = Catalog(currency="USD", products=(
    Product(sku="KTL-GN", name="Gooseneck Kettle", price=129.00),
    Product(sku="GRD-S1", name="Burr Grinder S1", price=149.00, status="discontinued"),
    Product(sku="GRD-S2", name="Burr Grinder S2", price=189.00),
))
SERVED = tuple(a.id for a in ARTICLES)


def make_store(*, tone: Tone = TONE, weights: dict[str, float] | None = None) -> Store:
    config: dict[str, Any] = {"tone": tone}
    if weights is not None:
        config["rubric"] = {"weights": weights}
    return Store(root=REPO, articles=ARTICLES, catalog=CATALOG,
                 agent=AgentConfig.model_validate(config), template_path=TEMPLATE)


STORE = make_store()


def make_case(question: str = "How many days do I have to return an item?", *,
              outcome: str = "resolve", tone: ToneOverride | None = None,
              **expect: Any) -> Case:
    return Case(id="q", suite="core", conversation=(Turn(role="customer", text=question),),
                expect=Expectation(outcome=outcome, tone=tone or ToneOverride(), **expect))


def make_run(reply: str, *, retrieved: tuple[str, ...] = ("returns-policy",),
             outcome: str | None = "resolve", why: str = "the model answered",
             error: str | None = None) -> Run:
    hits = tuple(Retrieved(article_id, 0.9, 5.0) for article_id in retrieved)
    return Run(case_id="core/q", as_of=dt.date(2026, 10, 15), model="reference/kb-grounded",
               retrieved=hits, served=SERVED, reply=reply, outcome=outcome, why=why, error=error)


def signed(text: str) -> str:
    return f"{text}\n\n{SIGN_OFF}"


def words(count: int) -> str:
    """A signed reply of exactly `count` words, the sign-off's six included."""
    return signed(" ".join(["coffee"] * (count - 6)) + ".")


def accuracy(reply: str, **expect: Any) -> Dimension:
    return grade_accuracy(make_case(**expect), make_run(signed(reply)), STORE)


# -- accuracy: facts and forbidden statements ---------------------------------------------------


def test_accuracy_passes_when_every_fact_is_stated():
    grade = accuracy("You have 30 days for a full refund.", facts=("30 days", "full refund"))
    assert grade.grade == "pass"
    assert grade.reason == "states every expected fact"


def test_accuracy_is_partial_when_some_facts_are_missing_and_names_where_they_are_stated():
    grade = accuracy("You have 30 days to send it back.", facts=("30 days", "full refund"),
                     articles=("returns-policy",))
    assert grade.grade == "partial"
    assert "missing 1 of 2 facts" in grade.reason
    assert "'full refund' (stated in article returns-policy)" in grade.reason
    assert "30 days'" not in grade.reason


def test_accuracy_fails_when_no_fact_is_stated():
    grade = accuracy("Please contact us about returns.", facts=("30 days", "full refund"))
    assert grade.grade == "fail"
    assert "missing 2 of 2 facts" in grade.reason
    assert "'30 days'" in grade.reason and "'full refund'" in grade.reason


def test_answering_a_question_the_kb_does_not_cover_is_partial_accuracy():
    """The fixture hands "a good cafe in Lisbon?" to a person and no escalation rule covers
    it: the KB does not, so whatever the reply answers, nothing served backs it."""
    case = make_case("Any good cafe in Lisbon you'd recommend?", outcome="escalate")
    run = make_run(signed("Try the Lisbon Coffee Lab in Baixa."))
    grade = grade_accuracy(case, run, STORE)
    assert grade.grade == "partial" and "nothing served backs the answer" in grade.reason
    # near misses: a hand-off claims nothing; a request for a person is a rule's hand-off
    handed = make_run("A teammate will pick this up.", outcome="escalate")
    assert grade_accuracy(case, handed, STORE).grade == "pass"
    person = make_case("Can I speak to a person? Also, how long do I have to return it?",
                       outcome="escalate")
    answered = make_run(signed("You can return most items within 30 days of delivery."))
    assert grade_accuracy(person, answered, STORE).grade == "pass"


def test_a_figure_no_served_article_backs_fails_accuracy():
    """An invented figure ("express arrives in 2 days" where no article gives express a time)
    is wrong information to the customer, not a missing detail: a careful reviewer fails it
    (every such reply of the labelled corpus is labelled fail)."""
    grade = accuracy("You have 30 days. Express shipping arrives within 2 days.",
                     facts=("30 days",))
    assert grade.grade == "fail"
    assert "states '2 days', which no article served" in grade.reason
    # near miss: a figure the KB backs, and one worked out from the KB's, pass
    assert accuracy("You have 30 days, and express shipping costs $14.95.",
                    facts=("30 days",)).grade == "pass"


def test_a_missing_fact_that_the_expected_article_no_longer_states_says_so():
    grade = accuracy("You can send it back.", facts=("14 days",), articles=("returns-policy",))
    assert grade.grade == "fail"
    assert "'14 days' (article returns-policy no longer states it)" in grade.reason


def test_a_fact_stated_in_other_words_passes_as_a_regex_and_as_a_plain_figure():
    reply = "You get a 30-day window to return it."
    assert accuracy(reply, facts=("/30[- ]days?/",)).grade == "pass"
    assert accuracy(reply, facts=("30 days",)).grade == "pass"  # the same figure, by meaning
    assert accuracy("You get a 3-day window to return it.", facts=("30 days",)).grade != "pass"


def test_plain_facts_ignore_case_and_runs_of_white_space():
    assert accuracy("A FULL\n   Refund within 30   days.", facts=("full refund", "30 days")
                    ).grade == "pass"


def test_a_forbidden_statement_fails_and_names_the_article_it_comes_from():
    grade = accuracy("Unused items can be returned within 60 days.", facts=("30 days",),
                     forbidden=("60 days",))
    assert grade.grade == "fail"
    assert "states '60 days', which the fixture forbids" in grade.reason
    assert "(it comes from article returns-policy-2024)" in grade.reason
    assert grade.excerpt == "Unused items can be returned within 60 days."


def test_a_forbidden_statement_that_no_served_article_makes_names_no_article():
    grade = accuracy("You have 90 days.", forbidden=("90 days",))
    assert grade.grade == "fail"
    assert "forbids" in grade.reason and "comes from" not in grade.reason


def test_a_forbidden_statement_is_not_blamed_on_an_article_that_was_not_served():
    run = Run(case_id="core/q", as_of=dt.date(2026, 10, 15), model="m",
              served=("returns-policy",), reply=signed("Items can be returned within 60 days."),
              outcome="resolve")
    grade = grade_accuracy(make_case(forbidden=("60 days",)), run, STORE)
    assert grade.grade == "fail"
    assert "returns-policy-2024" not in grade.reason


# -- accuracy: the catalog ----------------------------------------------------------------------


@pytest.mark.parametrize("price", ["$129", "129.00 USD", "$129.00", "USD 129", "129 dollars"])
def test_every_way_of_writing_the_catalog_price_matches_it(price):
    grade = accuracy(f"The Gooseneck Kettle costs {price}.")
    assert grade.grade == "pass", grade.reason


def test_a_wrong_price_fails_naming_both_prices():
    grade = accuracy("The Gooseneck Kettle costs $139.")
    assert grade.grade == "fail"
    assert grade.reason == ("catalog: quotes $139.00 for Gooseneck Kettle; the catalog says"
                            " $129.00")
    assert grade.excerpt == "The Gooseneck Kettle costs $139."


def test_a_price_is_checked_against_the_product_named_nearest_before_it():
    ok = accuracy("The Burr Grinder S2 costs $189 and the Gooseneck Kettle costs $129.")
    assert ok.grade == "pass", ok.reason
    swapped = accuracy("The Burr Grinder S2 costs $129 and the Gooseneck Kettle costs $159.")
    assert swapped.grade == "fail"
    assert "$159.00 for Gooseneck Kettle" in swapped.reason


def test_another_amount_in_a_sentence_naming_a_product_is_not_taken_for_its_price():
    """Only a price quoted for the product is checked: a shipping fee in the same sentence
    is not a hallucinated product price."""
    grade = accuracy("The Burr Grinder S2 costs $189, and express shipping costs $14.95.")
    assert grade.grade == "pass", grade.reason


def test_a_discontinued_product_named_to_say_it_is_discontinued_is_no_failure():
    grade = accuracy("The Burr Grinder S1 has been discontinued; the Burr Grinder S2 replaced it.")
    assert grade.grade == "pass", grade.reason


def test_a_discontinued_product_offered_as_available_fails():
    grade = accuracy("The Burr Grinder S1 is in stock and ships today.")
    assert grade.grade == "fail"
    assert "offers Burr Grinder S1, which the catalog lists as discontinued" in grade.reason


def test_a_product_like_name_that_the_catalog_lacks_fails():
    grade = accuracy("You could also try the Burr Grinder S3 for finer grinds.")
    assert grade.grade == "fail"
    assert "'Burr Grinder S3'" in grade.reason and "not in the catalog" in grade.reason


def test_the_brand_in_the_sign_off_is_not_taken_for_a_product():
    reply = signed("Kettle & Crema gift cards never expire.")
    # "Kettle" is a product word of this catalog: without the tone profile it would be flagged
    assert catalog_claims(reply, CATALOG), "control: the brand looks like a product"
    grade = grade_accuracy(make_case(), make_run(reply), STORE)
    assert grade.grade == "pass", grade.reason


def test_a_forbidden_statement_is_reported_before_a_catalog_problem():
    grade = accuracy("The Gooseneck Kettle costs $139 and can be returned within 60 days.",
                     forbidden=("60 days",))
    assert "forbids" in grade.reason


# -- relevance ----------------------------------------------------------------------------------


def test_relevance_passes_when_the_reply_draws_on_the_expected_article():
    case = make_case(articles=("returns-policy",))
    grade = grade_relevance(case, make_run(signed(RETURNS)), STORE)
    assert grade.grade == "pass"
    assert grade.reason == "answers the question"


def test_a_retrieval_miss_is_reported_as_such_not_as_an_irrelevant_reply():
    case = make_case(articles=("returns-policy",))
    run = make_run(signed(RETURNS), retrieved=("shipping",))
    grade = grade_relevance(case, run, STORE)
    assert grade.grade == "pass"
    assert grade.reason == ("answers the question (retrieval problem: article returns-policy"
                            " was not retrieved)")


def test_a_vague_reply_on_the_question_asked_is_relevant_its_accuracy_says_vague():
    case = make_case(articles=("returns-policy",))
    run = make_run(signed("Items can be sent back whenever you wish, no questions."))
    assert grade_relevance(case, run, STORE).grade == "pass"
    off_topic = make_run(signed("Express shipping costs $14.95."))
    grade = grade_relevance(case, off_topic, STORE)
    assert grade.grade == "fail"
    assert grade.reason.startswith("answers none of the 1 questions asked")


def test_one_of_two_expected_articles_not_retrieved_is_a_retrieval_note():
    case = make_case(articles=("returns-policy", "shipping"))
    run = make_run(signed(RETURNS), retrieved=("returns-policy",))
    grade = grade_relevance(case, run, STORE)
    assert grade.grade == "pass"
    assert "retrieval problem: article shipping was not retrieved" in grade.reason


def test_a_reply_in_other_words_answers_from_the_article_that_answers_the_question():
    case = make_case("What if I change my mind?", articles=("returns-policy",))
    grade = grade_relevance(case, make_run(signed(RETURNS)), STORE)
    assert grade.grade == "pass"  # drawn from the expected article: it answers, in its words
    unanchored = grade_relevance(make_case("What if I change my mind?"),
                                 make_run(signed(RETURNS)), STORE)
    assert unanchored.grade == "fail"
    # "send back" is the support vocabulary's "return": answered without the anchor too
    assert grade_relevance(make_case("Can I send something back?"),
                           make_run(signed(RETURNS)), STORE).grade == "pass"


def test_the_sign_off_does_not_count_as_answering_the_question():
    """"Kettle" of the brand in the sign-off does not answer a question about a kettle."""
    question = "Does the kettle whistle when the water boils?"
    bare = grade_relevance(make_case(question), make_run("Gift cards never expire."), STORE)
    assert bare.grade == "fail"  # control: the reply alone shares no word with the question
    grade = grade_relevance(make_case(question), make_run(signed("Gift cards never expire.")),
                            STORE)
    assert grade.grade == "fail", grade.reason
    assert grade.reason.startswith("answers none of the 1 questions asked")


def test_an_empty_reply_fails_relevance():
    assert grade_relevance(make_case(), make_run("  "), STORE).grade == "fail"


# -- tone ---------------------------------------------------------------------------------------


def tone_of(reply: str, tone: ToneOverride | None = None) -> Dimension:
    return grade_tone(make_case(tone=tone), make_run(reply), TONE)


def test_a_reply_within_the_profile_passes_tone():
    grade = tone_of(words(30))  # exactly max_words
    assert grade.grade == "pass"
    assert grade.reason == "keeps to the tone profile"


def test_a_banned_phrase_fails_tone():
    grade = tone_of(signed("As an AI, I cannot see your order."))
    assert grade.grade == "fail"
    assert grade.reason == "uses the banned phrase 'as an AI'"
    regex = tone_of(signed("Per the policy, returns take 30 days."))
    assert regex.grade == "fail" and "banned phrase" in regex.reason


def test_emoji_fail_tone_unless_the_profile_allows_them():
    grade = tone_of(signed("Happy brewing! \u2615"))
    assert grade.grade == "fail"
    assert "uses emoji (\u2615)" in grade.reason
    assert tone_of(signed("Happy brewing! \u2615"), ToneOverride(emoji=True)).grade == "pass"


def test_a_reply_a_little_over_max_words_is_partial():
    grade = tone_of(words(33))
    assert grade.grade == "partial"
    assert grade.reason == "33 words, over the limit of 30"


def test_a_reply_far_over_max_words_fails():
    grade = tone_of(words(46))
    assert grade.grade == "fail"
    assert grade.reason == "46 words, over the limit of 30"


def test_a_missing_sign_off_is_partial():
    grade = tone_of("You have 30 days to return it.")
    assert grade.grade == "partial"
    assert grade.reason == f"does not end with the sign-off {SIGN_OFF!r}"


def test_too_long_and_no_sign_off_together_fail():
    grade = tone_of(" ".join(["coffee"] * 33))
    assert grade.grade == "fail"
    assert "over the limit" in grade.reason and "sign-off" in grade.reason


def test_a_fixture_tone_override_of_max_words_wins_over_the_profile():
    assert tone_of(words(46)).grade == "fail"
    assert tone_of(words(46), ToneOverride(max_words=60)).grade == "pass"
    strict = tone_of(words(12), ToneOverride(max_words=10))
    assert strict.grade == "partial"
    assert strict.reason == "12 words, over the limit of 10"


def test_grading_tone_leaves_the_profile_unchanged():
    before = TONE.model_dump()
    tone_of(words(46), ToneOverride(max_words=60, emoji=True))
    assert TONE.model_dump() == before


# -- resolution ---------------------------------------------------------------------------------


def test_resolution_passes_when_the_outcome_is_the_expected_one():
    assert grade_resolution(make_case(), make_run("ok")).grade == "pass"
    run = make_run("handed off", outcome="escalate", why="asks for a person")
    grade = grade_resolution(make_case(outcome="escalate"), run)
    assert grade.grade == "pass"
    assert grade.reason == "escalated (asks for a person), as expected"


def test_escalating_a_case_that_should_resolve_fails_with_the_escalation_reason():
    why = "payment-dispute is always handled by a person ('chargeback')"
    grade = grade_resolution(make_case(), make_run("handed off", outcome="escalate", why=why))
    assert grade.grade == "fail"
    assert grade.reason == f"escalated but should have resolved: {why}"


def test_resolving_a_case_that_should_escalate_fails():
    grade = grade_resolution(make_case(outcome="escalate"), make_run("We refunded you."))
    assert grade.grade == "fail"
    assert grade.reason == "resolved but should have escalated to a person"


# -- score and review queue ---------------------------------------------------------------------

PERFECT = signed("You can return most items within 30 days of delivery for a full refund.")


def graded_with_wrong_fact(store: Store) -> Any:
    case = make_case(facts=("30 days",), forbidden=("60 days",), articles=("returns-policy",))
    return grade_run(case, make_run(PERFECT.replace("30 days", "60 days")), store)


def test_a_perfect_reply_scores_one_and_passes():
    case = make_case(facts=("30 days",), articles=("returns-policy",))
    graded = grade_run(case, make_run(PERFECT), STORE)
    assert {n: d.grade for n, d in graded.grades.items()} == {
        "accuracy": "pass", "relevance": "pass", "tone": "pass", "resolution": "pass"}
    assert graded.score == 1.0
    assert graded.passed and not graded.review and graded.error is None


def test_the_score_is_the_weighted_sum_with_the_default_weights():
    graded = graded_with_wrong_fact(STORE)
    assert {n: d.grade for n, d in graded.grades.items()} == {
        "accuracy": "fail", "relevance": "pass", "tone": "pass", "resolution": "pass"}
    assert graded.score == pytest.approx(0.6)  # (25 + 20 + 15) / 100
    assert score_of({"accuracy": "pass", "relevance": "partial", "tone": "fail",
                     "resolution": "pass"}, DEFAULT_WEIGHTS) == pytest.approx(0.675)


def test_the_score_uses_the_rubric_weights_of_agent_yaml():
    equal = make_store(weights={"accuracy": 1, "relevance": 1, "tone": 1, "resolution": 1})
    assert graded_with_wrong_fact(equal).score == pytest.approx(0.75)
    accuracy_only = make_store(weights={"accuracy": 1})  # the others default to 0
    assert graded_with_wrong_fact(accuracy_only).score == pytest.approx(0.0)
    no_accuracy = make_store(weights={"accuracy": 0, "relevance": 2, "tone": 1, "resolution": 1})
    assert graded_with_wrong_fact(no_accuracy).score == pytest.approx(1.0)


def test_an_accuracy_failure_alone_goes_to_the_review_queue():
    assert is_review({"accuracy": "fail", "relevance": "pass", "tone": "pass",
                      "resolution": "pass"})
    assert graded_with_wrong_fact(STORE).review


def test_two_partials_go_to_the_review_queue():
    assert is_review({"accuracy": "pass", "relevance": "partial", "tone": "partial",
                      "resolution": "pass"})
    assert is_review({"accuracy": "partial", "relevance": "pass", "tone": "pass",
                      "resolution": "fail"})


def test_one_partial_or_one_non_accuracy_failure_is_not_review():
    assert not is_review({"accuracy": "pass", "relevance": "pass", "tone": "partial",
                          "resolution": "pass"})
    assert not is_review({"accuracy": "partial", "relevance": "pass", "tone": "pass",
                          "resolution": "pass"})
    assert not is_review({"accuracy": "pass", "relevance": "pass", "tone": "pass",
                          "resolution": "fail"})


def test_a_partial_tone_alone_keeps_a_graded_case_out_of_review():
    case = make_case(facts=("30 days",), articles=("returns-policy",))
    graded = grade_run(case, make_run(PERFECT.removesuffix(SIGN_OFF).strip()), STORE)
    assert graded.grades["tone"].grade == "partial"
    assert not graded.review
    assert not graded.passed  # every dimension must pass for a target


def test_an_errored_run_is_graded_as_an_error():
    run = make_run("", outcome=None, error="ModelError: the provider answered 500")
    graded = grade_run(make_case(facts=("30 days",)), run, STORE)
    assert graded.case_id == "core/q"
    assert graded.error == "ModelError: the provider answered 500"
    assert dict(graded.grades) == {}
    assert graded.score == 0.0
    assert not graded.passed


def test_grading_does_not_change_its_inputs():
    case = make_case(facts=("30 days",), articles=("returns-policy",))
    run = make_run(PERFECT)
    case_before, run_before = case.model_dump(), repr(run)
    grade_run(case, run, STORE)
    assert case.model_dump() == case_before
    assert repr(run) == run_before
