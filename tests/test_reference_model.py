"""reference_model.py: the offline, KB-grounded stand-in for an LLM, fed only its messages."""

from __future__ import annotations

import json

from storekit import TEMPLATE

from harness.agent.escalation import ESCALATE_TOOL, escalate_tool
from harness.agent.prompt import render_system_prompt
from harness.providers.reference import answer, to_openai_message
from harness.store.schema import Article, Catalog, Escalation, Product, Tone, Turn
from harness.text.concepts import expansion
from harness.text.tokens import tokenize

TONE = Tone(brand="Test Roasters", voice="friendly", max_words=120,
            sign_off="- Test Roasters team")
RETURNS = Article(
    id="returns-policy", title="Returns and refunds", topic="returns", status="active",
    body="You can return most items within 30 days of delivery for a full refund.\n"
         "A returned item must be unused and in its original packaging.\n"
         "Opened coffee beans cannot be returned.")
SHIPPING = Article(
    id="shipping", title="Shipping times and costs", topic="shipping", status="active",
    body="Standard shipping takes 3-5 business days.\n"
         "Express shipping costs $14.95 and arrives in 1-2 business days.")
S2 = Product(sku="GRD-S2", name="Burr Grinder S2", price=189.0)
S1 = Product(sku="GRD-S1", name="Burr Grinder S1", price=149.0, status="discontinued")
CATALOG = Catalog(products=(S2, S1))
TOOLS = [escalate_tool(Escalation())]


def messages(*turns: str, articles=(RETURNS, SHIPPING), tone: Tone = TONE,
             products=()) -> list[dict]:
    """A system prompt rendered from the sample template, then the turns (customer first,
    alternating with the agent)."""
    conversation = tuple(Turn(role="customer" if i % 2 == 0 else "agent", text=t)
                         for i, t in enumerate(turns))
    system = render_system_prompt(TEMPLATE, tone=tone, articles=list(articles),
                                  conversation=conversation, products=list(products),
                                  catalog=CATALOG)
    roles = {"customer": "user", "agent": "assistant"}
    return [{"role": "system", "content": system}] + [
        {"role": roles[t.role], "content": t.text} for t in conversation]


def reply(*turns: str, **kwargs) -> str:
    result = answer(messages(*turns, **kwargs), TOOLS)
    assert result.escalation is None, result
    assert result.content
    return result.content


def test_same_input_same_output():
    msgs = messages("How much does express shipping cost?")
    assert answer(msgs, TOOLS) == answer(msgs, TOOLS) == answer(list(msgs), list(TOOLS))


def test_answers_with_the_sentence_holding_the_fact():
    text = reply("How long do I have to return an item?")
    assert "within 30 days of delivery" in text
    text = reply("How much does express shipping cost?")
    assert "$14.95" in text
    assert "30 days" not in text


def test_editing_the_articles_figure_changes_the_answer():
    edited = RETURNS.model_copy(update={"body": RETURNS.body.replace("30 days", "45 days")})
    before = reply("How long do I have to return an item?")
    after = reply("How long do I have to return an item?", articles=(edited, SHIPPING))
    assert "30 days" in before and "45 days" not in before
    assert "45 days" in after and "30 days" not in after


def test_answers_the_last_customer_turn():
    text = reply("How long does standard shipping take?", "It takes 3-5 business days.",
                 "And how long do I have to return an item?")
    assert "30 days" in text


def test_signs_off_as_told():
    text = reply("How long do I have to return an item?")
    assert text.endswith("\n\n- Test Roasters team")
    plain = reply("How long do I have to return an item?",
                  tone=TONE.model_copy(update={"sign_off": None}))
    assert "Test Roasters team" not in plain


def test_respects_under_n_words():
    long_article = Article(
        id="beans", title="Coffee beans", topic="beans", status="active",
        body="Our coffee beans are roasted every Monday in small batches by our team.\n"
             "Coffee beans taste best within four weeks of the roast date on the bag.\n"
             "Store coffee beans in an airtight container away from light and heat.")
    question = "How should I store coffee beans and when do coffee beans taste best?"
    roomy = reply(question, articles=(long_article,))
    tight = reply(question, articles=(long_article,),
                  tone=TONE.model_copy(update={"max_words": 15}))
    assert len(roomy.split()) > 15
    assert len(tight.split()) <= 15
    assert tight.endswith("- Test Roasters team")


