"""catalog.py: products named in free text, whatever the case, punctuation or plural."""

from __future__ import annotations

import pytest

from harness.grading.catalog_check import catalog_claims
from harness.kb.catalog import find_products, named_in_other_order, variants_named
from harness.store.schema import Catalog, Product

CATALOG = Catalog(products=(
    Product(sku="GRD-S2", name="Burr Grinder S2", price=189.0, aliases=("S2",)),
    Product(sku="GRD-S1", name="Burr Grinder S1", price=149.0, status="discontinued"),
    Product(sku="ESP-C1", name="Crema One", price=449.0),
    Product(sku="ESP-C1P", name="Crema One Plus", price=599.0, aliases=("C1 Plus",)),
    Product(sku="KTL-GN", name="Gooseneck Kettle", price=59.95),
    Product(sku="BLD-BC", name="Barista's Choice Blend", price=18.0),
))


def skus(text: str) -> list[str]:
    return [m.product.sku for m in find_products(text, CATALOG)]


@pytest.mark.parametrize(
    "text",
    [
        "I love my Burr Grinder S2",
        "BURR GRINDER S2 is loud",
        "burr grinder s2?",
        "the burr-grinder s2",  # punctuation between words
        "the Burr Grinder, S2",
        "the burr_grinder_s2",
        "two Burr Grinders S2",  # plural word inside the name
        "my S2 is loud",  # alias
        "(S2)",
    ],
)
def test_names_the_burr_grinder_s2(text):
    assert skus(text) == ["GRD-S2"]


def test_plural_of_a_name_ending_in_a_model_code():
    """The module's own example: "Burr Grinder S2s" names the Burr Grinder S2."""
    assert skus("We bought two Burr Grinder S2s for the office") == ["GRD-S2"]


@pytest.mark.parametrize("text", ["Gooseneck Kettles", "gooseneck kettles!", "GOOSENECK-KETTLE"])
def test_plural_and_case_of_a_word_name(text):
    assert skus(text) == ["KTL-GN"]


@pytest.mark.parametrize("text", ["Barista's Choice Blend", "Barista\u2019s Choice Blend",
                                  "baristas choice blend"])
def test_name_with_an_apostrophe(text):
    """A name is found as the catalog writes it, apostrophe and all."""
    assert skus(text) == ["BLD-BC"]


@pytest.mark.parametrize("text", ["the S20 grinder", "model XS2", "Burr Grinder S3", "crema",
                                  "Grinder S2S1"])
def test_no_false_mentions(text):
    assert skus(text) == []


def test_overlapping_names_take_the_longest():
    assert skus("Is the Crema One Plus worth it?") == ["ESP-C1P"]
    assert skus("crema-one plus") == ["ESP-C1P"]


def test_overlapping_names_in_text_order_with_positions():
    text = "Crema One Plus or Crema One, or the C1 Plus?"
    mentions = find_products(text, CATALOG)
    assert [m.product.sku for m in mentions] == ["ESP-C1P", "ESP-C1", "ESP-C1P"]
    assert [text[m.start:m.end] for m in mentions] == ["Crema One Plus", "Crema One", "C1 Plus"]


def test_two_products_and_discontinued_ones_are_found():
    assert skus("Burr Grinder S1 or Burr Grinder S2?") == ["GRD-S1", "GRD-S2"]


def test_empty_catalog_and_empty_names():
    assert find_products("Burr Grinder S2", Catalog()) == ()
    odd = Catalog(products=(Product(sku="X", name="---", price=1.0),))
    assert find_products("--- and more ---", odd) == ()


def test_a_product_the_reply_said_is_recalled_is_not_offered_by_a_later_mention():
    recall = ("We have recalled the Burr Grinder S1. We're refunding every Burr Grinder S1,"
              " whatever its date.")
    assert catalog_claims(recall, CATALOG) == []
    # near miss: refunding every unit is recall advice, not an offer; but nothing in the reply
    # says the product is gone, so a later plain mention offers it
    offered = "We're refunding every Burr Grinder S1. The Burr Grinder S1 is a great choice."
    assert [(c.text, c.problem) for c in catalog_claims(offered, CATALOG)] == [
        ("The Burr Grinder S1 is a great choice.",
         "offers Burr Grinder S1, which the catalog lists as discontinued")]
    advice = "Stop using your Burr Grinder S1; the affected units have serials from 2025."
    assert catalog_claims(advice, CATALOG) == []
    # near miss: the recall told after the offer does not undo the offer
    later = "Buy the Burr Grinder S1 today. The Burr Grinder S1 was recalled."
    assert len(catalog_claims(later, CATALOG)) == 1


def test_a_product_withdrawn_from_sale_is_not_offered():
    assert catalog_claims("In October we withdrew the Burr Grinder S1 from sale.", CATALOG) == []
    assert catalog_claims("We no longer stock the Burr Grinder S1.", CATALOG) == []
    # near miss: a plain mention still offers it
    assert catalog_claims("The Burr Grinder S1 is in stock.", CATALOG) != []


