"""The reference model reads a system prompt in the layouts teams write for real LLMs."""

from __future__ import annotations

import json

import pytest

from harness.agent.escalation import escalate_tool
from harness.providers.reference import answer, read_prompt
from harness.store.schema import Escalation

RETURNS = "You can return unused items within 30 days of delivery.\nOpened tea cannot be returned."
SHIPPING = "Standard shipping costs $4.95 and takes 3-5 business days."
INTRO = ("You are the support assistant for Leaf & Kettle, an online tea shop.\n"
         "Answer only from the knowledge base below.\n")

LAYOUTS = {
    "tags": (f'<article id="returns" title="Returns">\n{RETURNS}\n</article>\n'
             f'<article id="shipping" title="Shipping">\n{SHIPPING}\n</article>\n'),
    "headings": (f"## Help-centre articles\n\n### Returns (returns)\n\n{RETURNS}\n\n"
                 f"### Shipping (shipping)\n\n{SHIPPING}\n"),
    "numbered": f"## Articles\n\n1. Returns\n\n{RETURNS}\n\n2. Shipping\n\n{SHIPPING}\n",
    "json": "Knowledge base (JSON):\n" + json.dumps(
        [{"id": "returns", "title": "Returns", "body": RETURNS},
         {"id": "shipping", "title": "Shipping", "body": SHIPPING}], indent=1) + "\n",
    "yaml": ("Knowledge base:\n```yaml\n- title: Returns\n  body: |\n    "
             + RETURNS.replace("\n", "\n    ") + "\n- title: Shipping\n  body: " + SHIPPING
             + "\n```\n"),
    "paragraphs": f"Reference material:\nReturns\n{RETURNS}\n\nShipping\n{SHIPPING}\n",
    # capitals for the section, "Article:" before each title
    "labelled": f"KNOWLEDGE BASE\n\nArticle: Returns\n{RETURNS}\n\nArticle: Shipping\n{SHIPPING}\n",
    # articles between horizontal rules, their own sections at the same level as titles
    "ruled": (f"## Reference articles\n\n## Returns\n\n{RETURNS}\n\n## Exceptions\n\nNone.\n\n"
              f"---\n\n## Shipping\n\n{SHIPPING}\n\n---\n"),
    # "=== X ===" sections, "Title:" and "Content:" lines; a short line of a body after a
    # blank line ("Exceptions") opens no article
    "key-value": (f"=== ARTICLES ===\n\nTitle: Returns\nContent:\n{RETURNS}\n\nExceptions\n"
                  f"None.\n\nTitle: Shipping\nContent:\n{SHIPPING}\n"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_reads_the_articles_of_every_layout(layout: str):
    understood = read_prompt(INTRO + LAYOUTS[layout])
    assert len(understood.articles) == 2, understood
    assert "30 days" in understood.articles[0].body
    assert "$4.95" in understood.articles[1].body
    assert understood.articles[0].title == "Returns"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_answers_from_every_layout(layout: str):
    messages = [{"role": "system", "content": INTRO + LAYOUTS[layout]},
                {"role": "user", "content": "How many days do I have to return an item?"}]
    result = answer(messages, [escalate_tool(Escalation())])
    assert result.content and "30 days" in result.content


@pytest.mark.parametrize(("ask", "limit"), [
    ("Keep replies under 80 words.", 80), ("Keep every answer short: 100 words max.", 100),
    ("Your answer must be 90 words or fewer.", 90), ("Responses must not exceed 120 words.", 120),
    ("Use no more than 60 words.", 60), ("Keep it below 70 words.", 70),
])
def test_reads_the_word_limit(ask: str, limit: int):
    assert read_prompt(INTRO + ask + "\n").max_words == limit


def test_an_articles_word_count_is_no_word_limit():
    prompt = INTRO + "Keep replies under 80 words.\n## Articles\n\n1. Engraving\n\n" \
        "Engraving takes up to 20 words of text.\n"
    assert read_prompt(prompt).max_words == 80


@pytest.mark.parametrize("ask", [
    'End every reply with "- The Leaf team".',
    "Sign every reply with: - The Leaf team",
    "Sign every reply with:\n- The Leaf team",
    "Close every message with '- The Leaf team'.",
    "Conclude every response with the following line on its own: - The Leaf team",
    # asked as a label, a passive or a line below
    "Every message ends with '- The Leaf team'",
    "Your replies should be signed '- The Leaf team'.",
    "sign_off: '- The Leaf team'",
    "Closing: - The Leaf team",
    "**Sign-off:** - The Leaf team",
    "Conclude each message with the signature below.\n\n- The Leaf team",
    "Close each reply with the following:\n\n- The Leaf team",
])
def test_reads_the_sign_off(ask: str):
    assert read_prompt(INTRO + ask + "\n").sign_off == "- The Leaf team"


@pytest.mark.parametrize("records", [
    "## Product records\n- Sencha Green Tea (TEA-1): 12.50 USD - active\n"
    "- Cast Iron Teapot (POT-2): 54.00 USD - discontinued\n",
    "## Products\n| Product | Price | Availability |\n| --- | --- | --- |\n"
    "| Sencha Green Tea | $12.50 | Available |\n| Cast Iron Teapot | $54.00 | Discontinued |\n",
    "Product records (JSON):\n" + json.dumps(
        [{"name": "Sencha Green Tea", "price": 12.5, "status": "active"},
         {"name": "Cast Iron Teapot", "price": 54.0, "status": "discontinued"}]) + "\n",
    "Products:\n```yaml\n- name: Sencha Green Tea\n  price: 12.50 USD\n"
    "- name: Cast Iron Teapot\n  price: 54.00 USD\n  status: discontinued\n```\n",
    "Product records:\nSencha Green Tea costs $12.50.\nCast Iron Teapot costs $54.00 and is"
    " discontinued.\n",
])
def test_reads_product_records(records: str):
    understood = read_prompt(INTRO + "## Articles\n\n### Returns\n\n" + RETURNS + "\n\n" + records)
    by_name = {p.name: p for p in understood.products}
    assert by_name["Sencha Green Tea"].price == "$12.50"
    assert by_name["Sencha Green Tea"].status == "active"
    assert by_name["Cast Iron Teapot"].status == "discontinued"
    messages = [{"role": "system", "content": INTRO + records},
                {"role": "user", "content": "How much is the Sencha Green Tea?"}]
    assert "$12.50" in (answer(messages).content or "")


def test_says_plainly_when_the_prompt_has_no_kb():
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "How long do I have to return an item?"}]
    result = answer(messages, [escalate_tool(Escalation())])
    assert result.escalation is not None
    assert "found no knowledge base articles" in result.escalation["reason"]
    assert read_prompt("You are a helpful assistant.").notes


