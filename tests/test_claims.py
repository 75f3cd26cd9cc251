"""The claim checker (grading/claims.py), facts by meaning (text/meaning.py), questions
(text/questions.py) and the rules built on them in fixture grading and production scoring.
Each rule has its near miss beside it: the case that must NOT trigger it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from test_grading import CATALOG, STORE, make_case, make_run

from harness.agent.run import ToolUse
from harness.coach.production import ProductionGrader
from harness.grading.claims import ClaimBase
from harness.grading.fixture import (
    claimed_action,
    grade_accuracy,
    grade_relevance,
    grade_resolution,
    grade_tone,
)
from harness.store.conversations import Conversation
from harness.store.loading import Store
from harness.store.schema import AgentConfig, Article, Catalog, Product, Tone
from harness.store.tools import ToolSpec
from harness.text.concepts import expansion
from harness.text.figures import figures_in
from harness.text.meaning import stated, to_digits
from harness.text.questions import answers, questions

DAY = dt.date(2026, 11, 20)


def article(id: str, body: str, *, reviewed: str | None = None, status: str = "active",
            title: str | None = None) -> Article:
    return Article(id=id, title=title or id.replace("-", " "), topic="policy", status=status,
                   body=body, reviewed=dt.date.fromisoformat(reviewed) if reviewed else None)


KB = (
    article("returns", "Unused items can be returned within 30 days of delivery. Opened small"
            " appliances can be returned within 15 days of delivery.", reviewed="2026-09-01"),
    article("payments", "Orders over $150 can be split into 4 interest-free payments."),
    article("points", "Every 100 points are worth $5 off your next order."),
    article("brewing", "Brew pour-over coffee with water at 200 F (93 C)."),
    article("promo", "Students save 15% with the code STUDENT15 at checkout."),
    article("shipping-policy", "We offer free standard shipping on every US order over $49.",
            reviewed="2026-09-02"),
    article("shipping-faq", "Do you offer free shipping? Yes, orders over $59 ship free.",
            reviewed="2026-03-09"),
    article("old-returns", "Unused items can be returned within 14 days of delivery.",
            status="archived"),
)
BASE = ClaimBase(KB, Catalog(currency="USD", products=(
    Product(sku="KT-1", name="Pine Kettle 1.7L", price=99.0, status="discontinued"),
    Product(sku="GR-3", name="Burr Grinder S3", price=279.0),
)))


def verdicts(reply: str, customer: str = "") -> list[tuple[str, str]]:
    return [(c.figure.shown(), c.verdict)
            for c in BASE.check_for(DAY).claims(reply, customer_said=customer)]


# -- claims against the KB ---------------------------------------------------------------------

def test_a_wrong_count_beside_the_right_one_is_contradicted():
    found = verdicts("You can split it into 4 interest-free payments, or 3 payments if you"
                     " prefer, on orders over $150.")
    assert ("4 interest-free payments", "supported") in found
    assert ("3 payments", "contradicted") in found


def test_one_shared_word_does_not_make_a_sentence_about_another_thing_the_authority():
    wrong = verdicts("Opened small appliances can be returned within 30 days of delivery.")
    assert wrong == [("30 days", "contradicted")]  # the 15-day sentence is the same subject
    right = verdicts("Unused items can be returned within 30 days of delivery.")
    assert right == [("30 days", "supported")]  # near miss: the 30-day sentence is


def test_a_wrong_temperature_is_contradicted_and_the_right_one_in_words_supported():
    assert verdicts("Brew pour-over coffee with water at 205\u00b0F.") == [
        ("205\u00b0F", "contradicted")]
    assert verdicts("Brew pour-over with water at two hundred degrees F.") == [
        ("200 degrees F", "supported")]


def test_an_invented_code_is_contradicted_and_the_real_one_supported():
    assert verdicts("Students save 15% with the code STUDENT20.")[-1] == (
        "STUDENT20", "contradicted")
    assert verdicts("Students save 15% with the code STUDENT15.") == [
        ("15%", "supported"), ("STUDENT15", "supported")]


def test_a_figure_only_an_unserved_article_states_says_so():
    claims = BASE.check_for(DAY).claims("Unused items can be returned within 14 days of"
                                        " delivery.")
    assert claims[0].verdict == "contradicted"
    assert "old-returns, which is archived" in claims[0].reason


def test_a_figure_nothing_backs_is_unsupported_and_a_worked_out_one_is_not():
    assert verdicts("Express shipping arrives within 2 days.") == [("2 days", "unsupported")]
    # $42 in the basket, free over $49: "$7 more" is worked out, not invented
    assert verdicts("Add $7 more for free standard shipping on your US order over $49.",
                    customer="My basket is $42.") == [("$7", "supported"), ("$49", "supported")]


def test_a_figure_the_customer_stated_or_the_reply_denies_is_not_a_claim():
    assert verdicts("You can return it within 30 days, not the 14 days of our old policy.") == [
        ("30 days", "supported")]
    assert verdicts("Since it arrived 12 days ago, you are inside the window.",
                    customer="It arrived 12 days ago.") == []


def test_the_customers_bare_number_given_back_with_its_unit_is_theirs():
    steps = ClaimBase((article("points", "Points are redeemed in steps of 100 points: every"
                               " 100 points gives a $5 reward."),), Catalog(currency="USD"))

    def said(customer: str) -> list[tuple[str, str]]:
        return [(c.figure.shown(), c.verdict) for c in steps.check_for(DAY).claims(
            "Your 740 points give a $35 reward.", customer_said=customer)]

    # "I have 740" and "your 740 points": the customer's figure, not a points rule
    assert ("740 points", "contradicted") not in said("What are my points worth? I have 740")
    # a near miss: a number the customer did not write is still checked
    assert ("740 points", "contradicted") in said("What are my points worth? I have 640")
    assert ("740 points", "contradicted") in said("What are my 740g of beans worth?")


def test_two_served_articles_that_disagree_are_a_conflict_the_newer_review_decides():
    newer = BASE.check_for(DAY).claims("Orders over $49 ship free.")
    older = BASE.check_for(DAY).claims("Orders over $59 ship free.")
    assert newer[0].verdict == "supported" and "KB conflict" in newer[0].conflict
    assert older[0].verdict == "contradicted" and "reviewed later" in older[0].reason
    unrelated = BASE.check_for(DAY).claims("Every 100 points are worth $5 off.")
    assert unrelated[0].conflict == ""  # near miss: no other article on that subject


def _check(*articles: Article):
    return ClaimBase(articles, Catalog(currency="GBP", products=())).check_for(DAY)


TABLES = (
    article("shipping-uk", "## Delivery options\n\n| Option | Cost | Delivery time |\n"
            "| --- | --- | --- |\n| Standard | \u00a33.95, free on orders over \u00a350 |"
            " 2-4 working days |\n| Next-day | \u00a36.50 | next working day |\n\n"
            "Standard delivery to the Highlands still costs the same, but please allow 3-5"
            " working days."),
    article("shipping-abroad", "| Destination | Cost | Free over | Delivery time |\n"
            "| --- | --- | --- | --- |\n| EU | \u00a39.95 | \u00a3120 | 4-7 working days |"),
    article("points", "| Points | Off your order |\n| --- | --- |\n| 100 | \u00a35 |"),
)


def test_a_table_row_is_read_with_its_header_and_its_cells_apart():
    check = _check(*TABLES)
    said = [(c.figure.shown(), c.verdict) for c in check.claims(
        "Standard delivery is \u00a33.95 and takes 2-4 working days.")]
    assert said == [("\u00a33.95", "supported"), ("2-4 working days", "supported")]
    # near miss: the row's other figure beside the right price is still contradicted
    wrong = check.claims("Standard delivery is \u00a33.95 and takes 3-7 working days.")
    assert [c.verdict for c in wrong] == ["supported", "contradicted"]
    assert "2-4 working days" in wrong[1].reason
    # "100 | \u00a35" is 100 points and \u00a35, not "100 \u00a3"
    blocks = check.claims("Points go in blocks of 100 points, and each block is \u00a35 off.")
    assert [c.verdict for c in blocks] == ["supported", "supported"]
    dearer = check.claims("Points go in blocks of 100 points, and each block is \u00a38 off.")
    assert [c.verdict for c in dearer] == ["supported", "contradicted"]


def test_two_tables_sharing_a_header_are_not_a_kb_conflict():
    claims = _check(*TABLES).claims("Delivery to the EU costs \u00a39.95, free over \u00a3120.")
    assert [c.verdict for c in claims] == ["supported", "supported"]
    assert all(c.conflict == "" for c in claims)


def test_a_statement_whose_figure_the_sentence_states_beside_is_no_contradiction():
    care = _check(article("spray", "Let it dry for 10 minutes and add a second coat."
                          " Leave them for 24 hours before wearing."))
    steps = care.claims("Do a light coat, wait 10 minutes, add a second coat, then leave them"
                        " 24 hours before wearing.")
    assert [(c.figure.shown(), c.verdict) for c in steps] == [
        ("10 minutes", "supported"), ("24 hours", "supported")]
    # near miss: the step's own figure changed is contradicted by its own sentence
    wrong = care.claims("Let it dry for 30 minutes and add a second coat.")
    assert [c.verdict for c in wrong] == ["contradicted"]


def test_an_action_or_refund_claimed_with_no_tool_run_fails_accuracy():
    case = make_case("I was charged twice. Can you hold a pair for me too?")
    for reply in ("I've put a pair aside in a 7 for you until Friday.",
                  "I've flagged the charge and a refund is on its way to your account."):
        graded = grade_accuracy(case, make_run(reply), STORE)
        assert graded.grade == "fail" and "no tool" in graded.reason, reply
    graded = grade_accuracy(case, make_run("We've received your return. After that, we have "
                                           "issued the refund."), STORE)
    assert "no tool" in graded.reason  # a claim in the next clause is still a claim
    handoff = make_run("A refund has been issued; a teammate will confirm.", outcome="escalate")
    assert grade_accuracy(case, handoff, STORE).grade == "fail"  # a hand-off promising it too
    # near misses: the policy's own wording, a refusal, and an action a tool did carry out
    for reply in ("Your refund is processed within 5 business days of the return arriving.",
                  "We can't put items aside, sorry.",
                  "After we have issued the refund, your bank takes 3-5 days to show it.",
                  "Once we've issued your refund you will get an email."):
        assert "no tool" not in grade_accuracy(case, make_run(reply), STORE).reason, reply
    refunds = ToolSpec(name="issue_refund", description="Refund an order.", kind="action")
    agent = STORE.agent.model_copy(update={"tools": (refunds,)})
    done = replace(make_run("I've refunded the duplicate charge."), tools=(
        ToolUse("issue_refund", "{}", '{"status": "refunded"}'),))
    assert claimed_action(done.reply, done, agent) is None
    assert claimed_action(done.reply, make_run(done.reply), agent) == "I've refunded"


def test_a_time_of_day_in_another_time_zone_than_the_kb_is_contradicted():
    check = _check(article("sale", "The sale ends on November 30 at 11:59 pm Eastern Time."))
    wrong = check.claims("The sale ends tonight, November 30, at 11:59 pm Pacific Time.")
    assert [c.verdict for c in wrong] == ["supported", "contradicted"]
    assert "Eastern" in wrong[1].reason
    # near misses: the same zone in short, and a time with no zone at all
    for reply in ("The sale ends November 30 at 11:59 pm ET.", "It ends at 11:59 pm tonight."):
        assert all(c.verdict == "supported" for c in check.claims(reply)), reply


def test_a_count_in_another_noun_of_the_same_meaning_is_checked():
    found = verdicts("Orders over $150 can be split into 4 interest-free payments, so yours"
                     " could be paid in 3 installments.")
    assert ("3 installments", "contradicted") in found
    assert verdicts("Orders over $150 can be paid in 4 installments.") == [
        ("$150", "supported"), ("4 installments", "supported")]


def test_a_percentage_given_for_one_kind_of_product_claimed_for_another_is_contradicted():
    sale = ClaimBase((article("sale", "Our Black Friday sale takes 25% off all grinders."),),
                     BASE.catalog).check_for(DAY)
    for reply in ("Our Black Friday sale takes 25% off kettles!",
                  "The Pine Kettle 1.7L is 25% off for Black Friday."):
        claims = sale.claims(reply)
        assert [c.verdict for c in claims] == ["contradicted"], reply
        assert "for grinders only" in claims[0].reason
    # near misses: the kind the KB names, one of its products, and no kind named at all
    for reply in ("Grinders are 25% off.", "The Burr Grinder S3 is 25% off this week.",
                  "The sale takes 25% off."):
        assert [c.verdict for c in sale.claims(reply)] == ["supported"], reply


def test_a_claim_is_read_in_the_context_of_the_sentence_before_and_the_question():
    check = _check(article("account", "We email a password reset link that works for 1 hour."),
                   article("brew", "Heat the water to 200 F (93 C) for a pour-over."))
    reply = "Tap Forgot password and we'll email you a reset link. It stays valid for 24 hours."
    found = check.claims(reply)
    assert [c.verdict for c in found] == ["contradicted"] and "1 hour" in found[0].reason
    asked = "What temperature for pour-over?"
    hot = check.claims("Aim for water at 205\u00b0F, just off the boil.", asked=asked)
    assert [c.verdict for c in hot] == ["contradicted"]
    # near misses: without the question nothing aligns, and context never makes a figure
    # "supported" nor turns an uncounted count into a claim
    assert [c.verdict for c in check.claims("Aim for water at 205\u00b0F, off the boil.")] == [
        "unsupported"]
    assert check.claims("Keep it for 3 cups.", asked=asked) == []


def test_a_contradiction_in_its_own_sentence_is_undone_by_the_sentence_before():
    check = _check(article("parcels", "We'll open an investigation with the carrier, which"
                           " takes up to 5 working days."),
                   article("faulty", "We'll come back to you within 3 working days with a"
                           " replacement or a full refund."))
    reply = ("Send me your order number and we'll open an investigation with the carrier. It"
             " takes up to 5 working days, then we'll send a replacement or a full refund.")
    assert [c.verdict for c in check.claims(reply)] == ["supported"]
    # near miss: the sentence before is about the same thing, but the figure is wrong
    wrong = reply.replace("up to 5", "up to 9")
    assert [c.verdict for c in check.claims(wrong)] == ["contradicted"]


def test_counts_of_a_two_word_noun_and_the_customers_own_count_in_other_words():
    check = _check(article("points", "Members earn 1 point per pound spent. Every 100 rewards"
                           " points are worth \u00a35 off."))
    said = "I have 300 rewards points. How much are they worth?"
    found = check.claims("Your 300 points can all go on one order (every 100 points ="
                         " \u00a35).", customer_said=said, asked=said)
    assert [(c.figure.shown(), c.verdict) for c in found] == [
        ("100 points", "supported"), ("\u00a35", "supported")]
    # near miss: a count the customer did not state, in a rate the KB gives otherwise
    odd = check.claims("Every 200 points are worth \u00a35 off.", customer_said=said)
    assert ("200 points", "contradicted") in [(c.figure.shown(), c.verdict) for c in odd]


def test_a_reply_that_applies_what_the_kb_rules_out_is_contradicted():
    check = _check(article("warranty", "Worn grinder burrs are not covered by the warranty."
                           " The warranty does not cover damage from drops or commercial use."),
                   article("sale", "The summer sale cannot be combined with the student"
                           " discount."))
    for reply in ("Your grinder is under its warranty, so we'll cover the burrs for free.",
                  "You can use the summer sale on top of your student discount."):
        found = check.contradictions(reply)
        assert len(found) == 1 and "rules out" in found[0].reason, reply
    # near misses: the exclusion repeated, what it does cover, one word of an excluded thing
    for reply in ("Worn burrs aren't covered by the warranty, sorry.",
                  "The warranty covers a grinder that stops turning on.",
                  "Our warranty covers parts that fail in normal home use.",
                  "The summer sale and the student discount can't be stacked."):
        assert check.contradictions(reply) == [], reply
    # near misses: a product name is not the excluded thing; a condition is not a rule
    named = ClaimBase((article("warranty", "Worn grinder burrs are not covered by the"
                               " warranty."),), BASE.catalog).check_for(DAY)
    assert named.contradictions("The Burr Grinder S3 is covered by the warranty.") == []
    gift = _check(article("gift", "If a gift card does not cover the whole order, pay the rest"
                          " with a card. Gift cards can't be used for subscriptions."))
    assert gift.contradictions("Your gift card covers the whole order.") == []
    # "use" alone is any use: only stacking words apply a "can't be used for" rule
    assert gift.contradictions("Use your gift card at checkout, and pause your subscriptions"
                               " from your account.") == []
    assert len(gift.contradictions("Your gift card stacks with your subscriptions.")) == 1


def test_a_figure_of_the_excluding_article_names_the_thing_ruled_out():
    check = _check(article("summer", "Coffee beans are 20% off in the summer sale. The summer"
                           " sale does not apply to subscriptions."),
                   article("subs", "Subscriptions save 10% on every delivery."))
    reply = "Subscribe and you'll get the sale's 20% on top of the 10% subscription discount."
    assert len(check.contradictions(reply, check.claims(reply))) == 1
    # near miss: the subscription's own 10% is not the summer sale's figure
    own = "Subscribe and you get the 10% subscription discount on top of free delivery."
    assert check.contradictions(own, check.claims(own)) == []


def test_shipping_called_free_for_an_order_under_every_threshold_is_contradicted():
    check = ClaimBase((article("shipping", "We offer free standard shipping on every US order"
                               " over $150."),
                       article("wholesale", "Wholesale orders ship free within the US.")),
                      BASE.catalog).check_for(DAY)
    asked = "How long does shipping take? I'm ordering the Pine Kettle 1.7L."
    wrong = check.contradictions("It takes 3-5 business days, and it's free for your kettle!",
                                 asked=asked)
    assert len(wrong) == 1 and "free over 150.00" in wrong[0].reason
    # near misses: an order over the threshold, the threshold stated, another free shipping
    assert check.contradictions("Shipping is free for your grinder.",
                                asked="I'm ordering the Burr Grinder S3.") == []
    assert check.contradictions("Shipping is free on orders over $150.", asked=asked) == []
    assert check.contradictions("Wholesale orders ship free within the US.", asked=asked) == []


def test_a_step_the_kb_says_is_not_needed_asked_for_anyway_is_contradicted():
    check = _check(article("recall", "Send a photo of the batch code. You don't need to send"
                           " the pen back."),
                   article("parcels", "You don't need to contact the courier yourself."))
    asked = "My whitener pen is part of the recall, what do I do?"
    for reply in ("Stop using it and post it back to us with your order number.",
                  "Please contact the courier yourself to report it."):
        found = check.contradictions(reply, asked=asked)
        assert len(found) == 1 and "not needed" in found[0].reason, reply
    # near misses: the step denied, asked for only in a condition, the same verb for
    # something else, and a verb with no object
    for reply in ("No need to send the pen back, just the photo.",
                  "If we ask, send the pen back in its box.",
                  "Send us a photo of the batch code.",
                  "Enter your order number and email."):
        assert check.contradictions(reply, asked=asked) == [], reply


def test_what_a_needless_step_is_done_for_is_not_part_of_the_step():
    """"You won't need to send it again for every order": the step is sending the prescription
    again; a reply naming an order in another step ("return it unopened") does not take it."""
    check = _check(article("vet", "A prescription stays on file for 12 months, so you won't"
                           " need to send it again for every order in that time."),
                   article("orders", "If the wrong food arrived, return it unopened within"
                           " 30 days of delivery."))
    asked = "I ordered the wrong food, can I still change my order?"
    reply = "You can cancel the whole order. Return it unopened within 30 days of delivery."
    assert check.contradictions(reply, asked=asked) == []
    # near miss: the step itself, asked for anyway
    found = check.contradictions("Please send your prescription again with every order.",
                                 asked="Do I need to send my dog's prescription?")
    assert len(found) == 1 and "not needed" in found[0].reason


# -- facts by meaning --------------------------------------------------------------------------

def test_facts_match_numbers_in_words_hyphenated_units_ranges_and_unit_changes():
    assert stated("30 days", "You have thirty days to send it back.")
    assert stated("30 days", "You get a 30-day window.")
    assert stated("3-5 business days", "It takes three to five business days.")
    assert stated("5-7 business days", "Expect 5\u20137 business days.")
    assert stated("2 years", "It is covered for 24 months.")
    assert stated("10 kg", "Wholesale starts at ten kilograms a month.")
    assert stated("December 21", "The express cutoff is tomorrow, the 21st.")
    assert stated("January 31", "Returns are open until the end of January.")
    assert not stated("December 21", "The cutoff is the 18th.")  # near miss: another day
    assert not stated("30 days", "You have 3 days.")  # near miss: another figure
    assert not stated("3-5 business days", "It takes 5 business days.")  # an end is not a range


def test_a_date_in_digits_reads_day_first_or_month_first_as_the_shop_writes_dates():
    assert stated("17 December", "Standard by Thu 17/12, next-day by Tue 22/12.",
                  currency="GBP")
    assert stated("December 18", "Order by 12/18 for Christmas.", currency="USD")
    assert stated("December 18", "Order by 18/12 for Christmas.", currency="USD")  # only one
    assert not stated("December 3", "Order by 3/12.", currency="USD")  # March 12 there
    assert [f.kind for f in figures_in("Add 1/2 cup of water.")] == []  # a fraction


def test_facts_match_plain_phrases_by_their_words_keeping_negation():
    assert stated("never expire", "Gift cards have no expiration date.")
    assert stated("discontinued", "We've retired that model.")
    assert stated("Forgot password", 'Tap "Forgot your password?" on the sign-in page.')
    assert not stated("never expire", "Gift cards expire after a year.")  # negation kept


def test_a_fixture_can_give_equivalents_and_a_regex_fact_reads_its_kb_wording():
    assert stated("a full refund", "You get all your money back.",
                  equivalents=("all your money back",))
    assert not stated("a full refund", "You get all your money back.")
    assert to_digits("one to two business days") == "1-2 business days"


def test_a_fact_replaced_by_another_figure_about_the_same_subject_fails():
    store = Store(root=STORE.root, articles=(article("brewing", "Brew pour-over coffee with"
                                                     " water at 200 F."),),
                  catalog=CATALOG, agent=STORE.agent, template_path=STORE.template_path)
    case = make_case("What water temperature for pour-over coffee?", facts=("200 F",))
    wrong = grade_accuracy(case, make_run("Brew pour-over coffee with water at 180\u00b0F.",
                                          retrieved=("brewing",)), store)
    assert wrong.grade == "fail" and "180" in wrong.reason
    vague = grade_accuracy(case, make_run("Use water just off the boil for pour-over coffee.",
                                          retrieved=("brewing",)), store)
    assert vague.grade == "fail" and "missing 1 of 1" in vague.reason


def test_a_forbidden_figure_used_as_a_contrast_is_not_stated():
    case = make_case(facts=("30 days",), forbidden=("60 days",))
    contrast = grade_accuracy(case, make_run("You have 30 days (instead of the old 60 days)."),
                              STORE)
    assert contrast.grade == "pass", contrast.reason
    stated_ = grade_accuracy(case, make_run("You have 30 days, or 60 days for gifts."), STORE)
    assert stated_.grade == "fail"


def test_recall_advice_naming_a_discontinued_product_is_not_offering_it():
    case = make_case("My Burr Grinder S1 sparks. What now?")
    advice = grade_accuracy(case, make_run("Please stop using your Burr Grinder S1 for now."),
                            STORE)
    assert advice.grade == "pass", advice.reason
    offer = grade_accuracy(case, make_run("You can order a new Burr Grinder S1 today."), STORE)
    assert offer.grade == "fail"


def test_a_hand_off_claims_nothing_and_misses_no_fact():
    handoff = make_run("A teammate will pick this up.", outcome="escalate")
    needed = make_case(outcome="escalate", facts=("30 days",))
    assert grade_accuracy(needed, handoff, STORE).grade == "pass"
    # a hand-off the case does not call for: resolution grades it, accuracy has nothing to check
    answerable = make_case(facts=("30 days",))
    assert grade_accuracy(answerable, handoff, STORE).grade == "pass"
    assert grade_resolution(answerable, handoff).grade == "fail"
    # near miss: a hand-off that promises a wrong figure still fails accuracy
    promising = make_run("A teammate will pick this up; returns are accepted within 90 days.",
                         outcome="escalate")
    assert grade_accuracy(answerable, promising, STORE).grade == "fail"


# -- questions and relevance -------------------------------------------------------------------

def test_a_turn_is_split_into_its_questions_and_each_needs_an_answer():
    asked = questions("How much is express shipping and how fast is it?")
    assert [q.text for q in asked] == ["How much is express shipping", "how fast is it"]
    assert answers("Express takes 1-2 business days.", asked[1])
    assert not answers("Express costs $12.95.", asked[1])  # near miss: the figure is a price
    bare = questions("Do you ship to Germany? How much is it and how long does it take?")
    assert [q.text for q in bare] == ["Do you ship to Germany", "How much is it",
                                      "how long does it take"]  # no key word, still asked
    assert answers("It's a tenner, and it takes a week.", bare[1])  # British money words
    assert not answers("It takes a week.", bare[1])


def test_a_question_after_the_story_starts_at_its_question_word():
    asked = questions("im a US 10 in mens, what UK size should i get in the loop runner 2?")
    assert [q.asks for q in asked] == ["what UK size should i get in the loop runner 2"]
    which = questions("my dog is 20kg, which bag size would you recommend?")
    assert [q.asks for q in which] == ["which bag size would you recommend"]
    # near miss: a "which" of the story asks nothing; the question is the one that follows
    told = questions("the one which arrived yesterday is torn, can you replace it?")
    assert [q.asks for q in told] == ["can you replace it"]


def test_is_there_a_fee_is_answered_by_saying_it_is_free():
    asked = questions("do you offer skin consultations? how long are they and is there a fee?")
    fee = asked[-1]
    assert answers("We offer a complimentary 30-minute consultation by video.", fee)
    assert answers("There's no charge for it.", fee)
    assert not answers("Consultations run Monday to Saturday.", fee)
    # near misses: "fragrance-free" is not a price, and the minimum order is not a yes/no
    assert not answers("Our fragrance-free cream suits sensitive skin.", fee)
    minimum = questions("Do you offer free shipping? What's the minimum order?")[-1]
    assert not answers("Yes, we offer free standard shipping on US orders!", minimum)


def test_a_question_is_answered_by_the_figure_it_asks_for_or_its_support_words():
    when = questions("sweet. when do they actually show up? order came yesterday")
    assert answers("They usually appear within 24 hours of delivery.", when[0])
    assert not answers("Spend them at checkout in steps of 100.", when[0])  # no time given
    back = questions("bought socks in the wrong size, can i send them back?")
    assert answers("Hosiery is excluded from returns for hygiene reasons.", back[0])
    assert not answers("Our tees come in five colours.", back[0])  # near miss: not about it
    # a sub-question's support words are its own, not those of the turn's other question
    two = questions("can i use loop points with my student code? and do points work on the"
                    " drops?")
    assert not answers("Loop Points stack with one promo code, including the student code.",
                       two[1])
    assert answers("Points can't be spent on drop items, but you still earn them.", two[1])


def test_relevance_is_partial_when_a_sub_question_is_skipped():
    case = make_case("How much is express shipping and how fast is it?")
    both = grade_relevance(case, make_run("Express costs $14.95 and takes 1-2 business days."),
                           STORE)
    one = grade_relevance(case, make_run("Express shipping costs $14.95."), STORE)
    assert both.grade == "pass"
    assert one.grade == "partial" and "how fast is it" in one.reason


def test_a_hand_off_of_a_question_the_kb_answers_fails_relevance():
    case = make_case()
    grade = grade_relevance(case, make_run("A teammate will pick this up.", outcome="escalate"),
                            STORE)
    assert grade.grade == "fail"
    needed = make_case(outcome="escalate")
    assert grade_relevance(needed, make_run("A teammate will pick this up.",
                                            outcome="escalate"), STORE).grade == "pass"


def test_sending_the_customer_elsewhere_answers_nothing_for_relevance():
    case = make_case("How long do I have to return sale items?", articles=("returns-policy",))
    sent = grade_relevance(case, make_run("Sale items have their own return window, so check"
                                          " our returns policy page."), STORE)
    assert sent.grade == "fail", sent.reason
    # near miss: the answer is given, and the pointer comes on top of it
    answered = grade_relevance(case, make_run("Sale items can be returned within 14 days. See"
                                              " our returns policy page for more."), STORE)
    assert answered.grade == "pass", answered.reason
    grader = production((article("warranty", "Kettles have a 1-year warranty."),))
    deflected = score(grader, "Is my kettle covered under warranty?", "For warranty questions,"
                      " please contact our support team and they'll be happy to help.")
    assert deflected.grades["relevance"].grade == "fail"
    told = score(grader, "Is my kettle covered under warranty?", "Yes, kettles have a 1-year"
                 " warranty.")
    assert told.grades["relevance"].grade == "pass"


# -- tone and resolution -----------------------------------------------------------------------

def test_the_sign_off_counts_whatever_the_dash_case_and_emphasis():
    case = make_case()
    for ending in ("\u2014 The Kettle & Crema team", "*- the kettle & crema team*",
                   "The Kettle & Crema team."):
        assert grade_tone(case, make_run(f"Thanks!\n\n{ending}"), STORE.agent.tone).grade \
            == "pass", ending
    assert grade_tone(case, make_run("Thanks!\n\nThe Kettle team"), STORE.agent.tone).grade \
        == "partial"


def test_banned_phrases_are_whole_words_and_wrong_registers_fail():
    tone = Tone(brand="Shop", voice="casual", banned_phrases=("kindly",), emoji=True,
                sign_off="")
    case = make_case()
    assert grade_tone(case, make_run("Kindly send a photo."), tone).grade == "fail"
    assert grade_tone(case, make_run("She unkindly said no."), tone).grade == "pass"
    assert grade_tone(case, make_run("Pursuant to policy, returns shall not be accepted."),
                      tone).grade == "fail"
    assert grade_tone(case, make_run("That one's on you, sorry."), tone).grade == "fail"


def test_deflecting_to_support_or_claiming_an_action_lowers_resolution():
    case = make_case()
    deflects = grade_resolution(case, make_run("Please contact our support team about it."))
    claims = grade_resolution(case, make_run("I've refunded 10% to your card."))
    fine = grade_resolution(case, make_run("You can start the return from your account."))
    assert deflects.grade == "partial" and claims.grade == "fail" and fine.grade == "pass"


# -- production scoring ------------------------------------------------------------------------

def production(tmp_articles: tuple[Article, ...]) -> ProductionGrader:
    store = Store(root=STORE.root, articles=tmp_articles, catalog=CATALOG,
                  agent=AgentConfig.model_validate({"tone": {"brand": "Shop", "sign_off": ""}}),
                  template_path=STORE.template_path)
    return ProductionGrader(store)


def score(grader: ProductionGrader, question: str, reply: str):
    return grader.grade(Conversation.model_validate({
        "id": "c", "started_at": "2026-11-20T10:00:00Z", "customer": "x", "channel": "chat",
        "messages": [{"role": "customer", "text": question}, {"role": "ai", "text": reply}]}))


def test_production_flags_a_policy_figure_that_equals_a_catalog_price():
    grader = production((article("shipping", "Standard shipping is free on orders over $75."),))
    wrong = score(grader, "When is shipping free?", "Standard shipping is free on orders over"
                  " $129.")  # $129.00 is the Gooseneck Kettle's price, not a threshold
    right = score(grader, "When is shipping free?", "Standard shipping is free on orders over"
                  " $75.")
    assert wrong.grades["accuracy"].grade == "fail"
    assert right.grades["accuracy"].grade == "pass"


def test_production_a_reply_agreeing_with_one_article_and_contradicting_another_is_queued():
    grader = production(KB[5:7])
    scored = score(grader, "What's the minimum for free shipping?",
                   "Orders over $49 ship free.")
    assert scored.grades["accuracy"].grade == "pass"
    assert scored.review and scored.conflicts
    clean = production(KB[5:6])
    assert not score(clean, "What's the minimum for free shipping?",
                     "Orders over $49 ship free.").review


def test_production_a_vague_answer_to_a_figure_the_kb_states_is_partial():
    grader = production((article("refunds", "Refunds reach your card within 5-7 business days"
                                 " after we receive the return."),))
    vague = score(grader, "When will my refund arrive?", "Your refund will arrive soon.")
    exact = score(grader, "When will my refund arrive?", "Your refund reaches your card within"
                  " 5-7 business days after we receive the return.")
    assert vague.grades["accuracy"].grade == "partial" and "vague" in \
        vague.grades["accuracy"].reason
    assert exact.grades["accuracy"].grade == "pass"


def test_figures_read_plain_temperatures_and_quantities_but_not_grades():
    kinds = [(f.kind, f.value, f.unit) for f in figures_in("200 F, 36 g out, a C-grade")]
    assert kinds == [("temperature", 200.0, "F"), ("count", 36.0, "g")]


def test_production_resolution_is_partial_when_the_ai_sends_the_customer_elsewhere():
    grader = production((article("warranty", "Grinders are covered for 2 years."),))
    sent = score(grader, "Is my grinder still covered?", "Please contact our support team to"
                 " check your warranty.")
    answered = score(grader, "Is my grinder still covered?", "Grinders are covered for 2"
                     " years, so yes.")
    assert sent.grades["resolution"].grade == "partial"
    assert answered.grades["resolution"].grade == "pass"


def test_a_negative_fact_needs_its_negation_on_its_own_words():
    assert stated("never expire", "Our gift cards do not ever expire.")
    assert stated("never expire", "No, they never expire!")
    # near miss: the sentence has a negation, but of something else
    assert not stated("never expire", "They expire after 12 months without an order.")


def test_a_kb_sentence_hard_wrapped_across_lines_is_one_statement():
    wrapped = ClaimBase((article("sale", "The sale runs from **Friday 20 November** (00:01) to"
                                         " **Cyber Monday, 30 November\n2026** (23:59 UK"
                                         " time). Members get early access."),),
                        Catalog(currency="GBP", products=()))
    quoted = ("The sale runs from Friday 20 November (00:01) to Cyber Monday, 30 November 2026"
              " (23:59 UK time).")
    found = [c.verdict for c in wrapped.check_for(DAY).claims(quoted)]
    assert "contradicted" not in found
    # near miss: another closing time is still contradicted
    wrong = quoted.replace("23:59", "18:00")
    assert "contradicted" in [c.verdict for c in wrapped.check_for(DAY).claims(wrong)]


def test_a_question_after_the_customers_story_is_found_inside_the_sentence():
    asked = questions("got a gift card for my birthday how long do i have to use it, and can i "
                      "put it towards my subscription?")
    assert [q.asks for q in asked] == ["how long do i have to use it",
                                       "can i put it towards my subscription"]
    # the story stays with the question it opens, for relevance
    assert asked[0].text.startswith("got a gift card")


def test_a_question_without_a_question_mark_counts_but_an_exclamation_does_not():
    asked = questions("is it vegan? my skin hates fragrance, what would you recommend instead")
    assert [q.asks for q in asked] == ["is it vegan", "what would you recommend instead"]
    assert [q.text for q in questions("my card was declined, what a pain")] == [
        "my card was declined, what a pain"]  # one turn, no question of its own
    assert len(questions("Do you do wholesale? I run a shop and would love to stock your caps."
                         )) == 1


def test_the_story_belongs_to_no_one_question():
    _, second = questions("got the hoodie in the sale and it's too big. can i still return "
                          "it or is it too late for sale stuff?")
    assert "sale" in second.words  # the story's "sale" does not take it from the second


def test_delivery_to_a_place_the_kb_says_the_shop_cannot_deliver_to_is_contradicted():
    check = _check(article("intl", "We ship to all 27 EU countries for £9.95. We can't deliver"
                           " anywhere else yet, so that includes Norway, Switzerland and"
                           " Canada for now."),
                   article("pets", "We can't send orders to Great Britain or anywhere else"
                           " outside the EU."))
    asked = "do u deliver to norway? my sister lives in oslo"
    for reply, place in (("Yes! Norway gets our European rate: £9.95, tracked all the way.",
                          "Norway"),
                         ("We can post it to your cousin in Great Britain.", "Great Britain")):
        found = check.contradictions(reply, asked=asked)
        assert len(found) == 1 and f"delivers to {place}" in found[0].reason, reply
    # near misses: the place denied, a place the rules name as the exception ("outside the
    # EU"), and a place not on the list
    for reply in ("Sorry, not yet! Norway isn't in the EU so it's not on the list.",
                  "We deliver across the EU for £9.95.",
                  "Sweden is in the EU, so it's £9.95 and 4-7 working days."):
        assert check.contradictions(reply, asked=asked) == [], reply


def test_a_figure_in_a_clause_with_its_own_subject_is_not_read_with_the_other_clause():
    """"Your return should reach us in 2-3 working days, then we process refunds within 5-10":
    the 2-3 days are the parcel's, backed by nothing, not a wrong return window."""
    check = _check(article("returns", "You can return most items within 30 days of delivery"
                           " for a full refund."),
                   article("refunds", "When it arrives we check it and process your refund"
                           " within 5-10 working days."))
    said = [(c.figure.shown(), c.verdict) for c in check.claims(
        "Your return should reach us in 2-3 working days, then we process refunds within five"
        " to ten working days of it arriving.")]
    assert ("2-3 working days", "contradicted") not in said
    assert ("5-10 working days", "supported") in said
    # near miss: a clause naming no subject of its own is read with the sentence
    wrong = check.claims("You can return most items, and you have 14 days of delivery to do it.")
    assert [c.verdict for c in wrong] == ["contradicted"]