def test_names_the_catalog_price_when_asked():
    text = reply("How much is the Burr Grinder S2?", products=(S2,))
    assert "$189.00" in text
    assert "Burr Grinder S2" in text


def test_says_a_discontinued_product_is_discontinued():
    text = reply("Can I still buy the Burr Grinder S1?", products=(S1,))
    assert "discontinued" in text
    assert "$149" not in text


def test_no_price_line_when_price_is_not_asked():
    text = reply("How long do I have to return my Burr Grinder S2?", products=(S2,))
    assert "$189" not in text
    assert "30 days" in text


def test_escalates_with_the_tool_when_nothing_covers_the_question():
    result = answer(messages("Do you ship live lobsters to Antarctica?",
                             articles=(RETURNS,)), TOOLS)
    assert result.content is None
    assert result.escalation is not None
    assert result.escalation["topic"] == "other"
    assert result.escalation["reason"]
    message = to_openai_message(result)
    (call,) = message["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == ESCALATE_TOOL
    assert json.loads(call["function"]["arguments"]) == result.escalation


def test_without_the_tool_it_declines_instead_of_guessing():
    result = answer(messages("Do you ship live lobsters to Antarctica?", articles=(RETURNS,)))
    assert result.escalation is None
    assert "not certain" in result.content
    assert "30 days" not in result.content


def test_sees_only_its_messages():
    """The KB behind the store does not matter: only articles in the system prompt do."""
    without = answer(messages("How much does express shipping cost?", articles=(RETURNS,)),
                     TOOLS)
    assert without.escalation is not None
    assert "$14.95" not in (without.content or "")
    bare = answer([{"role": "user", "content": "How much does express shipping cost?"}], TOOLS)
    assert bare.escalation is not None
    assert answer([{"role": "system", "content": "You help."}], TOOLS).escalation is not None


def test_plain_message_has_no_tool_calls():
    message = to_openai_message(answer(messages("How much does express shipping cost?"), TOOLS))
    assert message["role"] == "assistant"
    assert "tool_calls" not in message
    assert "$14.95" in message["content"]


# -- what the customer asks, apart from the story around it ----------------------------------

GIFT_CARDS = Article(
    id="gift-cards", title="Gift cards", topic="gift-cards", status="active",
    body="Gift cards are sent by email.\n"
         "Gift cards are valid for 24 months from the date they were bought.")
POINTS = Article(
    id="points", title="Bean Points", topic="loyalty", status="active",
    body="Points you spent on an order are given back if you return it.\n"
         "Gift cards don't earn points.")
REFUNDS = Article(
    id="refunds", title="Refunds", topic="refunds", status="active",
    body="Once your return reaches us, your refund is issued within 5-7 business days.")
TRACKING = Article(
    id="tracking", title="Tracking your parcel", topic="tracking", status="active",
    body="Tracking can take up to 24 hours to show the first scan after we send a parcel.")


def test_an_everyday_verb_does_not_outweigh_the_subject():
    # "given" is rare in the KB but names no subject: the question is about gift cards
    text = reply("I was given a gift card last Christmas. Does it expire?",
                 articles=(POINTS, GIFT_CARDS))
    assert "24 months" in text


def test_the_article_titled_for_the_subject_answers_it():
    text = reply("Can I use my gift card on points?", articles=(POINTS, GIFT_CARDS))
    assert "Gift cards" in text


def test_the_question_outweighs_the_story_before_it():
    text = reply("I sent the beans back on Monday and tracking says you got them Thursday. "
                 "When do I get my money back?", articles=(TRACKING, REFUNDS))
    assert "5-7 business days" in text


def test_a_question_pointing_back_into_the_story_keeps_the_story():
    # near miss of the above: "can I still change it" means nothing without the story
    text = reply("I ordered express shipping by mistake, can I still change it?",
                 articles=(RETURNS, SHIPPING))
    assert "Express shipping" in text


def test_each_question_of_a_turn_gets_its_answer():
    text = reply("How much is express shipping? And how long do I have to return an item?",
                 articles=(RETURNS, SHIPPING))
    assert "$14.95" in text and "30 days" in text


def test_a_question_the_kb_never_speaks_of_is_handed_off():
    # the story shares words with the KB ("items", "shipping"), the question does not
    result = answer(messages("Do you do wholesale? I run a cafe and would love to sell your "
                             "items, with shipping to my shop."), TOOLS)
    assert result.escalation is not None
    assert "does not cover" in result.escalation["reason"]


def test_a_question_in_other_words_than_the_kbs_is_still_covered():
    # near miss: no article says "money", but "money back" is what "refund" means
    assert "5-7 business days" in reply("When do I get my money back?",
                                        articles=(TRACKING, REFUNDS))


def test_a_sentence_ending_with_a_colon_brings_the_items_under_it():
    payments = Article(
        id="payments", title="Declined payments", topic="payments", status="active",
        body="We can't see why a bank declined a card, but one of these usually fixes it:\n\n"
             "- Check the number, expiry date and billing address.\n"
             "- Try PayPal instead.\n\n"
             "## Other payments\n\n"
             "A declined gift card can be replaced.\n"
             "Card details are never stored by us.\n"
             "A card declined twice is blocked by some banks for a day.")
    text = reply("My card keeps getting declined?", articles=(payments,))
    assert "billing address" in text and "PayPal" in text


def test_an_it_that_stands_for_nothing_does_not_pull_in_the_story():
    from harness.providers.reference.answering import _points_back

    assert not _points_back("Is it possible to place an order over the telephone")
    assert not _points_back("is it too late to send a gift")
    assert _points_back("can I still change it")  # near miss: this "it" is the order
    assert _points_back("is it possible to change it")


def test_a_bare_follow_up_question_asks_about_the_one_before_it():
    # "how much is it, how long does it take?" say nothing of their own: "it" is shipping to
    # Germany, not the home delivery that "takes" 3-5 days
    abroad = Article(
        id="abroad", title="Shipping abroad", topic="shipping", status="active",
        body="We ship from the UK to every EU country and to the USA.\nEU orders include VAT."
             "\n\n| Region | Cost | Time |\n| --- | --- | --- |\n"
             "| EU | $12 | 6-9 business days |\n| USA | $15 | 5-8 business days |")
    home = Article(
        id="home", title="UK delivery options and costs", topic="shipping", status="active",
        body="Order before 2pm and your parcel arrives the next working day.\n"
             "Next-day delivery costs $6.50 on any order size.\n"
             "Standard delivery takes 3-5 working days and costs $4.")
    text = reply("Hi! Do you ship to Germany? How much is it and how long does it take please",
                 articles=(abroad, home))
    assert "6-9 business days" in text


def test_a_question_the_kb_gives_to_people_is_handed_over():
    ingredients = Article(
        id="ingredients", title="Ingredients", topic="ingredients", status="active",
        body="Every serum and cream is vegan.\n\n## Pregnancy and skin conditions\n\n"
             "Questions about using our products during pregnancy are answered individually by "
             "our formulation team. Client Care will gladly put you in touch with them.")
    result = answer(messages("Just found out I'm pregnant! Is it safe to keep using the serum?",
                             articles=(ingredients,)), TOOLS)
    assert result.escalation is not None and "formulation team" in result.escalation["reason"]
    # near miss: a sentence that only says where to write is an answer, not a hand-over
    vegan = reply("Is the serum vegan?", articles=(ingredients,))
    assert "vegan" in vegan


def test_the_records_sent_are_priced_when_the_customer_names_them_in_other_words():
    from harness.providers.reference.answering import _product_lines
    from harness.providers.reference.reading import ProductRecord

    serum = ProductRecord("Serum Lumiere 30 ml", "$165.00", "active")
    refill = ProductRecord("Serum Lumiere Refill 30 ml", "$132.00", "active")
    lines = _product_lines([serum, refill], "how much is the serum lumiere 30 ml? and the "
                           "lumiere refill, how much is that one", "")
    assert [line.split(" costs ")[1][:7] for line in lines] == ["$165.00", "$132.00"]
    # no record named by most of its words: those sharing a word the customer used
    edt = ProductRecord("Nuit d'Orangerie Eau de Toilette 100 ml", "$150.00", "active")
    edp = ProductRecord("Nuit d'Orangerie Eau de Parfum 100 ml", "$235.00", "active")
    both = _product_lines([edt, edp], "orangerie edt vs edp, how much are the big ones", "")
    assert len(both) == 2
    # near miss: price not asked, no line
    assert _product_lines([edt, edp], "orangerie edt vs edp, which lasts longer?", "") == []


def test_a_question_about_an_offer_prefers_the_sentence_with_the_discount():
    from harness.providers.reference.answering import _rank, _sentences
    from harness.providers.reference.reading import read_prompt

    rules = Article(id="rules", title="Returns", topic="returns", status="active",
                    body="Treats must be unopened to be returned.")
    sale = Article(id="sale", title="Sale", topic="sale", status="active",
                   body="All treats are 20% off this week.")
    every = _sentences(read_prompt(messages("hi", articles=(rules, sale))[0]["content"]))
    question = "any discount on treats"
    ranked = _rank(every, tokenize(question), [], question)
    assert ranked[0][1].text == "All treats are 20% off this week."
    # near miss: a question about returning them still gets the rule
    asked = "can I return opened treats"
    assert _rank(every, tokenize(asked), [], asked)[0][1].text.startswith("Treats must")


REFUND_TIMING = Article(
    id="refunds", title="Refunds", topic="refunds", status="active",
    body="Your refund is processed within 10 business days of the return arriving with us.\n"
         "Your bank may take a further 3-5 business days to show the refund.")
OPENED = Article(
    id="returns", title="Returns and exchanges", topic="returns", status="active",
    body="Opened products may be returned within 30 days of delivery, provided that at least"
         " 80% of the product remains.\nGift sets are wrapped for free.")


def test_a_customer_giving_a_share_asks_the_rule_with_that_kind_of_limit():
    """"85-90% is left, can I still send it back?": the rule is the 80% one, not the refund's
    timing, though "refund" is the word both share."""
    text = reply("I used the cream a few times and 85-90% is left. Can I still send it back"
                 " and get a refund?", articles=(REFUND_TIMING, OPENED))
    assert "at least 80%" in text
    # near miss: the same question with no share given and no "still" gets the timing
    plain = reply("When do I get a refund?", articles=(REFUND_TIMING, OPENED))
    assert "10 business days" in plain and "80%" not in plain


def test_a_figure_that_is_not_a_limit_is_not_favoured_for_the_customers_figure():
    from harness.providers.reference.answering import _sentences, _told
    from harness.providers.reference.reading import read_prompt

    subs = Article(id="subs", title="Subscriptions", topic="subscriptions", status="active",
                   body="Choose a delivery every 2, 4 or 6 weeks.\n"
                        "You can pause for up to 3 deliveries in a row.")
    every = _sentences(read_prompt(messages("hi", articles=(subs,))[0]["content"]))
    assert _told("we're away for 6 weeks") == {"span"}
    assert [s.kinds for s in every] == [frozenset(), frozenset()]  # a frequency, a count
    assert _sentences(read_prompt(messages("hi", articles=(OPENED,))[0]["content"]))[0].kinds \
        == {"span", "percent:%"}


def test_support_words_for_what_is_left_and_whether_it_was_opened():
    assert "remain" in expansion("about half of it is left")
    assert "open" in expansion("I used it twice")
    assert "unopen" in expansion("they're still sealed")
    assert "unopen" in expansion("still in the box")
    # near misses: "left" as a direction or a past tense, "open" as a shop's hours
    assert "remain" not in expansion("turn left at the gate")
    assert "remain" not in expansion("I left it at the door")


def test_a_point_in_time_is_not_loyalty_points_and_complimentary_is_free():
    assert "loyalt" not in expansion("is there a point where it becomes free")
    assert "loyalt" in expansion("how many points do I have")
    assert "loyalt" in expansion("do I earn 1 point per dollar")
    assert "complimentar" in expansion("is shipping free over $100?")
    assert "free" in expansion("is shipping complimentary?")


def test_a_sentence_that_only_points_to_another_article_is_not_quoted():
    from harness.providers.reference.answering import _quotable

    body = ("Standard shipping is free over $150. See *Shipping and delivery*.\n"
            "See your order confirmation email for the tracking link.")
    assert [quote.text for quote in _quotable(body)] == [
        "Standard shipping is free over $150.",
        "See your order confirmation email for the tracking link."]  # near miss: a step


def test_the_row_of_a_chart_keyed_by_what_the_customer_gave_answers():
    feeding = Article(id="feeding", title="Feeding guide", topic="feeding", status="active",
                      body="Puppies need 3-4 small meals a day.\n\n"
                           "| Your dog's weight | Grams per day |\n| --- | --- |\n"
                           "| 10 kg | 150-180 g |\n| 20 kg | 250-300 g |\n")
    assert "250-300 g" in reply("how many grams a day should my lab get? she's 20kg",
                                articles=(feeding,))
    sizes = Article(id="sizes", title="Size guide", topic="sizing", status="active",
                    body="Our sneakers are true to size.\n\n| UK | EU | US Men |\n"
                         "| --- | --- | --- |\n| 8 | 42 | 9 |\n| 9 | 43 | 10 |\n")
    text = reply("im a US 10 in mens, what UK size should i get?", articles=(sizes,))
    assert "UK 9, EU 43" in text and "UK 8," not in text
    # near miss: a weight no row gives picks no row over the sentence that answers
    assert "meals" in reply("how many meals a day for a puppy of 7kg?", articles=(feeding,))


def test_a_short_lead_in_after_the_chosen_sentence_brings_its_list():
    credit = Article(id="set", title="The discovery set", topic="sets", status="active",
                     body="Each set holds a personal code worth $35 toward a full bottle. The"
                          " code:\n\n- is valid for 90 days from delivery;\n- applies to 100 ml"
                          " bottles.\n\nThe set comes in a linen pouch.")
    text = reply("do i get anything off a full bottle if i buy the set?", articles=(credit,))
    assert "$35" in text and "90 days" in text
    # near miss: a lead-in elsewhere in the article does not come along
    plain = Article(id="set", title="The discovery set", topic="sets", status="active",
                    body="Each set holds a personal code worth $35 toward a full bottle.\n\n"
                         "Pouches are made in Lyon. Our pouches:\n\n- are linen;\n"
                         "- are washable.")
    assert "washable" not in reply("do i get anything off a full bottle if i buy the set?",
                                   articles=(plain,))


def test_a_numbered_step_brings_the_steps_before_it():
    changes = Article(id="changes", title="Changing an order", topic="orders", status="active",
                      body="Orders can be changed within 1 hour.\n\n## How\n\n"
                           "1. Sign in and open Order history.\n2. Select the order.\n"
                           "3. Change the delivery address or cancel the order.\n\n"
                           "## Later\n\n1. Gift wrap is added at packing.")
    text = reply("just realised i put my old delivery address, can i still change it",
                 articles=(changes,))
    assert "Order history" in text and "Select the order" in text
    # near miss: a step 1 of another list does not come along
    assert "Gift wrap" not in text


def test_support_words_for_a_fee_and_for_getting_something_back():
    assert {"free", "complimentar"} <= set(expansion("is there a fee?"))
    assert "point" in expansion("do i get anything for them?")
    # near misses: the price asked, and a discount asked, are neither
    assert "free" not in expansion("how much does it cost?")
    assert "point" not in expansion("do i get anything off the full bottle?")


def test_an_faq_answer_to_the_customers_own_question_is_the_answer():
    """A planted bug is seen as a real model sees it: the FAQ's stale answer to the very
    question asked is what gets quoted, not the dedicated article's."""
    policy = Article(id="guarantee", title="The Happy Plant Guarantee", topic="guarantee",
                     status="active", body="Every plant comes with our guarantee for 30 days"
                     " after delivery. The guarantee covers the plant, not the pot.")
    faq = Article(id="faq", title="Frequently asked questions", topic="faq", status="active",
                  body="Do you sell gift cards? Yes, from $25.\n\nHow long is the plant"
                       " guarantee? Our guarantee covers your plant for 60 days.")
    assert "60 days" in reply("How long is the plant guarantee?", articles=(policy, faq))
    # near miss: another question of the FAQ does not pull its answer in
    assert "60 days" not in reply("Does the guarantee cover the pot?", articles=(policy, faq))


def test_the_articles_own_question_is_not_quoted_as_an_answer():
    from harness.providers.reference.answering import _quotable

    quotes = _quotable("Off on holiday, or still have half a bag left? Skip a delivery in your"
                       " account.\n\nHow long do I have?\n\nYou have 30 days.")
    assert [(q.text, q.asked) for q in quotes] == [
        ("Skip a delivery in your account.", "Off on holiday, or still have half a bag left?"),
        ("You have 30 days.", "How long do I have?")]


def test_a_question_about_the_sale_is_not_answered_by_opening_days():
    hours = Article(id="contact", title="Contact us", topic="contact", status="active",
                    body="Our team answers Monday to Friday, 9am to 5pm.")
    event = Article(id="event", title="The Holiday Gift-Set Event", topic="promotions",
                    status="active", body="From November 25, enjoy a holiday promotion: enter"
                    " FETES15 for 15% off our gift sets.")
    text = reply("are you doing anything for black friday?", articles=(hours, event))
    assert "FETES15" in text and "Monday to Friday" not in text


def test_a_sub_question_is_answered_in_the_light_of_the_turn():
    """"... and will there be anything off treats?" in a turn about the sale: the sale's
    treats discount, not the subscription's saving that also names treats."""
    sale = Article(id="sale", title="Black Week 2026", topic="sale", status="active",
                   body="Our Black Week sale runs from 23 to 30 November.\n\n"
                        "- 20% off all dog and cat treats\n- 15% off beds")
    subs = Article(id="subs", title="Food subscriptions", topic="subscriptions",
                   status="active", body="A subscription sends your pet's food or treats on"
                   " a schedule, and you save 10% on every delivery.")
    text = reply("are ye doing a black friday sale this year? when does it start and will"
                 " there be anything off treats", articles=(sale, subs))
    assert "20% off all dog and cat treats" in text


def test_a_numbered_step_brings_the_rest_of_its_procedure():
    student = Article(id="discounts", title="Student discount", topic="discounts",
                      status="active", body="Students get 15% off.\n\n"
                      "1. Verify on our Student Hub with your uni email.\n2. Sign in.\n"
                      "3. Enter the code LOOPSTU15 at checkout.\n\n"
                      "## Other codes\n\n1. WELCOME10 is for your first order.")
    text = reply("do u do student discount? how do i verify", articles=(student,))
    assert "LOOPSTU15" in text
    assert "WELCOME10" not in text  # near miss: step 1 of another list
    recall = Article(id="recall", title="Product recall", topic="recall", status="active",
                     body="We withdrew the Sole Whitener Pen. If you have one:\n\n"
                          "1. Stop using it.\n2. Note the batch code.\n"
                          "3. Send us your order number and we'll refund the pen in full.")
    assert "refund the pen" in reply("ive got the whitener pen, what do i do?",
                                     articles=(recall,))


def test_the_row_the_question_names_in_the_table_under_the_chosen_sentence_comes_along():
    dates = Article(id="xmas", title="Christmas delivery dates", topic="christmas",
                    status="active", body="Here are the last days to order for delivery before"
                    " Christmas.\n\n| Delivering to | Order by |\n| --- | --- |\n"
                    "| Rest of the EU | Monday 14 December |\n| Ireland | Friday 18 December |\n")
    text = reply("ordering a present for my mam in spain, will it get there before christmas?",
                 articles=(dates,))
    assert "14 December" in text and "18 December" not in text
    plan = Article(id="switch", title="Switching food", topic="feeding", status="active",
                   body="Mix the new food in gradually over 7 days.\n\n## The plan\n\n"
                        "| Days | Old food | New food |\n| --- | --- | --- |\n"
                        "| Days 1-2 | 75% | 25% |\n| Days 3-4 | 50% | 50% |\n")
    text = reply("how do i switch my dog to the new food?", articles=(plan,))
    assert "25%" in text and "50%" in text  # a how-to: the table is the how


def test_a_question_with_no_words_of_its_own_asks_about_the_one_before_it():
    from harness.providers.reference.answering import _per_question, _rank, _sentences
    from harness.providers.reference.reading import read_prompt
    from harness.text.questions import questions

    points = Article(id="points", title="Paw Points", topic="loyalty", status="active",
                     body="You earn 1 Paw Point for every €1 you spend.\nBonus points come"
                          " on your pet's birthday.\nCoffee beans are roasted weekly.")
    every = _sentences(read_prompt(messages("hi", articles=(points,))[0]["content"]))
    turn = "how do the paw points work? how many do i get"
    ranked = _rank(every, tokenize(turn), [], turn)
    chosen = _per_question([], ranked, every, turn, questions(turn), [], set())
    assert [s.text for s in chosen] == ["You earn 1 Paw Point for every €1 you spend.",
                                        "Bonus points come on your pet's birthday."]


def test_works_out_what_the_customers_points_are_worth_from_the_kbs_rate():
    points = Article(id="points", title="Loyalty points", topic="loyalty", status="active",
                     body="You earn 1 point for every £1 you spend. 100 points = £5 off your"
                          " next order, spent in steps of 100.")
    assert "740 points give £35 (7 x 100 points)." in reply(
        "how much are my loyalty points worth? i have 740", articles=(points,))
    # no number, or the number is not of points: no sum
    assert " give £" not in reply("how much are my loyalty points worth?", articles=(points,))
    assert " give £" not in reply("i spent £740, how many loyalty points is that?",
                                  articles=(points,))
    # the rate from another sentence of the article the answer comes from
    scheme = Article(id="scheme", title="Loyalty points", topic="loyalty", status="active",
                     body="Loyalty points are our free rewards scheme. Members hear about sales"
                          " first.\n\n## Spending\n\nAt checkout, 100 points take £5 off.")
    assert "340 points give £15 (3 x 100 points)." in reply(
        "ive got 340 loyalty points, what are they worth?", articles=(scheme,))
    # fewer points than one step: nothing to work out
    assert " give £" not in reply("what are my 60 loyalty points worth?", articles=(points,))


def test_a_customer_who_cannot_find_a_product_is_told_its_status():
    for asked in ("where did the burr grinder s1 go? i need to reorder",
                  "the burr grinder s1 isn't showing up on the site, can't find it"):
        text = reply(asked, products=(S1,))
        assert "The Burr Grinder S1 has been discontinued" in text, asked
    # a question about the product that is not about finding or buying it: no status line
    assert "has been discontinued" not in reply("how do i return the burr grinder s1?",
                                                products=(S1,))


def test_the_opening_of_the_section_the_question_names_goes_on_to_its_next_sentence():
    pay = Article(id="pay", title="Payments", topic="payments", status="active",
                  body="We take cards and PayPal.\n\n## Paying in instalments\n\nOn orders over"
                       " €60 you can choose Pay in 3 at checkout. You pay a third today and the"
                       " rest in two more payments, with no interest.\n\nGift cards can't be"
                       " split.\n\n## Adult dogs: dry food\n\nThis applies to the chicken"
                       " recipe. The amounts are per day.")
    assert "with no interest" in reply("can i pay for the dog bed in instalments?",
                                       articles=(pay,))
    # a heading the question names only in part ("dog" of four words): no more
    text = reply("is the chicken recipe for dogs?", articles=(pay,))
    assert "This applies to the chicken recipe." in text
    assert "The amounts are per day" not in text


def test_a_list_item_quoted_is_a_sentence_of_the_reply():
    sale = Article(id="sale", title="Black Friday sale", topic="offers", status="active",
                   body="This year's deals:\n\n- **25% off all beds**\n- 20% off treats\n")
    text = reply("what are the black friday deals on beds and treats?", articles=(sale,))
    assert "25% off all beds." in text and "20% off treats." in text


def test_a_complaint_gets_the_procedure_its_article_leads_into():
    damaged = Article(id="damaged", title="Damaged or faulty items", topic="faults",
                      status="active",
                      body="## Arrived damaged?\n\nSorry about that. Tell us within 7 days of"
                           " delivery and we'll sort it.\n\n1. Open My orders and choose Report"
                           " a problem.\n2. Add photos of the damage.\n\n## Faults later\n\n"
                           "Tees are covered for 90 days.")
    care = Article(id="care", title="Caring for tees", topic="care", status="active",
                   body="Turn them inside out and wash at 30°C.")
    text = reply("my tee turned up today with a massive hole in the sleeve. not happy",
                 articles=(damaged, care))
    # an apology answers nothing: the article's question carries on to the next sentence,
    # and that sentence brings the steps it leads into
    assert "within 7 days" in text and "Add photos of the damage." in text
    # an everyday verb alone ("turned") makes no sentence about the question
    assert "inside out" not in text


def test_a_sentence_pointing_below_brings_the_table_it_points_to():
    dates = Article(id="xmas", title="Holiday delivery dates", topic="christmas",
                    status="active", body="Please place your order by the dates below. Orders"
                    " placed by then arrive by December 24.\n\n| Service | Order by |\n"
                    "| --- | --- |\n| Standard | December 16 |\n| Express | December 21 |\n")
    text = reply("if i order today with regular shipping will it arrive before christmas?",
                 articles=(dates,))
    assert "December 16" in text and "December 21" in text
    # a near miss: a sentence that does not point to the table brings none of its rows
    plain = Article(id="xmas", title="Holiday delivery dates", topic="christmas",
                    status="active", body="Please place your order early. Orders placed by"
                    " then arrive by December 24.\n\n| Service | Order by |\n"
                    "| --- | --- |\n| Standard | December 16 |\n| Express | December 21 |\n")
    assert "December 21" not in reply("when should i place my order?", articles=(plain,))


def test_using_points_is_spending_them():
    assert "spend" in expansion("how do i actually use them")
    assert "redeem" in expansion("can I use my loyalty points on a sale item?")
    # near miss: using a product is not spending points
    assert "spend" not in expansion("how do i use the protector spray?")
    points = Article(id="points", title="Loyalty points", topic="loyalty", status="active",
                     body="You earn 1 point for every £1. Points arrive after dispatch.\n\n"
                          "## Spending points\n\nEvery 100 points takes £5 off your order.")
    assert "£5 off" in reply("how do the loyalty points work? how do i use them",
                             articles=(points,))


def test_the_thing_the_story_names_by_an_articles_title_is_what_it_stands_for():
    """"got a gift card ... how long do I have to use it, and can I put it towards my
    subscription?": each "it" is the gift card, so the gift-card sentences answer."""
    assert "valid" in expansion("how long do i have to use it")
    assert "valid" in expansion("how long is the voucher good for?")
    assert "valid" not in expansion("how long do i have to return it")  # near miss
    cards = Article(id="gift-cards", title="Gift cards", topic="gift-cards", status="active",
                    body="Enter the 16-digit code at checkout.\n"
                         "Gift cards are valid for 2 years from the date they were bought.\n"
                         "Gift cards can't be used for subscriptions.")
    subs = Article(id="subs", title="Food subscriptions", topic="subscriptions",
                   status="active", body="A subscription sends your pet's food on a schedule,"
                   " and you save 10% on every monthly delivery.")
    promo = Article(id="promo", title="Promo codes", topic="discounts", status="active",
                    body="WELCOME10 takes 10% off your first order.\n"
                         "It can be used once per customer, and it isn't valid on gift cards.")
    text = reply("got a €50 gift card from my sister for my birthday. how long do i have to use"
                 " it, and can i put it towards my monthly food subscription?",
                 articles=(promo, subs, cards))
    assert "2 years" in text
    assert "can't be used for subscriptions" in text
    assert "once per customer" not in text  # the promo code's "it", not the card's


def test_a_kind_of_offer_the_kb_never_names_is_handed_over():
    """"do you do wholesale pricing?" to a KB of prices and discounts that never says
    wholesale: a grounded model hands over rather than answer with the discounts it has."""
    offers = Article(id="discounts", title="Discounts", topic="discounts", status="active",
                     body="Students get 15% off with the code STUDENT15.\n"
                          "Our Black Friday price is 25% off every grinder.\n"
                          "Prices include VAT.")
    result = answer(messages("hi, I run a cafe. do you do wholesale pricing?",
                             articles=(offers,)), TOOLS)
    assert result.escalation and "'wholesale pricing'" in result.escalation["reason"]
    military = answer(messages("is there a military discount?", articles=(offers,)), TOOLS)
    assert military.escalation is not None
    # near misses: a kind the KB names, a misspelt known word, a name the KB writes as one
    assert "STUDENT15" in reply("is there a student discount?", articles=(offers,))
    typo = answer(messages("is there a studnet discount?", articles=(offers,)), TOOLS)
    assert not typo.escalation or "never mentions" not in typo.escalation["reason"]
    assert "25%" in reply("what's the black friday price on grinders?", articles=(offers,))


def test_where_a_product_is_used_is_said_in_the_kbs_words():
    """"in my bedroom" is indoors, a room, a space; "no garden or balcony" is outside."""
    assert {"indoor", "space"} <= set(expansion("can I use the spray in my bedroom?"))
    assert "outsid" in expansion("my flat hasnt got a garden or balcony")
    assert "space" not in expansion("is the bed roomy enough for a big dog?")  # near miss
    care = Article(id="care", title="Shoe care", topic="care", status="active",
                   body="Use the protector spray on clean, dry shoes.\n"
                        "Spray in a well-ventilated space, or outside.\n"
                        "Brush suede with the suede brush.")
    assert "well-ventilated" in reply("is it ok to use the protector spray in my bedroom?",
                                      articles=(care,))
