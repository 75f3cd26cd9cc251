"""loading.py: every broken file is explained with its file, line and key; a good store loads
into frozen values."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError
from storekit import SUITES

from harness.errors import LoadError
from harness.store.loading import StoreLoadError, load_case, load_store, suite_files

GOOD_CASE = """\
topic: returns
conversation:
  - customer: How many days do I have to return an item?
expect:
  outcome: resolve
  facts: ["30 days"]
"""


def assert_names(error: LoadError, path: Path, line: int | None, key: str | None) -> None:
    """The message names the file, the line and the key (and so do the attributes)."""
    message = str(error)
    assert path.name in message
    assert error.path == path
    assert error.line == line
    assert error.key == key
    if line is not None:
        assert f"line {line}" in message
    if key is not None:
        assert f"`{key}`" in message


def one_case(make_store, text: str, suite: str = "core", stem: str = "bad") -> tuple[Path, Path]:
    root = make_store(suites={suite: {stem: text}})
    return root, root / "suites" / suite / f"{stem}.yaml"


def load_one(make_store, text: str) -> tuple[LoadError, Path]:
    root, path = one_case(make_store, text)
    store = load_store(root)
    with pytest.raises(LoadError) as caught:
        load_case(path, store, {})
    return caught.value, path


def store_error(root: Path) -> StoreLoadError:
    with pytest.raises(StoreLoadError) as caught:
        load_store(root)
    return caught.value


# -- fixtures --------------------------------------------------------------------------------


def test_unknown_top_level_key_in_fixture(make_store):
    error, path = load_one(make_store, GOOD_CASE + "priority: high\n")
    assert_names(error, path, 7, "priority")
    assert "unknown key" in str(error)
    assert "expected one of:" in str(error) and "conversation" in str(error)


def test_unknown_nested_key_in_fixture(make_store):
    text = GOOD_CASE.replace('  facts: ["30 days"]\n', '  fact: ["30 days"]\n')
    error, path = load_one(make_store, text)
    assert_names(error, path, 6, "expect.fact")
    assert "unknown key" in str(error)
    assert "forbidden" in str(error)  # names the keys `expect` takes


@pytest.mark.parametrize("key", ["path", "lines"])
def test_internal_field_names_are_unknown_keys_in_a_fixture(make_store, key):
    """`path` and `lines` are the harness's bookkeeping, not keys of the fixture format: a
    fixture that sets one must be refused like any unknown key, not silently overwritten."""
    root, path = one_case(make_store, GOOD_CASE + f"{key}: something\n")
    store = load_store(root)
    with pytest.raises(LoadError) as caught:
        load_case(path, store, {})
    assert_names(caught.value, path, 7, key)


def test_wrong_type_in_fixture(make_store):
    text = GOOD_CASE.replace("topic: returns\n", "topic: returns\ntags: 5\n")
    error, path = load_one(make_store, text)
    assert_names(error, path, 2, "tags")


def test_turn_that_is_neither_customer_nor_agent(make_store):
    text = GOOD_CASE.replace("  - customer: How", "  - bot: hi\n  - customer: How")
    error, path = load_one(make_store, text)
    assert_names(error, path, 3, "conversation.0")
    assert "customer" in str(error)


def test_last_turn_must_be_the_customer(make_store):
    text = GOOD_CASE.replace("expect:", "  - agent: Thirty days.\nexpect:")
    error, path = load_one(make_store, text)
    assert_names(error, path, 2, "conversation")
    assert "last turn" in str(error)


def test_bad_outcome_is_a_bad_status(make_store):
    error, path = load_one(make_store, GOOD_CASE.replace("outcome: resolve", "outcome: fixed"))
    assert_names(error, path, 5, "expect.outcome")
    assert "'fixed'" in str(error) and "resolve" in str(error)


def test_bad_date_in_fixture(make_store):
    error, path = load_one(make_store, GOOD_CASE + "as_of: 2026-13-01\n")
    assert_names(error, path, 7, "as_of")
    assert "expected a date YYYY-MM-DD" in str(error) and "2026-13-01" in str(error)


def test_bad_regex_in_fixture(make_store):
    text = GOOD_CASE.replace('facts: ["30 days"]', 'facts: ["30 days", "/(unclosed/"]')
    error, path = load_one(make_store, text)
    assert_names(error, path, 6, "expect.facts.1")
    assert "regular expression" in str(error) and "(unclosed" in str(error)


def test_duplicate_yaml_key_in_fixture(make_store):
    error, path = load_one(make_store, GOOD_CASE + "topic: refunds\n")
    assert_names(error, path, 7, "topic")
    assert "duplicate key" in str(error)


def test_duplicate_nested_yaml_key_in_fixture(make_store):
    error, path = load_one(make_store, GOOD_CASE + "  outcome: escalate\n")
    assert_names(error, path, 7, "expect.outcome")


def test_invalid_yaml_names_the_line(make_store):
    error, path = load_one(make_store, GOOD_CASE + "tags: [policy\n")
    assert path.name in str(error)
    assert error.line is not None and error.line >= 7
    assert "invalid YAML" in str(error)


def test_articles_naming_no_article(make_store):
    text = GOOD_CASE + "  articles: [returns-policy, no-such-article]\n"
    error, path = load_one(make_store, text)
    assert_names(error, path, 7, "expect.articles.1")
    assert "no-such-article" in str(error)


def test_articles_naming_a_draft_article_is_fine(make_store):
    """`articles:` names files of the KB; whether one is served is the run's business."""
    articles = {"returns-policy": {"title": "R", "topic": "returns", "status": "draft",
                                   "body": "Thirty days."}}
    root = make_store(articles=articles,
                      suites={"core": {"c": GOOD_CASE + "  articles: [returns-policy]\n"}})
    case = load_case(root / "suites/core/c.yaml", load_store(root), {})
    assert case.expect.articles == ("returns-policy",)


