"""kb.py: which articles are served on a day, and how retrieval ranks them and how sure it is."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.kb import retrieval
from harness.kb.retrieval import KnowledgeBase, serve_articles
from harness.store.schema import Article
from harness.text.tokens import tokenize

DAY = dt.date(2026, 11, 27)


def article(id: str, body: str, *, title: str = "", topic: str = "general",
            status: str = "active", **window: dt.date) -> Article:
    return Article(id=id, title=title or id.replace("-", " ").title(), topic=topic,
                   status=status, body=body, **window)


ARTICLES = (
    article("returns-policy", "You can return most items within 30 days of delivery for a full"
            " refund. A returned item must be unused and in its original packaging. Opened"
            " coffee beans cannot be returned.", title="Returns and refunds", topic="returns"),
    article("shipping", "Standard shipping takes 3-5 business days. Express shipping costs"
            " $14.95 and arrives in 1-2 business days.", title="Shipping times and costs",
            topic="shipping"),
    article("warranty", "Every grinder comes with a 2-year warranty against manufacturing"
            " defects. The warranty does not cover worn burrs.", title="Grinder warranty",
            topic="warranty"),
    article("gift-cards", "Gift cards never expire and can be used on any order. A gift card"
            " cannot be exchanged for cash.", title="Gift cards", topic="payments"),
    article("descaling", "Descale your espresso machine every two months with citric acid."
            " Run two full tanks of clean water through after descaling.",
            title="Descaling an espresso machine", topic="maintenance"),
)
NAMES = ("Burr Grinder S2", "Gooseneck Kettle", "Crema One Espresso Machine")


def search(question: str, *, kb: KnowledgeBase | None = None, top_k: int = 3):
    kb = kb or KnowledgeBase(ARTICLES, NAMES)
    return kb.index_for(DAY).search([question], top_k)


# -- serving ---------------------------------------------------------------------------------


def test_only_active_articles_are_served():
    articles = [article("a", "x"), article("d", "x", status="draft"),
                article("z", "x", status="archived")]
    assert [a.id for a in serve_articles(articles, DAY)] == ["a"]


SEASON = article("holiday-returns", "Holiday orders can be returned until January 31.",
                 valid_from=dt.date(2026, 11, 20), valid_until=dt.date(2026, 12, 2))


@pytest.mark.parametrize(
    ("day", "served"),
    [
        (dt.date(2026, 11, 19), False),  # the day before valid_from
        (dt.date(2026, 11, 20), True),  # valid_from itself
        (dt.date(2026, 11, 27), True),
        (dt.date(2026, 12, 2), True),  # valid_until itself
        (dt.date(2026, 12, 3), False),  # the day after valid_until
    ],
)
def test_validity_window_includes_both_boundary_days(day, served):
    assert SEASON.served_on(day) is served
    assert (SEASON in serve_articles([SEASON], day)) is served


def test_open_ended_windows():
    starts = article("s", "x", valid_from=dt.date(2026, 11, 20))
    ends = article("e", "x", valid_until=dt.date(2026, 12, 2))
    assert not starts.served_on(dt.date(2026, 11, 19))
    assert starts.served_on(dt.date(2030, 1, 1))
    assert ends.served_on(dt.date(2000, 1, 1))
    assert not ends.served_on(dt.date(2026, 12, 3))


def test_a_draft_is_not_served_inside_its_window():
    draft = SEASON.model_copy(update={"status": "draft"})
    assert not draft.served_on(dt.date(2026, 11, 27))


def test_index_for_a_day_holds_only_what_is_served_and_is_reused():
    kb = KnowledgeBase([*ARTICLES, SEASON])
    inside = kb.index_for(dt.date(2026, 11, 25))
    outside = kb.index_for(dt.date(2026, 12, 10))
    assert "holiday-returns" in [a.id for a in inside.articles]
    assert "holiday-returns" not in [a.id for a in outside.articles]
    assert kb.index_for(dt.date(2026, 11, 21)) is inside  # same articles served: same index
    hits = outside.search(["Until when can I return holiday orders?"], 5)
    assert "holiday-returns" not in [h.article.id for h in hits]
    hits = inside.search(["Until when can I return holiday orders?"], 5)
    assert hits[0].article.id == "holiday-returns"


# -- retrieval -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "best"),
    [
        ("How long does standard shipping take?", "shipping"),
        ("Can I send back opened coffee beans for a refund?", "returns-policy"),
        ("Do gift cards expire?", "gift-cards"),
        ("My grinder broke after a year, is that covered?", "warranty"),
        ("How often should I descale my espresso machine?", "descaling"),
    ],
)
def test_retrieval_ranks_the_right_article_first(question, best):
    hits = search(question)
    assert hits, question
    assert hits[0].article.id == best
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_top_k_limits_the_hits():
    assert len(search("shipping refund warranty gift card descale", top_k=2)) == 2


def test_confidence_is_a_share():
    for question in ("How long does standard shipping take?", "Do gift cards expire?",
                     "shipping refund warranty", "What is the capital of Peru?",
                     "Burr Grinder S2"):
        for hit in search(question, top_k=5):
            assert 0.0 <= hit.confidence <= 1.0


def test_confidence_is_high_for_an_on_topic_question():
    (best, *_) = search("How long does express shipping take?")
    assert best.article.id == "shipping"
    assert best.confidence >= 0.8


def test_confidence_is_low_for_an_off_topic_question():
    """Shares a word with the KB ("cards") but asks about something the shop does not cover."""
    hits = search("Which football cards from the 1994 world cup tournament are rarest?")
    assert all(h.confidence < 0.35 for h in hits)


def test_off_topic_question_with_no_known_word_has_no_hit():
    assert search("Is the weather nice in Paris tomorrow?") == ()


def test_product_names_do_not_lower_confidence():
    plain = search("Does the warranty cover worn burrs?")
    named = search("Does the warranty cover worn burrs on my Burr Grinder S2?")
    assert plain[0].article.id == named[0].article.id == "warranty"
    assert named[0].confidence >= plain[0].confidence
    plain = search("How long does standard shipping take?")
    named = search("How long does standard shipping take for a Gooseneck Kettle?")
    assert named[0].article.id == "shipping"
    assert named[0].confidence >= plain[0].confidence >= 0.8


FAQ = article("faq", "Answers to what we are asked most.\n\n### Do you ship to Canada?\n\n"
              "Yes, in 5-8 business days.\n\n### How long do I have to send something back?\n\n"
              "You have 30 days from delivery. See our returns article.\n\n**Gift wrap**\n\n"
              "Wrapping is free at checkout.\n\n### Can I change my delivery address?\n\nYes, until"
              " your order is packed: write to us with your order number and the new address,"
              " and we confirm the change by email.", title="Frequently asked questions")
POLICY = article("returns", "Items must be unused and in their packaging. Sale items and"
                 " opened coffee can be sent back for store credit only; send something back"
                 " through our portal, and send back a gift with its gift receipt. Refunds"
                 " take 5 business days once what you send back arrives.", title="Our policies")


def test_an_faq_heading_that_asks_the_question_names_its_article():
    """A long FAQ mentions "send back" once among other topics; its heading asks the question."""
    kb = KnowledgeBase((FAQ, POLICY))
    (best, *_) = kb.index_for(DAY).search(["how long do i have to send something back?"], 2)
    assert best.article.id == "faq"


def test_an_faq_heading_that_is_the_customers_question_outranks_a_mere_title_match():
    """The FAQ asks "How long do I have to send something back?"; another article is titled
    for sending back but does not ask it. Near miss: a question of the FAQ nobody asked."""
    titled = article("send-back", "Items must be unused. Send something back through our"
                     " portal; send back a gift with its receipt. Refunds take 5 days once what"
                     " you send back arrives.", title="Sending something back")
    kb = KnowledgeBase((FAQ, titled))
    (best, *_) = kb.index_for(DAY).search(["how long do i have to send something back?"], 2)
    assert best.article.id == "faq"
    (best, *_) = kb.index_for(DAY).search(["can i send a gift back?"], 2)
    assert best.article.id == "send-back"


@pytest.mark.parametrize(
    ("body", "headings"),
    [
        ("### Do you ship to Canada?\nYes.", ["Do you ship to Canada?"]),
        ("## Returns ##\ntext", ["Returns"]),
        ("**Gift wrap:**\nFree.", ["Gift wrap"]),
        ("Can I pay later?\nYes, with Klarna.", ["Can I pay later?"]),
        # a paragraph that ends with a question is not a heading when it is long
        ("If you ordered in November, you may wonder whether the Black Friday price still"
         " applies to the items you bought at full price last week?", []),
        ("Plain text. And more text.", []),
    ],
)
def test_headings_inside_an_article(body, headings):
    assert retrieval._headings(body) == headings


def test_a_one_word_heading_does_not_name_its_article():
    """"Returns" labels a section of the gift-set article; it does not make it the returns one."""
    gift = article("gift-set", "Our gift set holds five minis.\n\n## Returns\n\nReturn the set"
                   " unopened.", title="The gift set")
    kb = KnowledgeBase((gift, POLICY))
    index = kb.index_for(DAY)
    assert index._title_share(0, set(tokenize("can i return this"))) == 0.0


def test_an_empty_kb_retrieves_nothing():
    assert KnowledgeBase([]).index_for(DAY).search(["How long does shipping take?"], 3) == ()


def test_tokenize_stems_and_drops_stop_and_chat_words():
    words = tokenize("Hi! How long does it take to ship 3 items within 30 days, please?")
    assert "ship" in words and "item" in words and "3" in words and "30" in words
    assert not {"hi", "how", "does", "it", "to", "please"} & set(words)
    assert tokenize("Shipping") == tokenize("shipped") == tokenize("SHIPS")
    # a stop word without its apostrophe, or inflected, is one too; a topic word is kept
    assert tokenize("whats the code, hows it getting there") == ["code"]
    assert tokenize("the uses of it") == ["use"]


def test_a_words_derived_forms_are_one_word():
    # the customer is "pregnant" and "allergic", the article speaks of "pregnancy" and "allergy"
    assert tokenize("pregnant") == tokenize("pregnancy")
    assert tokenize("allergic") == tokenize("allergies") == tokenize("allergy")
    assert tokenize("warranty") == tokenize("warranties")
    # near misses: short words keep their endings
    assert tokenize("event") != tokenize("even") and tokenize("agent") == ["agent"]
    assert tokenize("ski") == ["ski"] and tokenize("taxi") == ["taxi"]


def test_a_french_elision_keeps_the_name():
    assert tokenize("Nuit d'Orangerie") == tokenize("nuit orangerie")
    assert tokenize("L\u2019Atelier") == tokenize("atelier")
    assert tokenize("don't the customer's") == tokenize("customer")  # near miss: English


def test_a_sale_days_name_is_one_word():
    assert "blackfriday" in tokenize("Are you doing anything for Black Friday?")
    assert "cybermonday" in tokenize("cyber-monday deals")
    # near miss: a weekday is still a weekday
    assert tokenize("Open Monday to Friday") == ["open", "monday", "friday"]
