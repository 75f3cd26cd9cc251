"""The JSON Schemas of docs/schemas/ against the loader, so the two cannot drift.

- The committed schemas are exactly what `harness schemas` generates from the models now: a
  change to harness/store/schema.py (or to the labels or candidate models) without regenerating
  fails here, naming the command that regenerates them.
- Every sample file of the repository and every file of the test stores validates.
- Near misses: a file the loader refuses (unknown key, wrong type, bad value) is refused by the
  schema too, and a file the loader accepts is accepted. The few rules only the loader can
  check (`LOADER_ONLY`) and the plain forms the schema asks for are pinned down as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harness.cli import main
from harness.cli.schemas import FORMATS, comment_lines, generated, reference
from harness.coach.calibrate import Labels
from harness.errors import LoadError
from harness.kbtools.dials import Candidate
from harness.store.conversations import BadLine, parse_line
from harness.store.loading import (
    load_agent,
    load_article,
    load_case,
    load_catalog,
    load_store,
    load_yaml_file,
)
from harness.store.schemas import DRAFT, LOADER_ONLY

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "docs" / "schemas"
TEST_STORES = sorted(p for p in (REPO / "tests" / "stores").iterdir()
                     if (p / "edits.yaml").is_file())  # layouts/ holds prompts, not a store
REGENERATE = "harness schemas --out docs/schemas"


class _Yaml(yaml.SafeLoader):
    """YAML as the loader reads it: dates stay text (the schemas describe them as text)."""


_Yaml.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml)


def _front_matter(path: Path) -> Any:
    header = path.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---")
    return _yaml(header)


def _validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _problems(name: str, data: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in _validator(name).iter_errors(data)]


# -- the committed schemas are the generated ones ---------------------------------------------


def test_the_committed_schemas_are_the_generated_ones():
    expected = generated()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.schema.json")}
    stale = sorted(name for name, text in expected.items() if committed.get(name) != text)
    extra = sorted(set(committed) - set(expected))
    assert not stale and not extra, (
        f"docs/schemas/ is out of date with the models (harness/store/schema.py, the labels of"
        f" harness/coach/calibrate.py, the candidate of harness/kbtools/dials.py): differs"
        f" {stale}, not generated any more {extra}. Regenerate with `{REGENERATE}` from the"
        " repository's root and commit docs/schemas/.")


def test_the_store_formats_are_covered():
    assert {f.file_name for f in FORMATS} >= {
        "fixture.schema.json", "agent.schema.json", "catalog.schema.json",
        "article.schema.json", "conversation.schema.json", "labels.schema.json",
        "what-if.schema.json"}


def _objects(schema: Any, at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield at, schema
        for key, value in schema.items():
            if key == "properties":
                for name, sub in value.items():
                    yield from _objects(sub, f"{at}.{name}")
            elif key in ("items", "additionalProperties"):
                yield from _objects(value, f"{at}[]")
            elif key in ("anyOf", "oneOf"):
                for index, sub in enumerate(value):
                    yield from _objects(sub, f"{at}|{index}")


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_each_schema_is_draft_07_inlined_closed_and_described(fmt):
    """What yaml-language-server reads: draft-07, no `$ref`, unknown keys refused everywhere
    (as the loader refuses them), and a description for every key, shown on hover."""
    schema = json.loads((SCHEMAS / fmt.file_name).read_text(encoding="utf-8"))
    assert schema["$schema"] == DRAFT
    jsonschema.Draft7Validator.check_schema(schema)
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    for at, sub in _objects(schema):
        if "properties" in sub:
            assert sub.get("additionalProperties") is False, f"{fmt.name}{at} is open"
            for name, prop in sub["properties"].items():
                assert prop.get("description"), (
                    f"{fmt.name}{at}.{name} has no description: add one to DESCRIPTIONS in"
                    f" harness/store/schemas.py (or Field(description=...)), then `{REGENERATE}`")


def test_every_key_of_every_schema_is_in_the_formats_reference():
    text = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    missing = set()
    for fmt in FORMATS:
        schema = json.loads((SCHEMAS / fmt.file_name).read_text(encoding="utf-8"))
        for _, sub in _objects(schema):
            missing |= {name for name in sub.get("properties", {})
                        if not re.search(rf"[`.]{re.escape(name)}` \|", text)}
    assert not missing, f"docs/formats.md does not explain {sorted(missing)}"


# -- every sample file validates --------------------------------------------------------------


def _store_files(root: Path) -> Iterator[tuple[str, Path, Any]]:
    for path in sorted((root / "knowledge" / "articles").glob("*.md")):
        yield "article", path, _front_matter(path)
    for name, relative in (("catalog", "knowledge/catalog.yaml"), ("agent", "prompts/agent.yaml")):
        if (root / relative).exists():
            yield name, root / relative, _yaml((root / relative).read_text(encoding="utf-8"))
    for path in sorted((root / "suites").glob("*/*.yaml")):
        yield "fixture", path, _yaml(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("root", [REPO, *TEST_STORES], ids=lambda p: p.name)
def test_every_file_of_the_store_validates(root):
    files = list(_store_files(root))
    assert len([f for f in files if f[0] == "fixture"]) >= 10
    problems = [f"{path.relative_to(root)}: {problem}"
                for name, path, data in files for problem in _problems(name, data)]
    assert problems == []


def test_the_examples_validate():
    examples = REPO / "examples"
    assert _problems("labels", _yaml((examples / "labels.yaml").read_text("utf-8"))) == []
    assert _problems("what-if", _yaml((examples / "what-if.yaml").read_text("utf-8"))) == []
    lines = (examples / "export-2026-W48.jsonl").read_text("utf-8").splitlines()
    assert len(lines) >= 10
    assert [p for line in lines for p in _problems("conversation", json.loads(line))] == []


def _sample_files() -> Iterator[tuple[Path, str]]:
    for path in sorted((REPO / "suites").glob("*/*.yaml")):
        yield path, "fixture"
    yield REPO / "prompts" / "agent.yaml", "agent"
    yield REPO / "knowledge" / "catalog.yaml", "catalog"
    yield REPO / "examples" / "labels.yaml", "labels"
    yield REPO / "examples" / "what-if.yaml", "what-if"


def test_every_sample_yaml_file_names_its_schema_on_its_first_line():
    wrong = []
    for path, name in _sample_files():
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        found = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        target = (path.parent / found.group(1)).resolve() if found else None
        if target != SCHEMAS / f"{name}.schema.json" or not target.exists():
            wrong.append(f"{path.relative_to(REPO)}: {first!r}")
    assert wrong == []


# -- near misses: the loader and the schema agree ---------------------------------------------

FIXTURE = """\
conversation:
  - customer: How many days do I have to return an item?