def test_duplicate_case_id_across_suites(make_store):
    text = "id: shared\n" + GOOD_CASE
    root = make_store(suites={"a": {"one": text}, "b": {"two": text}})
    store = load_store(root)
    taken: dict[str, Path] = {}
    first = load_case(root / "suites/a/one.yaml", store, taken)
    assert first.id == "shared" and first.suite == "a"
    second = root / "suites/b/two.yaml"
    with pytest.raises(LoadError) as caught:
        load_case(second, store, taken)
    assert_names(caught.value, second, 1, "id")
    assert "one.yaml" in str(caught.value)  # and names the file that has it already


def test_duplicate_default_ids_across_suites(make_store):
    """Without `id:` the stem is the id, so the same stem in two suites collides too."""
    root = make_store(suites={"a": {"same": GOOD_CASE}, "b": {"same": GOOD_CASE}})
    store = load_store(root)
    taken: dict[str, Path] = {}
    load_case(root / "suites/a/same.yaml", store, taken)
    with pytest.raises(LoadError) as caught:
        load_case(root / "suites/b/same.yaml", store, taken)
    assert caught.value.key == "id"
    assert "suites/b/same.yaml" in str(caught.value).replace("\\", "/")


def test_a_fixture_loaded_twice_is_not_its_own_duplicate(make_store):
    root, path = one_case(make_store, GOOD_CASE)
    store = load_store(root)
    taken: dict[str, Path] = {}
    assert load_case(path, store, taken).id == load_case(path, store, taken).id == "bad"


def test_good_fixture_loads_with_defaults(make_store):
    root, path = one_case(make_store, GOOD_CASE + "as_of: 2026-11-27\n", suite="core",
                          stem="returns-window")
    case = load_case(path, load_store(root), {})
    assert case.id == "returns-window"
    assert case.suite == "core" and case.case_id == "core/returns-window"
    assert case.as_of == dt.date(2026, 11, 27)
    assert case.last_customer_text == "How many days do I have to return an item?"
    assert case.expect.facts == ("30 days",)
    assert case.lines["expect.facts"] == 6


# -- articles --------------------------------------------------------------------------------

ARTICLE = """\
---
id: returns-policy
title: Returns
topic: returns
status: active
---
You can return most items within 30 days of delivery.
"""