def test_an_empty_kb_section_is_no_article():
    understood = read_prompt(INTRO + "## Help-centre articles\n\nNo articles matched this"
                             " question.\n## Product records\nNo products mentioned.\n")
    assert understood.articles == ()


@pytest.mark.parametrize(("ask", "limit"), [
    ("Limit your reply to 80 words.", 80), ("Replies should be 80 words or less.", 80),
    ("Never write more than 80 words.", 80), ("Word limit: 80.", 80),
    ("Keep answers no longer than 80 words.", 80), ("There is an 80-word limit.", 80),
])
def test_reads_more_ways_of_asking_for_a_word_limit(ask: str, limit: int):
    assert read_prompt(INTRO + ask + "\n").max_words == limit


@pytest.mark.parametrize("ask", [
    "Sign off with - The Leaf team",
    "Always end with - The Leaf team.",
    "End every reply with - The Leaf team on its own line.",
    "Your signature is: - The Leaf team",
    "The last line of every reply must be: - The Leaf team",
])
def test_reads_more_ways_of_asking_for_a_sign_off(ask: str):
    assert read_prompt(INTRO + ask + "\n").sign_off == "- The Leaf team"


def test_an_instruction_about_the_ending_is_no_sign_off():
    assert read_prompt(INTRO + "End each reply with a question if you need details.\n"
                       ).sign_off is None


