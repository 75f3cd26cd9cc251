"""JSON Schemas of the store's files, generated from the pydantic models of `schema.py`.

An editor with the YAML extension (yaml-language-server) reads a schema named by a comment on
the file's first line, `# yaml-language-server: $schema=<path>`, and then completes keys, shows
what each means on hover and marks a mistake as it is typed. The schemas here are shaped as a
person writes the files, not as the loader holds them:

- values the loader fills in (a fixture's `suite`, an article's `body`, file paths and line
  numbers) are left out, and a fixture's `id` is optional (it defaults to the file's stem);
- a conversation turn is `{customer: text}` or `{agent: text}` (the loader also reads the long
  form `{role: customer, text: ...}`, so the schema accepts it too);
- a phrase (fixture facts, banned phrases, escalation topics) is text or a `/regular
  expression/`, and is described as such;
- `additionalProperties: false` wherever the loader refuses unknown keys (everywhere).

The schemas are JSON Schema draft-07, which is what yaml-language-server implements, with
every definition inlined (no `$ref`). They are generated, never edited by hand: `harness
schemas --out docs/schemas` rewrites the committed copies, and tests/test_schemas.py fails
when they differ from what the models generate now. A few rules only the loader can check
(a regular expression that does not compile, the last turn being the customer's, an article
id equal to its file name, ...): `LOADER_ONLY` lists them, and docs/formats.md too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from harness.store.conversations import Conversation
from harness.store.schema import (
    DEFAULT_MODEL,
    MODEL_PARAMS,
    AgentConfig,
    Article,
    Case,
    Catalog,
    Escalation,
    Rubric,
    Turn,
    _known_params,
    check_pattern,
)
from harness.store.tools import ToolRef

__all__ = [
    "DRAFT",
    "LOADER_ONLY",
    "STORE_FORMATS",
    "Format",
    "json_schema",
    "render",
    "schema_comment",
]

DRAFT = "http://json-schema.org/draft-07/schema#"

# Rules the loader applies that a JSON Schema cannot state; the schema accepts these files and
# the loader (`harness check`, `pytest suites/`) refuses them.
LOADER_ONLY = (
    "a /regular expression/ must compile (Python's syntax)",
    "a fixture's last turn must be the customer's",
    "a fixture's expect.articles must name articles of knowledge/articles/",
    "fixture ids are unique across suites/",
    "an article's id equals its file name without .md",
    "an article's valid_until is not before its valid_from",
    "each sku appears once in the catalog",
    "rubric weights are not all zero",
    "each key appears once in a mapping (duplicate YAML keys)",
    "a tool's parameters are valid JSON Schema and each parameter pattern compiles",
    "a fixture's tools: and expect.tools name tools of prompts/agent.yaml",
)

PHRASE = ("Text to find, ignoring case, runs of spaces and curly quotes or dashes; or a Python"
          " regular expression between slashes, like \"/charged (me )?twice/\" (also ignoring"
          " case).")

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

# What each key means, for the editor's hover text: "Model.field" (or "Model" for the model).
# A `Field(description=...)` in schema.py wins over this table.
DESCRIPTIONS: dict[str, str] = {
    # knowledge/articles/<id>.md, front matter
    "Article": "The front matter of a KB article (knowledge/articles/<id>.md): the YAML between"
               " the `---` lines at the top. The Markdown after it is the article's text.",
    "Article.id": "The article's id: its file name without .md (returns-policy.md has id"
                  " returns-policy). Fixtures name articles by it.",
    "Article.title": "The article's title, shown to the model with the article.",
    "Article.topic": "The article's topic (returns, shipping, ...), shown to the model with the"
                     " article.",
    "Article.status": "active: served to the agent; draft or archived: never served.",
    "Article.valid_from": "Optional first day the article is served (YYYY-MM-DD).",
    "Article.valid_until": "Optional last day the article is served (YYYY-MM-DD), for seasonal"
                           " content; not before valid_from.",
    "Article.reviewed": "Optional date of the last human review (YYYY-MM-DD); `harness kb lint`"
                        " warns when it is missing or older than 180 days.",
    "Article.facts": "Optional named facts of the article (return_window_days: 30). Two active"
                     " articles served on the same day with different values for the same"
                     " name are a `harness kb lint` error.",
    # knowledge/catalog.yaml
    "Catalog": "The verified product data (knowledge/catalog.yaml). Replies are checked against"
               " it: prices, availability, product names.",
    "Catalog.currency": "The currency of every price (default USD), shown to the model with the"
                        " product records.",
    "Catalog.products": "Every product the shop sells or sold; each sku once.",
    "Product": "One product.",
    "Product.sku": "The product's stock code; unique in the catalog.",
    "Product.name": "The product's name. A reply naming a product-like name that is in no"
                    " product's name or aliases fails accuracy.",
    "Product.price": "The price in the catalog's currency, 0 or more. A reply quoting another"
                     " price for the product fails accuracy.",
    "Product.status": "active (default) or discontinued. A reply offering a discontinued"
                      " product as available fails accuracy.",
    "Product.aliases": "Other names customers and articles use for the product (short names,"
                       " model numbers).",
    # prompts/agent.yaml
    "AgentConfig": "How the support agent runs (prompts/agent.yaml): model, retrieval,"
                   " escalation rules, tone profile, judge and rubric. Every key is optional.",
    "AgentConfig.model": "The agent's model, any litellm model string (openai/gpt-4o-mini,"
                         " anthropic/claude-3-5-haiku-latest, ...). Left out or null: the"
                         f" offline reference model {DEFAULT_MODEL}, which needs no key.",
    "AgentConfig.api_base": "The URL of an OpenAI-compatible server for the agent's model (a"
                            " self-hosted model, a gateway). Left out: the provider's own, or"
                            " OPENAI_API_BASE of the environment for openai/ models.",
    "AgentConfig.temperature": "Sampling temperature, 0 to 2 (default 0). Above 0, run with"
                               " --repeat so the gate judges pass rates, not one sample.",
    "AgentConfig.concurrency": "Model calls in flight at once (default 8); --concurrency of a"
                               " run overrides it.",
    "AgentConfig.timeout": "Seconds one try of a model call may take (default 60).",
    "AgentConfig.retries": "More tries after a rate limit (429), a server error (5xx) or a"
                           " refused connection (default 6); a try that timed out is retried"
                           " once at most.",
    "AgentConfig.max_tokens": "The longest reply, in tokens (default 1024). A longer reply is"
                              " cut off and the run says so; null sends no limit.",
    "AgentConfig.params": "More model parameters, passed to litellm as written: "
                          + ", ".join(MODEL_PARAMS) + ". Any other key is refused.",
    "AgentConfig.retrieval": "How many articles the agent is given.",
    "AgentConfig.escalation": "The rules that hand a conversation to a person before any model"
                              " answers.",
    "AgentConfig.tone": "The tone profile: given to the prompt template as `tone`, and what"
                        " the tone grade checks.",
    "AgentConfig.judge": "The LLM judge, off unless judge.model is set.",
    "AgentConfig.rubric": "The rubric's weights.",
    "AgentConfig.tools": "The store's back-end tools, offered to the model beside"
                         " escalate_to_human in OpenAI's tool format (litellm maps it for other"
                         " providers): order and tracking look-ups, the customer's account,"
                         " actions such as cancel or refund. Each fixture says what they return.",
    "AgentConfig.max_tool_steps": "Rounds of tool calls a reply may take (default 5); a model"
                                  " still calling tools after them is handed to a person.",
    "ToolSpec": "One back-end tool.",
    "ToolSpec.name": "The tool's name (1-64 letters, digits, _ or -); not escalate_to_human.",
    "ToolSpec.description": "What the tool does and when to call it, shown to the model.",
    "ToolSpec.kind": "lookup (default): reads data; action: changes something (cancel, refund,"
                     " reship). A required action the back end carried out counts as resolved.",
    "ToolSpec.parameters": "The tool's arguments, a JSON Schema with `type: object`; checked at"
                           " load, and each call's arguments are checked against it. A"
                           " `pattern` says what a key looks like (an order number).",
    "ToolSpec.key": "The parameter whose value picks the fixture's result (default: the only"
                    " parameter, or the only required one).",
    "ToolSpec.not_found": "What the back end answers for a key the fixture does not hold"
                          " (default {error: not_found, message: ...}).",
    "Retrieval": "Retrieval settings.",
    "Retrieval.top_k": "How many of the best-matching articles are retrieved and given to the"
                       " model (default 3).",
    "Escalation": "Escalation rules, applied in this order before any model sees the"
                  " conversation: on_request, topics, min_confidence.",
    "Escalation.topics": "Topics always handed to a person, each with the phrases that signal"
                         " it in any customer turn. A topic with no phrases (an empty list, or"
                         " nothing) matches nothing by itself but is offered to the model's"
                         " escalate_to_human tool.",
    "Escalation.min_confidence": "0 to 1 (default 0.2, measured across stores:"
                                 " docs/confidence.md; 0 turns it off). When the best"
                                 " retrieved article's confidence is below it, the"
                                 " conversation is handed off without asking the model.",
    "Escalation.on_request": "true (default): a customer whose last turn asks for a person"
                             " (\"talk to a real person\", \"agent please\") is handed off.",
    "Escalation.request_phrases": "More phrases that count as asking for a person, added to the"
                                  " built-in ones.",
    "Escalation.handoff_message": "The reply when a rule hands the conversation off (the"
                                  " sign-off is added after it).",
    "Tone": "The tone profile.",
    "Tone.brand": "The shop's name, for the prompt template (`tone.brand`).",
    "Tone.voice": "How replies should sound, for the prompt template (`tone.voice`).",
    "Tone.max_words": "The longest reply, in words: over it, tone is partial; over 120% of it,"
                      " fail. Left out or null: no limit.",
    "Tone.banned_phrases": "Phrases no reply may use: tone fails.",
    "Tone.emoji": "false: a reply with an emoji fails tone. Default true (allowed).",
    "Tone.sign_off": "The text every reply must end with (missing: tone partial). Hand-off"
                     " replies get it too. Left out or null: none.",
    "Judge": "The LLM judge: a second model that grades each reply. It can only lower a grade.",
    "Judge.model": "A litellm model string that turns the judge on; null (default): grades come"
                   " from the rules alone.",
    "Judge.api_base": "The URL of the judge's own server, when it is not the agent's.",
    "Judge.max_tokens": "The longest verdict, in tokens (default 800).",
    "Rubric": "The rubric.",
    "Rubric.weights": "The weight of each dimension in a case's score (default accuracy 40,"
                      " relevance 25, tone 20, resolution 15). A dimension left out weighs 0;"
                      " weights are 0 or more and not all zero.",
    # suites/<suite>/<case>.yaml
    "Case": "A golden conversation (suites/<suite>/<case>.yaml): the conversation, and what a"
            " good reply to its last customer turn does.",
    "Case.id": "The case's id; default: the file name without .yaml. Unique across suites/;"
               " the case is SUITE/ID.",
    "Case.topic": "The conversation's topic, for people and reports.",
    "Case.tags": "Free labels, for people.",
    "Case.added": "The day the case was added (YYYY-MM-DD).",
    "Case.source": "Where the conversation comes from.",
    "Case.as_of": "Serve the KB as of this day (YYYY-MM-DD) for this case, whatever day the run"
                  " is. Left out: --as-of of the run, else today.",
    "Case.conversation": "The turns, oldest first: `- customer: ...` or `- agent: ...` (what the"
                         " AI said earlier). The last turn must be the customer's: it is the"
                         " one the agent answers.",
    "Case.expect": "What a good reply does.",
    "Case.tools": "What the store's back end answers in this case, by tool name: for a keyed"
                  " tool, a mapping of key (an order number) to its result (the order record,"
                  " tracking events); for a tool with no parameters, the result itself. An"
                  " unknown key gets the tool's not_found result. Replies are checked"
                  " against the results: status, dates, carrier, tracking number, amounts,"
                  " items.",
    "Source": "Where the conversation comes from.",
    "Source.kind": "production: a real conversation; synthetic: written by hand.",
    "Source.conversation": "The helpdesk's id of the real conversation.",
    "Expectation": "What a good reply does.",
    "Expectation.outcome": "resolve: the agent should answer; escalate: it should hand the"
                           " conversation to a person.",
    "Expectation.facts": "Each must be stated in the reply, in any wording of the same meaning"
                         " (\"30 days\" = \"thirty days\" = \"a 30-day window\")."
                         " Some missing: accuracy partial; all"
                         " missing: fail.",
    "Expectation.forbidden": "None may be stated in the reply: accuracy fails.",
    "Expectation.articles": "The ids of the articles the reply must draw on; each must be in"
                            " knowledge/articles/.",
    "Expectation.tone": "Changes to the tone profile for this case only.",
    "Expectation.criteria": "Checks in plain words for the LLM judge (used only when"
                            " judge.model is set).",
    "Expectation.equivalents": "Optional: other wordings that state a fact, keyed by the fact"
                               " as written in facts (plain or /regex/), e.g. {\"a full"
                               " refund\": [\"all your money back\"]}. Figures, numbers in"
                               " words, ranges and unit changes match without them.",
    "Expectation.tools": "The tool calls the reply must make and must not make.",
    "ToolExpectation": "The tool calls the reply must make and must not make.",
    "ToolExpectation.called": "Each must be called (a required look-up skipped: accuracy"
                              " fails).",
    "ToolExpectation.not_called": "None may be called (an action the policy does not allow:"
                                  " resolution fails).",
    "ToolRef": "A tool's name, or a name and the arguments the call must have.",
    "ToolRef.name": "The tool's name, as in agent.yaml (or escalate_to_human).",
    "ToolRef.args": "Arguments the call must have (compared ignoring case).",
    "ToneOverride": "Any key of the tone profile, replacing the store's value for this case;"
                    " a key left out or null keeps the store's.",
    "ToneOverride.brand": "The shop's name, for this case.",
    "ToneOverride.voice": "How the reply should sound, for this case.",
    "ToneOverride.max_words": "The longest reply, in words, for this case.",
    "ToneOverride.banned_phrases": "The phrases no reply may use, for this case (replaces the"
                                   " profile's list).",
    "ToneOverride.emoji": "Whether emoji are allowed, for this case.",
    "ToneOverride.sign_off": "The text the reply must end with, for this case.",
    "Turn.customer": "What the customer wrote.",
    "Turn.agent": "What the AI agent said earlier in the conversation.",
    "Turn.role": "customer, or agent (the AI, earlier in the conversation).",
    "Turn.text": "What was written.",
    # one line of a helpdesk export (JSONL)
    "Conversation": "One conversation of a helpdesk export: one JSON object per line of a"
                    " .jsonl file, read by `harness score` and `harness promote`.",
    "Conversation.id": "The helpdesk's conversation id (not empty).",
    "Conversation.started_at": "When the conversation started, ISO 8601"
                               " (2026-11-20T14:03:00Z; no zone means UTC). Its UTC date is"
                               " the day whose KB the reply is checked against.",
    "Conversation.customer": "The customer's id: the same customer back within 24 hours is a"
                             " repeat contact.",
    "Conversation.channel": "The channel (chat, email, ...).",
    "Conversation.topic": "The helpdesk's topic, optional.",
    "Conversation.csat": "The customer's rating, 1 to 5, optional.",
    "Conversation.escalated": "Optional; true when the helpdesk handed the conversation to a"
                              " person.",
    "Conversation.messages": "The messages, oldest first.",
    "Conversation.tool_calls": "Optional: the back-end calls the AI made and their results;"
                               " `harness promote` keeps them as the fixture's tools: data.",
    "ToolCallRecord": "One tool call of the production agent.",
    "ToolCallRecord.name": "The tool's name.",
    "ToolCallRecord.arguments": "Its arguments: an object, or the JSON text the model wrote.",
    "ToolCallRecord.result": "What the back end answered (any JSON).",
    "ToolCallRecord.at": "When it was made, ISO 8601, optional; calls after the promoted turn"
                         " are left out.",
    "Message": "One message.",
    "Message.role": "customer, ai (the AI agent) or agent (a human).",
    "Message.text": "The message's text.",
    "Message.at": "When it was sent, ISO 8601, optional.",
}

PARAM_DESCRIPTIONS = {
    "top_p": "Nucleus sampling: only the most likely tokens, up to this share of probability.",
    "seed": "A seed, for providers that can repeat a sample.",
    "stop": "Text (or a list of texts) at which the model stops writing.",
    "presence_penalty": "-2 to 2: above 0 nudges the model towards new subjects.",
    "frequency_penalty": "-2 to 2: above 0 discourages repeating the same words.",
    "n": "Replies generated per request; the harness grades the first.",
    "logit_bias": "Token ids mapped to a bias from -100 to 100, for providers that take it.",
    "user": "An end-user id sent to the provider.",
    "reasoning_effort": "For reasoning models: low, medium or high.",
    "parallel_tool_calls": "Whether the model may call tools in parallel.",
    "tool_choice": "How the model may use the escalate_to_human tool (auto, required, none:"
                   " with none it can never escalate by itself).",
}

# Keys of the schemas' objects, in the order the committed files show them.
_KEY_ORDER = ("$schema", "title", "description", "type", "enum", "const", "pattern", "format",
              "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength",
              "minItems", "minProperties", "default", "examples", "properties", "required",
              "additionalProperties", "propertyNames", "items", "oneOf", "anyOf")


@dataclass(frozen=True)
class Format:
    """One kind of file of a store, and how its schema is made."""

    name: str  # the schema file is `<name>.schema.json`
    model: type[BaseModel]
    title: str
    where: str  # the file(s) it describes, relative to the store's root
    folder: str | None  # the folder of such a file, for the relative path of its comment
    supplied: frozenset[str] = frozenset()  # keys the loader fills in, never in the file
    optional: frozenset[str] = frozenset()  # required by the model, defaulted by the loader
    descriptions: Mapping[str, str] = field(default_factory=dict)  # more "Model.field" texts
    note: str = ""  # what to know about its `$schema` comment

    @property
    def file_name(self) -> str:
        return f"{self.name}.schema.json"


STORE_FORMATS: tuple[Format, ...] = (
    Format("fixture", Case, "Fixture", "suites/<suite>/*.yaml", "suites/<suite>",
           supplied=frozenset({"suite"}), optional=frozenset({"id"})),
    Format("agent", AgentConfig, "Agent", "prompts/agent.yaml", "prompts"),
    Format("catalog", Catalog, "Catalog", "knowledge/catalog.yaml", "knowledge"),
    Format("article", Article, "KB article front matter", "knowledge/articles/*.md",
           "knowledge/articles", supplied=frozenset({"body"}),
           note="Markdown: the YAML extension does not read front matter; use the schema with a"
                " front-matter tool or a CI check"),
    Format("conversation", Conversation, "Helpdesk export line",
           "EXPORT.jsonl, one conversation per line", None,
           note="JSON Lines: editors do not validate them; use the schema with a"
                " JSON Schema tool, one line at a time"),
)


def _describe(target: dict[str, Any], text: str | None) -> None:
    target.pop("description", None)
    if text:
        target["description"] = text


def _bound_function(schema: Mapping[str, Any]) -> Any:
    function = schema.get("function", {}).get("function")
    return getattr(function, "__func__", function)


class _Generator(GenerateJsonSchema):
    """pydantic's generator, told how the store's formats are written by hand."""

    format: Format  # set on the subclass made for each format

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        cls = schema["cls"]
        if cls is Turn:
            return self._turn()
        json_schema = super().model_schema(schema)
        json_schema.pop("title", None)
        properties = json_schema.get("properties", {})
        hidden = {name for name, info in cls.model_fields.items() if info.exclude}
        top = cls is self.format.model
        if top:
            hidden |= self.format.supplied
        for name in hidden:
            properties.pop(name, None)
        required = [name for name in json_schema.get("required", ())
                    if name not in hidden and not (top and name in self.format.optional)]
        if required:
            json_schema["required"] = required
        else:
            json_schema.pop("required", None)
        _describe(json_schema, self._text(cls.__name__))
        for name, prop in properties.items():
            _describe(prop, cls.model_fields[name].description or self._text(
                f"{cls.__name__}.{name}"))
        return json_schema

    def _text(self, key: str) -> str | None:
        return self.format.descriptions.get(key) or DESCRIPTIONS.get(key)

    def _turn(self) -> JsonSchemaValue:
        def short(role: str) -> dict[str, Any]:
            text = {"type": "string", "description": self._text(f"Turn.{role}")}
            return {"type": "object", "properties": {role: text}, "required": [role],
                    "additionalProperties": False}

        long_form = {
            "type": "object",
            "description": "The same turn written out (`role` and `text`).",
            "properties": {
                "role": {"type": "string", "enum": ["customer", "agent"],
                         "description": self._text("Turn.role")},
                "text": {"type": "string", "description": self._text("Turn.text")},
            },
            "required": ["role", "text"], "additionalProperties": False,
        }
        return {"description": "One turn: `customer: text` or `agent: text`.",
                "oneOf": [short("customer"), short("agent"), long_form]}

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        function = _bound_function(schema)
        if function is check_pattern:
            return {"type": "string", "pattern": r"\S", "description": PHRASE}
        if function is Rubric._complete.__func__:  # weights: 0 or more, not all zero
            json_schema = super().function_after_schema(schema)
            for name, weight in json_schema.get("properties", {}).items():
                weight.update(minimum=0, description=f"The weight of {name}, 0 or more.")
            return {**json_schema, "minProperties": 1}
        if function is _known_params:
            value = self.generate_inner(schema["schema"])["additionalProperties"]
            return {"type": "object", "additionalProperties": False, "properties": {
                name: {"description": PARAM_DESCRIPTIONS.get(name, "Passed to litellm as is."),
                       **value} for name in MODEL_PARAMS}}
        return super().function_after_schema(schema)

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        json_schema = super().function_before_schema(schema)
        if _bound_function(schema) is ToolRef._from_name.__func__:
            for name, prop in json_schema.get("properties", {}).items():
                _describe(prop, self._text(f"ToolRef.{name}"))
            return {"anyOf": [{"type": "string", "description": "A tool's name."},
                              json_schema]}
        if _bound_function(schema) is Escalation._empty_list_for_none.__func__:
            json_schema["additionalProperties"] = {
                "anyOf": [json_schema["additionalProperties"], {"type": "null"}]}
        return json_schema

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        keys = schema.get("keys_schema") or {}
        if keys.get("type") != "literal":
            json_schema = super().dict_schema(schema)
            json_schema.pop("propertyNames", None)  # str keys: any key
            return json_schema
        value = self.generate_inner(schema.get("values_schema") or {"type": "any"})
        return {"type": "object", "additionalProperties": False,
                "properties": {name: dict(value) for name in keys["expected"]}}

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}


def _simplify(schema: Any) -> Any:
    """Fold `anyOf`s of plain types into `type: [...]` and order each schema's keywords."""
    if not isinstance(schema, dict):
        return schema
    done: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            done[key] = {name: _simplify(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            done[key] = _simplify(value)
        elif key in ("anyOf", "oneOf"):
            done[key] = [_simplify(option) for option in value]
        else:
            done[key] = value
    options = done.get("anyOf")
    if isinstance(options, list):
        folded = _fold(options)
        if folded is not None:
            del done["anyOf"]
            done = {**folded, **done}
    return _ordered(done)


_TYPE_ONLY = {  # keywords that constrain one JSON type only, so options can share a schema
    "string": {"pattern", "format", "minLength", "maxLength"},
    "integer": {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"},
    "number": {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"},
    "array": {"items", "minItems", "maxItems"},
    "object": {"properties", "required", "additionalProperties", "minProperties",
               "propertyNames"},
    "boolean": set(),
    "null": set(),
}


def _fold(options: list[Any]) -> dict[str, Any] | None:
    """`anyOf` of options of different JSON types as one schema with a list of types, when
    no constraint is lost (each option's keywords apply to its own type only)."""
    plain = [o for o in options if isinstance(o, dict) and set(o) == {"type"}]
    merged: dict[str, Any] = {}
    types: list[str] = []
    for option in options:
        kind = option.get("type") if isinstance(option, dict) else None
        if not isinstance(kind, str) or kind not in _TYPE_ONLY:
            return None
        rest = {k: v for k, v in option.items() if k not in ("type", "description")}
        if kind == "string" and rest and {"type": "string"} in plain:
            continue  # a date or pattern string beside any string: any string
        if kind == "integer" and {"type": "number"} in plain and not rest:
            continue  # a number includes every integer
        enum = rest.pop("enum", None)
        if enum is not None:
            if len(options) != 2 or {"type": "null"} not in plain:
                return None  # an enum is not one type's: only "X or null" keeps it exact
            rest["enum"] = [*enum, None]
        if kind in types or not set(rest) <= _TYPE_ONLY[kind] | {"enum"}:
            return None
        if any(key in merged for key in rest):
            return None
        merged.update(rest)
        types.append(kind)
    return {"type": types[0] if len(types) == 1 else types, **merged}


def _ordered(value: dict[str, Any]) -> dict[str, Any]:
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return dict(sorted(value.items(), key=lambda item: rank.get(item[0], len(rank))))


def _inline(value: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_inline(item, definitions) for item in value]
    if not isinstance(value, dict):
        return value
    if "$ref" in value:
        target = definitions[value["$ref"].rsplit("/", 1)[-1]]
        rest = {k: v for k, v in value.items() if k != "$ref"}
        return _inline({**target, **rest}, definitions)
    return {key: _inline(item, definitions) for key, item in value.items() if key != "$defs"}


def json_schema(fmt: Format) -> dict[str, Any]:
    """The JSON Schema of one format, as its files are written."""
    generator = type(f"_{fmt.name.title()}Generator", (_Generator,), {"format": fmt})
    raw = fmt.model.model_json_schema(schema_generator=generator)
    body = _simplify(_inline(raw, raw.get("$defs", {})))
    body.pop("title", None)
    return _ordered({"$schema": DRAFT, "title": fmt.title, **body})


def render(schema: Mapping[str, Any]) -> str:
    """The text of a schema file: stable, so a regenerated file differs only if it changed."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_comment(path: str) -> str:
    """The first line of a YAML file that names its schema for the editor."""
    return f"# yaml-language-server: $schema={path}"