def article_error(make_store, text: str, stem: str = "returns-policy") -> tuple[LoadError, Path]:
    root = make_store(articles={stem: text}, suites={})
    error = store_error(root)
    assert len(error.errors) == 1
    return error.errors[0], root / "knowledge" / "articles" / f"{stem}.md"


def test_unknown_key_in_article(make_store):
    error, path = article_error(make_store, ARTICLE.replace("status:", "owner: ops\nstatus:"))
    assert_names(error, path, 5, "owner")
    assert "unknown key" in str(error) and "valid_until" in str(error)


def test_bad_status_in_article(make_store):
    error, path = article_error(make_store, ARTICLE.replace("active", "published"))
    assert_names(error, path, 5, "status")
    assert "'published'" in str(error) and "draft" in str(error)


def test_bad_date_in_article(make_store):
    text = ARTICLE.replace("status: active", "status: active\nvalid_from: 2026-02-30")
    error, path = article_error(make_store, text)
    assert_names(error, path, 6, "valid_from")
    assert "expected a date YYYY-MM-DD" in str(error)


def test_validity_window_out_of_order(make_store):
    text = ARTICLE.replace(
        "status: active", "status: active\nvalid_from: 2026-12-02\nvalid_until: 2026-11-20")
    error, path = article_error(make_store, text)
    assert path.name in str(error)
    assert "valid_until is before valid_from" in str(error)


def test_wrong_type_in_article_facts(make_store):
    text = ARTICLE.replace("status: active", "status: active\nfacts:\n  window: [30, 60]")
    error, path = article_error(make_store, text)
    assert path.name in str(error)
    assert error.line in (7, 8)
    assert error.key is not None and error.key.startswith("facts.window")


def test_duplicate_key_in_front_matter(make_store):
    error, path = article_error(make_store, ARTICLE.replace("topic: returns", "title: Again"))
    assert_names(error, path, 4, "title")
    assert "duplicate key" in str(error)


def test_article_id_must_equal_stem(make_store):
    error, path = article_error(make_store, ARTICLE, stem="returns")
    assert_names(error, path, 2, "id")
    assert "'returns-policy'" in str(error) and "'returns'" in str(error)


def test_missing_front_matter(make_store):
    error, path = article_error(make_store, "You can return items within 30 days.\n")
    assert_names(error, path, 1, None)
    assert "front matter" in str(error)


def test_unclosed_front_matter(make_store):
    error, path = article_error(make_store, "---\nid: returns-policy\ntitle: Returns\n")
    assert_names(error, path, 1, None)
    assert "front matter" in str(error)


def test_missing_required_key_in_article(make_store):
    error, path = article_error(make_store, ARTICLE.replace("topic: returns\n", ""))
    assert path.name in str(error)
    assert error.key == "topic"
    assert "missing" in str(error)


@pytest.mark.parametrize("key", ["path", "body"])
def test_internal_field_names_are_unknown_keys_in_front_matter(make_store, key):
    """`body` is the text after the front matter and `path` the file: front matter that sets
    either must be refused, not silently replaced."""
    error, path = article_error(make_store, ARTICLE.replace("status:", f"{key}: x\nstatus:"))
    assert_names(error, path, 5, key)


def test_article_body_and_front_matter_are_read(make_store):
    text = ARTICLE.replace(
        "status: active",
        "status: active\nvalid_from: 2026-11-20\nvalid_until: 2026-12-02\n"
        "facts:\n  return_window_days: 30",
    ) + "\n---\nA horizontal rule above is part of the body.\n"
    root = make_store(articles={"returns-policy": text}, suites={})
    (article,) = load_store(root).articles
    assert article.valid_from == dt.date(2026, 11, 20)
    assert article.valid_until == dt.date(2026, 12, 2)
    assert article.facts == {"return_window_days": 30}
    assert article.body.startswith("You can return most items within 30 days")
    assert article.body.endswith("A horizontal rule above is part of the body.")
    assert "id:" not in article.body


# -- catalog and agent.yaml ------------------------------------------------------------------