SALE = Article(id="black-friday", title="Black Friday", topic="sale", status="active",
               body="The Black Friday sale runs from Friday 20 November to Monday 30 November."
                    "\n\nDuring the sale, UK standard delivery is free on orders over £30"
                    " (usually £50).")
SALE_BASE = ClaimBase((SALE,), Catalog(currency="GBP"))


def sale_verdicts(reply: str, day: dt.date, asked: str = "") -> list[tuple[str, str]]:
    check = SALE_BASE.check_for(day)
    return [(c.figure.shown(), c.verdict)
            for c in check.claims(reply, customer_said=asked, asked=asked)]


def test_a_sale_figure_claimed_before_the_sale_runs_is_contradicted():
    """An announcement served early says what will hold: "free over £30 right now" on
    18 November, for a sale from 20 to 30 November, is wrong; inside the sale it is right."""
    reply = "Yes! UK standard delivery is free on orders over £30 right now."
    assert sale_verdicts(reply, dt.date(2026, 11, 18)) == [("£30", "contradicted")]
    assert sale_verdicts(reply, dt.date(2026, 11, 25)) == [("£30", "supported")]
    # near misses: said of the future, or of the sale itself
    assert sale_verdicts("From Friday, delivery will be free over £30.",
                         dt.date(2026, 11, 18)) == [("£30", "supported")]
    check = SALE_BASE.check_for(dt.date(2026, 11, 18))
    assert "20 November to 30 November" in check.claims(reply)[0].reason
    assert "on 2026-11-18" in check.claims(reply)[0].reason
    # the same articles served on another day: that day's check, not the first one built
    assert SALE_BASE.check_for(dt.date(2026, 11, 25)).day == dt.date(2026, 11, 25)