def test_reads_a_word_limit_written_out():
    assert read_prompt(INTRO + "Keep replies under eighty words.\n").max_words == 80
    assert read_prompt(INTRO + "Answers longer than 60 words are cut.\n").max_words == 60


@pytest.mark.parametrize("ask", [
    'Finish replies with "- The Leaf team".',
    "The sign-off is - The Leaf team",
    'Include "- The Leaf team" at the end of every reply.',
    "Every reply ends with the signature - The Leaf team",
    "Sign off as: - The Leaf team",
])
def test_reads_yet_more_ways_of_asking_for_a_sign_off(ask: str):
    assert read_prompt(INTRO + ask + "\n").sign_off == "- The Leaf team"


@pytest.mark.parametrize(("ask", "limit"), [
    ("Length: 80 words at most.", 80), ("Limit: 80 words.", 80),
    ("Answer in about 80 words.", 80), ("Stay within an 80-word limit.", 80),
])
def test_reads_yet_more_ways_of_asking_for_a_word_limit(ask: str, limit: int):
    assert read_prompt(INTRO + ask + "\n").max_words == limit


@pytest.mark.parametrize(("ask", "limit"), [
    ("Keep answers short (max. 90 words).", 90),
    ("Aim for 60-80 words.", 80),
    ("Aim for 60 to 80 words per reply.", 80),
    ("Limit responses to 3 sentences and 70 words.", 70),
])
def test_more_ways_of_asking_for_a_word_limit(ask: str, limit: int):
    assert read_prompt(ask).max_words == limit


def test_a_range_of_days_is_no_word_limit():
    assert read_prompt("Refunds take 5-7 business days; keep it friendly.").max_words is None


@pytest.mark.parametrize("ask", [
    "Emails are signed by the agent on duty.",
    "Answer the question, then close by offering more help.",
    "All replies end with a question.",
])
def test_a_sentence_about_signing_or_closing_is_no_sign_off(ask: str):
    assert read_prompt(INTRO + ask + "\n").sign_off is None


@pytest.mark.parametrize(("ask", "limit"), [
    ("Length: \u2264 80 words", 80), ("- Max words: 80", 80), ("max_words: 80", 80),
])
def test_reads_a_word_limit_written_as_a_setting(ask: str, limit: int):
    assert read_prompt(INTRO + ask + "\n").max_words == limit


def two_articles(heading: str) -> str:
    """A prompt with two plain-paragraph articles under `heading`, ready for what follows."""
    return (f"You answer for The Leaf.\n\n{heading}\n\nReturns\nYou can return items within 30"
            " days.\n\nShipping\nShipping takes 3 days.\n\n")


@pytest.mark.parametrize("after", [
    "## How to write\n\nKeep replies under 80 words. Sign off with - The Leaf team\n",
    "---\n\nINSTRUCTIONS\n\nKeep replies under 80 words. End every reply with: - The Leaf team\n",
])
def test_instructions_after_the_articles_are_read_as_asks(after: str):
    understood = read_prompt(two_articles("## Help articles") + after)
    assert (understood.max_words, understood.sign_off) == (80, "- The Leaf team")
    assert [a.title for a in understood.articles] == ["Returns", "Shipping"]


def test_an_article_titled_like_instructions_stays_an_article():
    # near miss: "Shipping rules" under the KB heading asks for no sign-off or word limit
    understood = read_prompt("You answer for The Leaf. Keep replies under 80 words.\n\n"
                             "## Help articles\n\n### Returns\nYou can return items within 30 "
                             "days.\n\n### Shipping rules\nShipping takes 3 days.\n")
    assert [a.title for a in understood.articles] == ["Returns", "Shipping rules"]