def test_wrong_type_in_catalog(make_store):
    catalog = ("currency: USD\nproducts:\n  - sku: A\n    name: Alpha\n    price: 10\n"
               "  - sku: B\n    name: Beta\n    price: cheap\n")
    root = make_store(catalog=catalog, suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "knowledge" / "catalog.yaml", 8, "products.1.price")


def test_bad_product_status_in_catalog(make_store):
    catalog = "products:\n  - sku: A\n    name: Alpha\n    price: 10\n    status: gone\n"
    root = make_store(catalog=catalog, suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "knowledge" / "catalog.yaml", 5, "products.0.status")
    assert "discontinued" in str(error)


def test_unknown_key_in_agent_yaml(make_store):
    root = make_store(agent="model: null\nescalation:\n  min_confidense: 0.3\n", suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "prompts" / "agent.yaml", 3, "escalation.min_confidense")
    assert "unknown key" in str(error) and "min_confidence" in str(error)


def test_wrong_type_in_agent_yaml(make_store):
    root = make_store(agent="temperature: 0\nretrieval:\n  top_k: many\n", suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "prompts" / "agent.yaml", 3, "retrieval.top_k")


def test_bad_regex_in_escalation_topic(make_store):
    agent = 'escalation:\n  topics:\n    fraud: [unauthorized, "/(did not order/"]\n'
    root = make_store(agent=agent, suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "prompts" / "agent.yaml", 3, "escalation.topics.fraud.1")
    assert "regular expression" in str(error)


def test_duplicate_key_in_agent_yaml(make_store):
    root = make_store(agent="temperature: 0\ntone:\n  brand: A\n  brand: B\n", suites={})
    (error,) = store_error(root).errors
    assert_names(error, root / "prompts" / "agent.yaml", 4, "tone.brand")


def test_load_store_reports_every_problem_at_once(make_store):
    root = make_store(
        articles={"returns-policy": ARTICLE, "no-front-matter": "Just text.\n",
                  "draft-ish": ARTICLE.replace("returns-policy", "draft-ish")
                                      .replace("active", "pending")},
        catalog="products:\n  - sku: A\n    name: Alpha\n    price: -1\n",
        agent="temperatur: 0\n",
        suites={},
    )
    (root / "prompts" / "system.md.j2").unlink()
    error = store_error(root)
    shown = {e.path.name: e for e in error.errors}
    assert set(shown) == {"no-front-matter.md", "draft-ish.md", "catalog.yaml", "agent.yaml",
                          "system.md.j2"}
    assert shown["draft-ish.md"].key == "status"
    assert shown["catalog.yaml"].key == "products.0.price"
    assert shown["agent.yaml"].key == "temperatur"
    assert "5 problem(s)" in str(error)
    for problem in error.errors:
        assert str(problem) in str(error)


def test_store_without_catalog_or_agent_yaml_uses_defaults(make_store):
    root = make_store(suites={})
    (root / "knowledge" / "catalog.yaml").unlink()
    (root / "prompts" / "agent.yaml").unlink()
    store = load_store(root)
    assert store.catalog.products == ()
    assert store.agent.model_name == "reference/kb-grounded"


# -- a good store ----------------------------------------------------------------------------


def test_valid_store_loads(make_store):
    root = make_store()
    store = load_store(root)
    assert [a.id for a in store.articles] == ["returns-policy", "shipping", "warranty"]
    assert store.article("shipping").topic == "shipping"
    assert store.article("nope") is None
    assert [p.sku for p in store.catalog.products] == ["GRD-S2", "GRD-S1", "KTL-GN"]
    assert store.agent.escalation.min_confidence == 0.2
    assert store.agent.tone.sign_off == "- Test Roasters team"
    assert store.template_path == root / "prompts" / "system.md.j2"
    files = list(suite_files(root))
    assert [p.name for p in files] == [f"{stem}.yaml" for stem in SUITES["core"]]