def test_a_bound_the_customer_asks_about_and_the_reply_affirms_is_the_replys_claim():
    """"is delivery free over £30?" - "Yes, over £30": the reply asserts the figure; the
    customer's own basket ("if I spend £35") stays theirs."""
    asked = "is delivery free over £30 now?"
    reply = "Yes! UK standard delivery is free on orders over £30 right now."
    assert sale_verdicts(reply, dt.date(2026, 11, 18), asked) == [("£30", "contradicted")]
    own = "is delivery free if i spend £35 at the mo?"
    assert sale_verdicts("Yes! £35 gets you free delivery.", dt.date(2026, 11, 25), own) == []
    # near miss: not affirmed, the customer's figure is theirs
    assert sale_verdicts("Standard delivery is free over £30 during the sale.",
                         dt.date(2026, 11, 25), asked) == []


def test_a_product_no_longer_sold_is_discontinued_or_retired_in_any_words():
    """"you don't sell it anymore" asks about what the KB calls discontinued or retired, and
    "can I buy another one?" is answered by whether one is available."""
    assert {"discontinu", "retir"} <= set(expansion("you don't sell it anymore"))
    assert "discontinu" in expansion("we've retired the Kettle Original")
    assert "avail" in expansion("can I just buy another one?")
    assert expansion("we do not sell gift cards") == ()  # near miss: never sold, not retired
    asked = questions("My kettle broke at 10 months. Is it still covered even though you don't"
                      " sell it anymore? And can I just buy another one?")
    reply = ("Retired models keep their warranty, so yours qualifies. We've retired the Kettle"
             " Original, so a new one isn't available.")
    assert all(answers(reply, q) for q in asked)


def test_how_two_products_differ_in_other_words():
    """"it builds on the Crema One with a pressure gauge" answers "how is it different from
    the regular one?"."""
    assert "compar" in expansion("how is it different from the regular crema one")
    assert "compar" in expansion("It builds on the Crema One with a pressure gauge.")
    assert "compar" not in expansion("It comes with a pressure gauge.")  # near miss
    differ = questions("how is it different from the regular crema one?")[0]
    assert answers("It builds on the Crema One with a pressure gauge.", differ)