expect:
  outcome: resolve
  facts: ["30 days"]
  articles: [returns-policy]
"""

AGENT = """\
temperature: 0
escalation:
  topics:
    payment-dispute: [chargeback, "/disput(e|ing)/"]
tone: {brand: Test Roasters, max_words: 120, sign_off: "- Test Roasters team"}
"""

CATALOG = """\
currency: USD
products:
  - {sku: GRD-S2, name: Burr Grinder S2, price: 189.00, status: active, aliases: [S2 grinder]}
"""

ARTICLE = "id: returns\ntitle: Returns\ntopic: returns\nstatus: active\n"

LABELS = "labels:\n  - {id: core/returns-window, accuracy: pass}\n"

CONVERSATION = {"id": "zd-1", "started_at": "2026-11-20T14:03:00Z", "customer": "c-1",
                "channel": "chat", "messages": [{"role": "customer", "text": "Hi"},
                                                {"role": "ai", "text": "Hello"}]}


def _fixture(old: str, new: str) -> str:
    assert old in FIXTURE
    return FIXTURE.replace(old, new, 1)


# (schema, file text, does the loader accept it?)
NEAR_MISSES: dict[str, tuple[str, str | dict[str, Any], bool]] = {
    # fixtures
    "fixture-as-written": ("fixture", FIXTURE, True),
    "fixture-every-key": ("fixture", "id: returns-days\ntopic: returns\ntags: [policy]\n"
                          "added: 2026-10-19\nsource: {kind: production, conversation: zd-1}\n"
                          "as_of: 2026-10-15\n" + FIXTURE.replace(
                              '  articles: [returns-policy]\n',
                              '  forbidden: ["14 days"]\n  articles: [returns-policy]\n'
                              '  tone: {max_words: 80, sign_off: null, banned_phrases: [sorry]}\n'
                              '  criteria: [Says the item must be unused]\n'), True),
    "fixture-earlier-agent-turn": ("fixture", _fixture(
        "  - customer:", "  - customer: Hi\n  - agent: Hello, how can I help?\n  - customer:"),
        True),
    "fixture-long-form-turn": ("fixture", _fixture(
        "  - customer: How many days do I have to return an item?",
        "  - {role: customer, text: 'How many days do I have to return an item?'}"), True),
    "fixture-regex-fact": ("fixture", _fixture('["30 days"]', '["/30 days?/"]'), True),
    "fixture-null-topic": ("fixture", "topic: null\n" + FIXTURE, True),
    "fixture-synthetic-source": ("fixture", "source: {kind: synthetic}\n" + FIXTURE, True),
    "fixture-unknown-key": ("fixture", FIXTURE + "priority: high\n", False),
    "fixture-misspelt-expect": ("fixture", FIXTURE.replace("expect:", "expected:"), False),
    "fixture-unknown-nested-key": ("fixture", _fixture("  facts:", "  fact:"), False),
    "fixture-internal-suite": ("fixture", "suite: core\n" + FIXTURE, False),
    "fixture-internal-path": ("fixture", "path: x.yaml\n" + FIXTURE, False),
    "fixture-internal-lines": ("fixture", "lines: {}\n" + FIXTURE, False),
    "fixture-tags-not-a-list": ("fixture", "tags: policy\n" + FIXTURE, False),
    "fixture-facts-not-a-list": ("fixture", _fixture('["30 days"]', '"30 days"'), False),
    "fixture-bad-outcome": ("fixture", _fixture("resolve", "resolved"), False),
    "fixture-missing-outcome": ("fixture", _fixture("  outcome: resolve\n", ""), False),
    "fixture-missing-conversation": ("fixture", "topic: returns\nexpect: {outcome: resolve}\n",
                                     False),
    "fixture-turn-neither-role": ("fixture", _fixture("  - customer:", "  - bot: hi\n"
                                                      "  - customer:"), False),
    "fixture-turn-two-roles": ("fixture", _fixture(
        "  - customer: How many days do I have to return an item?",
        "  - {customer: 'How many days?', agent: Thirty}"), False),
    "fixture-turn-not-text": ("fixture", _fixture(
        "  - customer: How many days do I have to return an item?", "  - customer: 42"), False),
    "fixture-turn-a-string": ("fixture", _fixture(
        "  - customer: How many days do I have to return an item?",
        "  - How many days do I have?"), False),
    "fixture-bad-date": ("fixture", "as_of: 15/10/2026\n" + FIXTURE, False),
    "fixture-impossible-date": ("fixture", "as_of: 2026-13-01\n" + FIXTURE, False),
    "fixture-bad-source-kind": ("fixture", "source: {kind: email}\n" + FIXTURE, False),
    "fixture-blank-fact": ("fixture", _fixture('["30 days"]', '["  "]'), False),
    "fixture-zero-max-words": ("fixture", FIXTURE + "  tone: {max_words: 0}\n", False),
    "fixture-unknown-tone-key": ("fixture", FIXTURE + "  tone: {length: 80}\n", False),
    "fixture-not-a-mapping": ("fixture", "- customer: hi\n", False),
    # agent.yaml
    "agent-as-written": ("agent", AGENT, True),
    "agent-empty-file": ("agent", "", True),
    "agent-real-model": ("agent", "model: openai/gpt-4o-mini\napi_base: http://127.0.0.1:8080/v1"
                         "\nconcurrency: 4\ntimeout: 5.5\nretries: 0\n" + AGENT, True),
    "agent-no-token-limit": ("agent", AGENT + "max_tokens: null\n", True),
    "agent-params": ("agent", AGENT + 'max_tokens: 256\nparams: {seed: 7, top_p: 0.9, stop:'
                     ' ["\\n\\n"], logit_bias: {"50256": -100}, tool_choice: auto}\n', True),
    "agent-topic-without-phrases": ("agent", AGENT.replace(
        "    payment-dispute:", "    fraud:\n    refunds: []\n    payment-dispute:"), True),
    "agent-some-weights": ("agent", AGENT + "rubric: {weights: {accuracy: 50, tone: 50}}\n",
                           True),
    "agent-judge": ("agent", AGENT + "judge: {model: openai/gpt-4o-mini, api_base:"
                    " 'http://judge:8000/v1', max_tokens: 400}\n", True),
    "agent-null-tone-keys": ("agent", "tone: {sign_off: null, max_words: null}\n", True),
    "agent-request-phrases": ("agent", "escalation: {request_phrases: [manager please],"
                              " handoff_message: One moment., on_request: false,"
                              " min_confidence: 0.35}\n", True),
    "agent-misspelt-key": ("agent", AGENT.replace("temperature", "temprature"), False),
    "agent-unknown-param": ("agent", AGENT + "params: {top_k: 5}\n", False),
    "agent-max-tokens-under-params": ("agent", AGENT + "params: {max_tokens: 5}\n", False),
    "agent-zero-max-tokens": ("agent", AGENT + "max_tokens: 0\n", False),
    "agent-max-tokens-not-a-number": ("agent", AGENT + "max_tokens: lots\n", False),
    "agent-zero-timeout": ("agent", AGENT + "timeout: 0\n", False),
    "agent-negative-retries": ("agent", AGENT + "retries: -1\n", False),
    "agent-hot-temperature": ("agent", AGENT.replace("temperature: 0", "temperature: 3"), False),
    "agent-confidence-over-one": ("agent", "escalation: {min_confidence: 1.5}\n", False),
    "agent-unknown-escalation-key": ("agent", "escalation: {topic: {}}\n", False),
    "agent-topic-phrases-not-a-list": ("agent", "escalation: {topics: {fraud: chargeback}}\n",
                                       False),
    "agent-unknown-dimension": ("agent", "rubric: {weights: {speed: 10}}\n", False),
    "agent-negative-weight": ("agent", "rubric: {weights: {accuracy: -1, tone: 5}}\n", False),
    "agent-zero-top-k": ("agent", "retrieval: {top_k: 0}\n", False),
    "agent-unknown-judge-key": ("agent", "judge: {temperature: 0}\n", False),
    "agent-negative-max-words": ("agent", "tone: {max_words: -5}\n", False),
    "agent-banned-phrases-not-a-list": ("agent", "tone: {banned_phrases: as an AI}\n", False),
    "agent-internal-path": ("agent", "path: prompts/agent.yaml\n", False),
    # knowledge/catalog.yaml
    "catalog-as-written": ("catalog", CATALOG, True),
    "catalog-empty-file": ("catalog", "", True),
    "catalog-defaults": ("catalog", "products:\n  - {sku: A, name: Thing, price: 10}\n", True),
    "catalog-missing-price": ("catalog", CATALOG.replace(" price: 189.00,", ""), False),
    "catalog-negative-price": ("catalog", CATALOG.replace("189.00", "-1"), False),
    "catalog-retired-status": ("catalog", CATALOG.replace("status: active", "status: retired"),
                               False),
    "catalog-unknown-key": ("catalog", CATALOG.replace("status:", "colour: red, status:"),
                            False),
    "catalog-aliases-not-a-list": ("catalog", CATALOG.replace("[S2 grinder]", "S2 grinder"),
                                   False),
    "catalog-products-a-mapping": ("catalog", "products: {GRD-S2: {name: x, price: 1}}\n",
                                   False),
    # article front matter
    "article-as-written": ("article", ARTICLE, True),
    "article-every-key": ("article", ARTICLE + "valid_from: 2026-11-27\nvalid_until: 2026-11-30"
                          "\nreviewed: 2026-11-10\nfacts: {window_days: 30, code: BF25,"
                          " free: true, rate: 4.5, ends: 2026-11-30}\n", True),
    "article-published-status": ("article", ARTICLE.replace("active", "published"), False),
    "article-missing-title": ("article", ARTICLE.replace("title: Returns\n", ""), False),
    "article-unknown-key": ("article", ARTICLE + "author: Sam\n", False),
    "article-internal-body": ("article", ARTICLE + "body: text\n", False),
    "article-fact-a-list": ("article", ARTICLE + "facts: {days: [30, 45]}\n", False),
    "article-fact-null": ("article", ARTICLE + "facts: {days: null}\n", False),
    "article-bad-date": ("article", ARTICLE + "valid_from: 27/11/2026\n", False),
    # calibration labels
    "labels-as-written": ("labels", LABELS, True),
    "labels-every-key": ("labels", "labels:\n  - {id: core/a, accuracy: pass, relevance: partial"
                         ", tone: fail, resolution: pass, note: too long}\n", True),
    "labels-bad-grade": ("labels", LABELS.replace("pass", "good"), False),
    "labels-misspelt-dimension": ("labels", LABELS.replace("accuracy", "acuracy"), False),
    "labels-missing-id": ("labels", "labels:\n  - {accuracy: pass}\n", False),
    "labels-empty": ("labels", "labels: []\n", False),
    "labels-singular-key": ("labels", LABELS.replace("labels:", "label:"), False),
    "labels-empty-file": ("labels", "", False),
    # the --what-if candidate
    "what-if-as-written": ("what-if", "min_confidence: 0.6\n", True),
    "what-if-every-key": ("what-if", "min_confidence: 0.5\non_request: false\ntopics:\n"
                          "  fraud: [unauthorized, \"/someone used my/\"]\n", True),
    "what-if-confidence-over-one": ("what-if", "min_confidence: 2\n", False),
    "what-if-not-a-candidate-key": ("what-if", "request_phrases: [manager]\n", False),
    "what-if-topic-without-list": ("what-if", "topics: {fraud: null}\n", False),
    # one line of a helpdesk export
    "conversation-as-written": ("conversation", CONVERSATION, True),
    "conversation-every-key": ("conversation", {**CONVERSATION, "topic": "returns", "csat": 4,
                                                "escalated": False}, True),
    "conversation-bot-role": ("conversation", {**CONVERSATION, "messages": [
        {"role": "bot", "text": "Hi"}]}, False),
    "conversation-csat-six": ("conversation", {**CONVERSATION, "csat": 6}, False),
    "conversation-no-start": ("conversation", {k: v for k, v in CONVERSATION.items()
                                               if k != "started_at"}, False),
    "conversation-unknown-key": ("conversation", {**CONVERSATION, "agent_id": "a-1"}, False),
    "conversation-empty-id": ("conversation", {**CONVERSATION, "id": ""}, False),
}

# Rules only the loader can check (LOADER_ONLY): the schema accepts these, the loader does not.
LOADER_ONLY_CASES: dict[str, tuple[str, str]] = {
    "bad-regex": ("fixture", _fixture('["30 days"]', '["/(30 days/"]')),
    "last-turn-agent": ("fixture", _fixture("expect:", "  - agent: Thirty days.\nexpect:")),
    "empty-conversation": ("fixture", "conversation: []\n" + FIXTURE.split("\n", 2)[2]),
    "missing-article": ("fixture", _fixture("[returns-policy]", "[returns-polcy]")),
    "id-not-file-name": ("article", ARTICLE.replace("id: returns", "id: refunds")),
    "window-out-of-order": ("article", ARTICLE + "valid_from: 2026-12-01\n"
                            "valid_until: 2026-11-01\n"),
    "duplicate-sku": ("catalog", CATALOG + CATALOG.split("products:\n")[1]),
    "all-weights-zero": ("agent", "rubric: {weights: {accuracy: 0}}\n"),
    "bad-regex-in-topic": ("agent", "escalation: {topics: {x: ['/(/']}}\n"),
    "duplicate-key": ("fixture", FIXTURE + "topic: a\ntopic: b\n"),
}

# The plain forms the schema asks for where the loader also reads a looser one.
SCHEMA_STRICTER: dict[str, tuple[str, str]] = {
    "quoted-number": ("agent", 'tone: {max_words: "120"}\n'),
    "quoted-boolean": ("agent", 'escalation: {on_request: "yes"}\n'),
    "quoted-price": ("catalog", 'products:\n  - {sku: A, name: Thing, price: "10.50"}\n'),
    "date-with-midnight": ("fixture", "as_of: 2026-10-15T00:00:00\n" + FIXTURE),
}


def _loader_accepts(name: str, content: str | dict[str, Any], root: Path) -> bool:
    """Load `content` as the harness loads a file of this kind."""
    if name == "conversation":
        assert isinstance(content, dict)
        return not isinstance(parse_line(json.dumps(content), "export.jsonl", 1), BadLine)
    assert isinstance(content, str)
    where = {"fixture": "suites/near/case.yaml", "agent": "prompts/agent.yaml",
             "catalog": "knowledge/catalog.yaml", "article": "knowledge/articles/returns.md",
             "labels": "labels.yaml", "what-if": "what-if.yaml"}[name]
    path = root / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{content}---\nUnused items can be returned within 30 days.\n"
                    if name == "article" else content, encoding="utf-8")
    try:
        if name == "fixture":
            load_case(path, load_store(root), {})
        elif name == "agent":
            load_agent(path)
        elif name == "catalog":
            load_catalog(path)
        elif name == "article":
            load_article(path)
        else:
            load_yaml_file(path, Labels if name == "labels" else Candidate)
    except LoadError:
        return False
    return True


def _schema_data(name: str, content: str | dict[str, Any]) -> Any:
    if isinstance(content, dict):
        return content
    data = _yaml(content)
    return data or {} if name in ("agent", "catalog") else data  # as the loader reads them


@pytest.mark.parametrize("case", list(NEAR_MISSES), ids=str)
def test_the_schema_accepts_and_refuses_what_the_loader_does(case, make_store):
    name, content, accepted = NEAR_MISSES[case]
    root = make_store()
    assert _loader_accepts(name, content, root) is accepted, "the loader changed its mind"
    problems = _problems(name, _schema_data(name, content))
    if accepted:
        assert problems == [], f"the loader accepts {case}; the schema should too"
    else:
        assert problems, f"the loader refuses {case}; the schema should too"


@pytest.mark.parametrize("case", list(LOADER_ONLY_CASES), ids=str)
def test_rules_only_the_loader_checks(case, make_store):
    """Documented in LOADER_ONLY and docs/formats.md: an editor cannot see these."""
    name, content = LOADER_ONLY_CASES[case]
    assert not _loader_accepts(name, content, make_store())
    assert _problems(name, _schema_data(name, content)) == []


def test_loader_only_rules_are_listed_in_the_formats_reference():
    text = " ".join((REPO / "docs" / "formats.md").read_text(encoding="utf-8").split())
    assert len(LOADER_ONLY) >= len(LOADER_ONLY_CASES) - 2  # two regex cases share one rule
    missing = [rule for rule in LOADER_ONLY if rule not in text]
    assert missing == []


@pytest.mark.parametrize("case", list(SCHEMA_STRICTER), ids=str)
def test_the_schema_asks_for_the_plain_form(case, make_store):
    """The loader reads "120" as 120 and "yes" as true; the editor asks for 120 and true."""
    name, content = SCHEMA_STRICTER[case]
    assert _loader_accepts(name, content, make_store())
    assert _problems(name, _schema_data(name, content)) != []


# -- `harness schemas` ------------------------------------------------------------------------


def test_harness_schemas_writes_them_into_the_store_and_prints_the_comments(make_store,
                                                                            capsys):
    root = make_store()
    assert main(["schemas", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    written = {p.name: p.read_text(encoding="utf-8")
               for p in (root / ".harness" / "schemas").iterdir()}
    assert written == generated()
    for line in ("# yaml-language-server: $schema=../../.harness/schemas/fixture.schema.json",
                 "# yaml-language-server: $schema=../.harness/schemas/agent.schema.json",
                 "# yaml-language-server: $schema=../.harness/schemas/catalog.schema.json",
                 "# yaml-language-server: $schema=.harness/schemas/labels.schema.json",
                 "# yaml-language-server: $schema=.harness/schemas/what-if.schema.json"):
        assert line in out
    assert "article.schema.json" in out and "front matter" in out


def test_a_commented_fixture_still_loads_and_its_comment_reaches_the_schema(make_store,
                                                                             capsys):
    root = make_store()
    assert main(["schemas", "--store", str(root)]) == 0
    comments = dict((fmt.name, line) for fmt, line in comment_lines(
        root, root / ".harness" / "schemas"))
    path = root / "suites" / "core" / "returns-window.yaml"
    path.write_text(comments["fixture"] + "\n" + path.read_text("utf-8"), encoding="utf-8")
    case = load_case(path, load_store(root), {})
    assert case.case_id == "core/returns-window"
    target = comments["fixture"].split("$schema=", 1)[1]
    assert (path.parent / target).resolve().is_file()


def test_harness_schemas_with_out_writes_there(tmp_path, capsys):
    assert main(["schemas", "--store", str(REPO), "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(generated())


def test_harness_schemas_outside_a_store_needs_out(tmp_path, capsys):
    assert main(["schemas", "--store", str(tmp_path)]) == 1
    assert "not inside a store" in capsys.readouterr().err


def test_the_formats_reference_is_the_generated_one():
    committed = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    assert committed == reference(), (
        "docs/formats.md is out of date with the models: regenerate it with `harness schemas"
        " --reference docs/formats.md` from the repository's root and commit it")


def test_harness_schemas_reference_writes_the_page(tmp_path, capsys):
    page = tmp_path / "formats.md"
    assert main(["schemas", "--reference", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text == reference() and "| `expect.facts` |" in text