def test_valid_store_is_frozen(make_store):
    root = make_store()
    store = load_store(root)
    case = load_case(root / "suites/core/returns-window.yaml", store, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        store.articles = ()  # type: ignore[misc]
    with pytest.raises(ValidationError):
        store.agent.temperature = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        store.agent.escalation.min_confidence = 0.9  # type: ignore[misc]
    with pytest.raises(ValidationError):
        store.articles[0].body = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        store.catalog.products[0].price = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        case.expect.outcome = "escalate"  # type: ignore[misc]
    with pytest.raises(TypeError):
        case.conversation[0] = case.conversation[0]  # type: ignore[index]
    with pytest.raises(AttributeError):
        store.catalog.products[0].aliases.append("x")  # type: ignore[attr-defined]


def test_mappings_inside_frozen_values_are_read_only(make_store):
    """A frozen value shared by every case must not be changeable through a nested dict."""
    articles = {"returns-policy": {"title": "R", "topic": "returns", "status": "active",
                                   "facts": {"return_window_days": 30}, "body": "30 days."}}
    store = load_store(make_store(articles=articles, suites={}))
    with pytest.raises(TypeError):
        store.articles[0].facts["return_window_days"] = 60
    with pytest.raises(TypeError):
        store.agent.escalation.topics["fraud"] = ("unauthorized",)


# -- through pytest: a bad fixture fails alone -----------------------------------------------


def test_a_bad_fixture_fails_alone_and_the_suite_still_runs(make_store, pytester):
    make_store(root=pytester.path, suites={"core": {
        "good": GOOD_CASE + "  articles: [returns-policy]\n",
        "bad": GOOD_CASE + "priority: high\n",
    }})
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "bad.yaml, line 7 at `priority`: unknown key" in out


def test_a_collected_fixture_is_parsed_once_for_the_run_s_case_ids(tmp_path, monkeypatch):
    """The ids of a suite's fixtures (removed cases, --target) reuse what collection loaded:
    10,000 fixtures are not parsed a second time; a fixture not collected still is."""

    from gatekit import write_gate_store

    import harness.plugin.session as session_module
    from harness.pipeline.settings import Settings
    from harness.plugin.session import HarnessSession

    root = write_gate_store(tmp_path)
    files = sorted((root / "suites" / "core").glob("*.yaml"))
    parsed: list[Path] = []
    real = session_module.load_case

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        parsed.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(session_module, "load_case", counting)
    harness = HarnessSession(Settings(today=dt.date(2026, 10, 15)))
    for path in files[1:]:  # the first one is not collected (a path or -k left it out)
        assert harness.collect(root, path) is not None
    assert parsed == files[1:]
    ids = harness.fixture_ids(root, "core")
    assert parsed == [*files[1:], files[0]]
    assert {f"core/{p.stem}" for p in files} <= ids


def test_fixtures_share_one_set_of_written_field_names_and_keep_their_values(
        make_store, monkeypatch):
    """Fixtures that write the same keys share pydantic's set of field names (a copy of one
    gets its own); what each model says it was given, and every value, is unchanged."""
    import harness.store.loading

    other = GOOD_CASE.replace("How many days", "How long")
    root = make_store(suites={"core": {"one": GOOD_CASE, "two": other}})
    store = load_store(root)
    one, two = (load_case(root / "suites" / "core" / f"{stem}.yaml", store)
                for stem in ("one", "two"))
    monkeypatch.setattr(harness.store.loading, "_share_fields_sets", lambda model: None)
    fresh = load_case(root / "suites" / "core" / "one.yaml", store)
    assert one == fresh and one.model_fields_set == fresh.model_fields_set
    assert one.model_fields_set is not fresh.model_fields_set
    assert one.expect.model_fields_set == fresh.expect.model_fields_set
    assert one.conversation[0].model_fields_set == {"role", "text"}
    assert one.model_fields_set is two.model_fields_set
    assert one.expect.model_fields_set is two.expect.model_fields_set
    assert one.conversation[0].model_fields_set is two.conversation[0].model_fields_set

    copied = one.model_copy(update={"topic": "shipping"})
    assert copied.model_fields_set is not one.model_fields_set
    assert two.topic == "returns" and "topic" in two.model_fields_set
    with pytest.raises(ValidationError):
        one.topic = "shipping"  # frozen: no model can change the shared set