def test_each_catalog_finds_its_own_products_in_one_process():
    """Names are indexed per catalog (a store and its what-if variants share a process):
    a second catalog, or a variant that renames a product, never sees the first one's."""
    renamed = CATALOG.model_copy(update={"products": (
        Product(sku="GRD-S2", name="Precision Mill", price=189.0),)})
    assert skus("the Burr Grinder S2 or the Precision Mill") == ["GRD-S2"]
    found = find_products("the Burr Grinder S2 or the Precision Mill", renamed)
    assert [(m.product.name, m.start) for m in found] == [("Precision Mill", 27)]
    assert skus("two Burr Grinders S2 and one Crema One Plus") == ["GRD-S2", "ESP-C1P"]


def test_ascii_and_accented_text_fold_alike():
    from harness.text.tokens import fold, tokenize

    accented = Catalog(products=(Product(sku="SL", name="Sérum Lumière", price=30.0),))
    assert [m.product.sku for m in find_products("my serum lumiere", accented)] == ["SL"]
    assert [m.product.sku for m in find_products("my SÉRUM LUMIÈRE", accented)] == ["SL"]
    assert fold("Crème brûlée, plain text") == "Creme brulee, plain text"
    words = tokenize("Returns within 30 days")
    assert words == ["return", "within", "30", "day"]
    words.append("mutated")  # a caller's list is its own: the next call is unchanged
    assert tokenize("Returns within 30 days") == ["return", "within", "30", "day"]


def test_a_model_word_after_a_catalog_name_names_a_product_the_catalog_lacks():
    found = catalog_claims("Its successor is the Burr Grinder S1 Pro ($169.00).", CATALOG)
    assert [c.problem for c in found] == [
        "names 'Burr Grinder S1 Pro', which is not in the catalog (it has Burr Grinder S1)"]
    # near misses: the catalog's own longer name, and a plain word after a name
    assert catalog_claims("The Crema One Plus adds a pressure gauge.", CATALOG) == []
    assert catalog_claims("The Burr Grinder S2 Pros love it.", CATALOG) == []


def test_the_price_a_discount_starts_from_is_the_products_catalog_price():
    wrong = catalog_claims("Subscriptions are 10% off, so instead of $19.50 a bag you'd pay"
                           " about $17.55 for the Barista's Choice Blend.", CATALOG)
    assert [c.problem for c in wrong] == ["gives $19.50 as the regular price of Barista's"
                                          " Choice Blend; the catalog says $18.00"]
    # near misses: the right regular price, and the discounted price itself
    assert catalog_claims("The Crema One is 25% off, $336.75 instead of $449.00.", CATALOG) == []
    assert catalog_claims("With 10% off, the Barista's Choice Blend comes to $16.20.",
                          CATALOG) == []


def test_another_size_or_version_of_a_named_product_asked_for_by_its_one_different_word():
    beds = Catalog(products=(
        Product(sku="M", name="Cloud Donut Bed Medium", price=44.9),
        Product(sku="L", name="Cloud Donut Bed Large", price=59.9),
        Product(sku="R", name="Crema One Refill", price=9.0),
        *CATALOG.products,
    ))

    def variants(text: str) -> list[str]:
        named = tuple(m.product for m in find_products(text, beds))
        return [p.sku for p in variants_named(text, named, beds)]

    assert variants("got the Cloud Donut Bed Medium, how much is the large one?") == ["L"]
    assert variants("my Crema One needs a refill") == ["R"]
    # near misses: no other word of a sibling's name; a sibling differing by two words
    assert variants("got the Cloud Donut Bed Medium, it is lovely") == []
    assert variants("the Burr Grinder S2, or is the Crema One Plus better?") == []


def test_a_product_named_by_every_word_of_a_name_in_another_order():
    """Customers reorder names: "a 12kg bag of the chicken and rice" is the alias "chicken and
    rice 12kg", "the large donut bed" the Cloud Donut Bed Large; the record is sent."""
    food = Catalog(products=(
        Product(sku="CR12", name="Adult Dog Chicken & Rice 12kg", price=54.9,
                aliases=("chicken and rice 12kg",)),
        Product(sku="CR2", name="Adult Dog Chicken & Rice 2kg", price=14.9,
                aliases=("chicken and rice 2kg",)),
        Product(sku="L", name="Donut Bed Large", price=59.9),
        Product(sku="TW", name="Chicken Twists", price=5.5),
    ))

    def skus(text: str) -> list[str]:
        return [p.sku for p in named_in_other_order(text, food)]

    assert skus("opened a 12kg bag of the chicken and rice yesterday") == ["CR12"]
    assert skus("how much is the large donut bed?") == ["L"]
    assert skus("my dog loves the twists with chicken") == ["TW"]
    # near misses: the words across two sentences; a name already found; one word of two
    assert skus("the bed is lovely. is the large one in stock?") == []
    assert named_in_other_order("the donut bed large", food, food.products[2:3]) == ()
    assert skus("chicken for dinner") == []