@pytest.mark.parametrize("settings", [
    '```json\n{"tone": {"max_words": 80, "sign_off": "- The Leaf team"}}\n```',
    "| Setting | Value |\n| --- | --- |\n| Word limit | 80 |\n| Sign-off | - The Leaf team |",
])
def test_reads_the_tone_given_as_settings(settings: str):
    understood = read_prompt(INTRO + settings + "\n")
    assert (understood.max_words, understood.sign_off) == (80, "- The Leaf team")


@pytest.mark.parametrize("after", [
    "Answer in at most 80 words. Sign every reply with - The Leaf team\n",
    "Keep your replies under 80 words.\nEnd each response with: - The Leaf team\n",
    "Rules\n- Replies stay under 80 words.\n- Always close your answers with \"- The Leaf team\"\n",
])
def test_unheaded_instructions_after_the_last_article_are_asks(after: str):
    understood = read_prompt(two_articles("Help articles:") + after)
    assert (understood.max_words, understood.sign_off) == (80, "- The Leaf team")
    assert [a.title for a in understood.articles] == ["Returns", "Shipping"]
    assert "80 words" not in understood.articles[-1].body


def test_unheaded_instructions_after_the_products_are_asks():
    understood = read_prompt("You answer for The Leaf.\n\nHelp articles:\n\nReturns\nYou can "
                             "return items within 30 days.\n\nProducts:\n- Green tea: $5.00\n"
                             "- Black tea: $6.00\n\nAnswer in at most 80 words. Sign every "
                             "reply with - The Leaf team\n")
    assert (understood.max_words, understood.sign_off) == (80, "- The Leaf team")
    assert [p.name for p in understood.products] == ["Green tea", "Black tea"]


@pytest.mark.parametrize("body", [
    "You can add a gift message at checkout. Keep it under 20 words.",
    "Engraving takes up to 12 words. Every order email ends with your order number.",
])
def test_an_article_speaking_of_words_or_endings_stays_whole(body: str):
    # near miss: the article addresses the customer, not the assistant's replies
    understood = read_prompt("You answer for The Leaf. Keep replies under 80 words.\n\n"
                             "Help articles:\n\nReturns\nYou can return items within 30 days."
                             f"\n\nGifts\n{body}\n")
    assert understood.articles[-1].body == body
    assert understood.max_words == 80


def test_an_articles_own_headings_of_the_title_level_do_not_split_it():
    """Titles carry ids ("### Returns FAQ (faq-returns)"); the FAQ's questions are headings
    of the same level without one, and stay inside their article."""
    faq = "### Can I return sale items?\n\nYes, within 14 days.\n\n### Do I pay?\n\nNo."
    understood = read_prompt(INTRO + "## Help-centre articles\n\n### Returns FAQ (faq-returns)"
                             f"\n\n{faq}\n\n### Shipping (shipping)\n\n{SHIPPING}\n")
    assert [(a.title, a.id) for a in understood.articles] == [
        ("Returns FAQ", "faq-returns"), ("Shipping", "shipping")]
    assert "within 14 days" in understood.articles[0].body
    # near miss: titles without ids still split at every heading of their level
    plain = read_prompt(INTRO + "## Help-centre articles\n\n### Returns\n\nWithin 30 days.\n\n"
                        "### Shipping\n\n3 days.\n")
    assert [a.title for a in plain.articles] == ["Returns", "Shipping"]


def test_a_title_with_a_label_may_be_a_question():
    understood = read_prompt(INTRO + "KNOWLEDGE BASE\n\nArticle: When will I get my refund?\n"
                             "Refunds arrive within 5 days.\n\nArticle: Shipping\n" + SHIPPING)
    assert [a.title for a in understood.articles] == ["When will I get my refund?", "Shipping"]
    rag = read_prompt(INTRO + "Context:\n\n[1] Returns\n" + RETURNS + "\n\n[2] Shipping\n"
                      + SHIPPING + "\n\nProducts mentioned:\nProduct: Salmon Kibble 12kg \u2014"
                      " Price: 62.50 USD \u2014 Status: active\n")
    assert [a.title for a in rag.articles] == ["Returns", "Shipping"]
    assert [(p.name, p.price) for p in rag.products] == [("Salmon Kibble 12kg", "$62.50")]


def test_an_empty_data_block_is_no_article():
    understood = read_prompt(INTRO + "Help articles:\n```yaml\narticles:\n```\n")
    assert understood.articles == ()


@pytest.mark.parametrize("shelf", [
    'PRODUCT LIST (EUR)\n- Salmon Kibble 12kg | 62.50 | active\n',
    '<products currency="EUR">\n<product name="Salmon Kibble 12kg" price="62.50" status="active"/>'
    '\n</products>\n',
    "## Catalogue (EUR)\n\n| Name | Price | Availability |\n| --- | --- | --- |\n"
    "| Salmon Kibble 12kg | 62.50 | active |\n",
])
def test_a_bare_price_takes_the_currency_the_prompt_names(shelf: str):
    understood = read_prompt(INTRO + LAYOUTS["tags"] + "\n" + shelf)
    assert [(p.name, p.price) for p in understood.products] == [
        ("Salmon Kibble 12kg", "\u20ac62.50")]
    # no currency named: the one the prompt's amounts are written in ("$4.95" of shipping)
    shipping = read_prompt(INTRO + LAYOUTS["tags"]
                           + '\n<product name="Salmon Kibble 12kg" price="62.50"/>')
    assert shipping.products[0].price == "$62.50"
    # near miss: no currency anywhere, the amount stays as written
    bare = read_prompt(INTRO + f'<article id="returns" title="Returns">\n{RETURNS}\n</article>\n'
                       '<product name="Salmon Kibble 12kg" price="62.50"/>')
    assert bare.products[0].price == "62.50"


@pytest.mark.parametrize("intro", [
    "You help customers of Loop & Thread by chat.",
    "You answer customer messages for Loop & Thread. Be friendly.",
    "You are the support assistant for Loop & Thread, a streetwear shop.",
    "You work for Loop & Thread customer care. Be kind.",
    "System: You are Loop & Thread's virtual assistant.",
])
def test_reads_the_shops_name_however_the_role_is_written(intro: str):
    assert read_prompt(intro + "\n" + LAYOUTS["tags"]).brand == "Loop & Thread"


def test_the_shops_name_from_the_sign_off_when_the_role_does_not_give_it():
    understood = read_prompt("Support agent. Be kind.\nSign every reply with: Stay fresh, the"
                             " Loop & Thread crew\n\n" + LAYOUTS["tags"])
    assert understood.brand == "Loop & Thread"
    # near miss: a sign-off naming no shop
    assert read_prompt("Support agent.\nSign every reply with: Best, the team\n\n"
                       + LAYOUTS["tags"]).brand == ""


def test_products_as_blocks_of_key_value_lines():
    """"Name: / Price: / Status:" blocks, one per product (read as YAML they would be one
    mapping holding the last block only)."""
    shelf = ("=== PRODUCTS ===\n\nName: Salmon Kibble 12kg\nPrice: 62.50 EUR\nStatus: active\n\n"
             "Name: Chicken Twists\nPrice: 5.50 EUR\nStatus: discontinued\n")
    understood = read_prompt(INTRO + LAYOUTS["key-value"] + "\n" + shelf)
    assert [(p.name, p.price, p.status) for p in understood.products] == [
        ("Salmon Kibble 12kg", "\u20ac62.50", "active"),
        ("Chicken Twists", "\u20ac5.50", "discontinued")]
    # blocks with no blank line between them: a key seen again starts the next product
    packed = read_prompt(INTRO + LAYOUTS["key-value"] + "\nPRODUCTS\n- name: Salmon Kibble\n"
                         "- price: $62.50\n- name: Chicken Twists\n- price: $5.50\n")
    assert [p.name for p in packed.products] == ["Salmon Kibble", "Chicken Twists"]
    assert understood.articles[0].body.startswith("You can return")  # "Content:" is layout
