"""Frozen, typed values for every user-facing format of FORMATS.md.

pydantic validates at load: unknown keys are refused (`extra="forbid"`), types are checked,
regular expressions compiled. `loading.py` turns its errors into messages naming file and line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.store.tools import ToolExpectation, ToolSpec, freeze_json

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_WEIGHTS",
    "AgentConfig",
    "Article",
    "Case",
    "Catalog",
    "Escalation",
    "Expectation",
    "Product",
    "Source",
    "Tone",
    "ToneOverride",
    "Turn",
]

DEFAULT_MODEL = "reference/kb-grounded"
DEFAULT_WEIGHTS = {"accuracy": 40.0, "relevance": 25.0, "tone": 20.0, "resolution": 15.0}


def check_pattern(text: str) -> str:
    """A `/.../` string must compile as a Python regular expression."""
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            re.compile(text[1:-1])
        except re.error as exc:
            raise ValueError(f"invalid regular expression {text!r}: {exc}") from None
    elif not text.strip():
        raise ValueError("empty phrase; expected text or /regex/")
    return text


Phrase = Annotated[str, AfterValidator(check_pattern)]


def _read_only(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, allow_inf_nan=False)


# -- knowledge base --------------------------------------------------------------------------


class Article(Frozen):
    id: str
    title: str
    topic: str
    status: Literal["active", "draft", "archived"]
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    reviewed: dt.date | None = None
    facts: Annotated[
        Mapping[str, str | int | float | bool | dt.date], AfterValidator(_read_only)
    ] = Field(default_factory=dict)
    body: str = ""
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _window_in_order(self) -> Article:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def served_on(self, day: dt.date) -> bool:
        """Only active articles inside their validity window reach the agent."""
        if self.status != "active":
            return False
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)


class Product(Frozen):
    sku: str
    name: str
    price: float = Field(ge=0)
    status: Literal["active", "discontinued"] = "active"
    aliases: tuple[str, ...] = ()


class Catalog(Frozen):
    currency: str = "USD"
    products: tuple[Product, ...] = ()

    @field_validator("products")
    @classmethod
    def _unique_skus(cls, products: tuple[Product, ...]) -> tuple[Product, ...]:
        seen: set[str] = set()
        for product in products:
            if product.sku in seen:
                raise ValueError(f"duplicate sku {product.sku!r}")
            seen.add(product.sku)
        return products


# -- agent -----------------------------------------------------------------------------------


class Tone(Frozen):
    brand: str = ""
    voice: str = ""
    max_words: int | None = Field(default=None, gt=0)
    banned_phrases: tuple[Phrase, ...] = ()
    emoji: bool = True
    sign_off: str | None = None


class ToneOverride(Frozen):
    """A fixture's `expect.tone`: any key of the tone profile, replacing the store's value."""

    brand: str | None = None
    voice: str | None = None
    max_words: int | None = Field(default=None, gt=0)
    banned_phrases: tuple[Phrase, ...] | None = None
    emoji: bool | None = None
    sign_off: str | None = None

    def apply(self, tone: Tone) -> Tone:
        return tone.model_copy(update=self.model_dump(exclude_none=True))


# Measured across the sample store and the test stores (docs/confidence.md): below 0.2 almost
# only questions the KB does not cover; 0.35 (the sample store's own value) hands plainly
# answerable questions of other shops to a person before any model sees them.
DEFAULT_MIN_CONFIDENCE = 0.2


class Escalation(Frozen):
    topics: Annotated[
        Mapping[str, tuple[Phrase, ...]], AfterValidator(_read_only)
    ] = Field(default_factory=dict)
    min_confidence: float = Field(default=DEFAULT_MIN_CONFIDENCE, ge=0, le=1)
    on_request: bool = True
    request_phrases: tuple[Phrase, ...] = ()  # added to the built-in "asks for a person" list
    handoff_message: str = (
        "I'm passing this conversation to a member of our support team, who can take it from"
        " here. They will reply in this conversation shortly."
    )

    @field_validator("topics", mode="before")
    @classmethod
    def _empty_list_for_none(cls, topics: Any) -> Any:
        if isinstance(topics, dict):
            return {name: phrases or () for name, phrases in topics.items()}
        return topics


class Retrieval(Frozen):
    top_k: int = Field(default=3, gt=0)


JsonScalar = str | int | float | bool | None
# litellm parameters a store may set beside temperature and max_tokens; others are refused, so a
# misspelt key is a load error rather than a parameter silently ignored by a provider.
MODEL_PARAMS = ("top_p", "seed", "stop", "presence_penalty", "frequency_penalty", "n",
                "logit_bias", "user", "reasoning_effort", "parallel_tool_calls", "tool_choice")


def _known_params(params: Mapping[str, Any]) -> Mapping[str, Any]:
    unknown = sorted(set(params) - set(MODEL_PARAMS))
    if unknown:
        raise ValueError(f"unknown model parameter(s) {', '.join(unknown)}; expected any of: "
                         + ", ".join(MODEL_PARAMS))
    return MappingProxyType(dict(params))


ModelParams = Annotated[
    Mapping[str, JsonScalar | tuple[JsonScalar, ...] | Mapping[str, JsonScalar]],
    AfterValidator(_known_params),
]


class Judge(Frozen):
    model: str | None = None
    api_base: str | None = None  # the judge's own server, when it is not the agent's
    max_tokens: int = Field(default=800, gt=0)  # a verdict is short JSON


class Rubric(Frozen):
    weights: Mapping[Literal["accuracy", "relevance", "tone", "resolution"], float] = Field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_WEIGHTS))
    )

    @field_validator("weights")
    @classmethod
    def _complete(cls, weights: Mapping[str, float]) -> Mapping[str, float]:
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        return MappingProxyType({**{k: 0.0 for k in DEFAULT_WEIGHTS}, **weights})


class AgentConfig(Frozen):
    model: str | None = None
    api_base: str | None = None  # an OpenAI-compatible server (self-hosted model, gateway)
    temperature: float = Field(default=0.0, ge=0, le=2)
    concurrency: int | None = Field(default=None, gt=0)  # model calls in flight at once
    timeout: float = Field(default=60.0, gt=0)  # seconds per try of a model call
    retries: int = Field(default=6, ge=0)  # more tries on 429, 5xx and connection errors
    max_tokens: int | None = Field(default=1024, gt=0)  # a reply longer than this is cut off
    params: ModelParams = Field(default_factory=dict)  # more litellm parameters (top_p, seed...)
    retrieval: Retrieval = Field(default_factory=Retrieval)
    escalation: Escalation = Field(default_factory=Escalation)
    tone: Tone = Field(default_factory=Tone)
    judge: Judge = Field(default_factory=Judge)
    rubric: Rubric = Field(default_factory=Rubric)
    tools: tuple[ToolSpec, ...] = ()  # back-end tools offered beside escalate_to_human
    max_tool_steps: int = Field(default=5, ge=0)  # rounds of tool calls before the reply
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, tools: tuple[ToolSpec, ...]) -> tuple[ToolSpec, ...]:
        names = [t.name for t in tools]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"duplicate tool name(s) {', '.join(doubled)}")
        return tools

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODEL


# -- fixtures --------------------------------------------------------------------------------


class Turn(Frozen):
    role: Literal["customer", "agent"]
    text: str

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        """`- customer: ...` or `- agent: ...` in YAML."""
        if isinstance(data, dict) and len(data) == 1 and "role" not in data:
            ((role, text),) = data.items()
            if role not in ("customer", "agent"):
                raise ValueError(f"unknown turn {role!r}; expected `customer:` or `agent:`")
            return {"role": role, "text": text}
        if isinstance(data, dict) and "role" in data:
            return data
        raise ValueError("expected one `customer: text` or `agent: text` per turn")


class Source(Frozen):
    kind: Literal["production", "synthetic"]
    conversation: str | None = None


_NO_TONE = ToneOverride()
_NO_TOOLS = ToolExpectation()


class Expectation(Frozen):
    outcome: Literal["resolve", "escalate"]
    facts: tuple[Phrase, ...] = ()
    forbidden: tuple[Phrase, ...] = ()
    articles: tuple[str, ...] = ()
    # one shared empty default each (frozen, so safe to share): 10,000 fixtures that set
    # neither key would otherwise hold 10,000 copies of each
    tone: ToneOverride = Field(default_factory=lambda: _NO_TONE)
    criteria: tuple[str, ...] = ()
    # other wordings that state a fact as well as its own: {fact: [wording, ...]}
    equivalents: dict[str, tuple[Phrase, ...]] = Field(default_factory=dict)
    tools: ToolExpectation = Field(default_factory=lambda: _NO_TOOLS)


class Case(Frozen):
    id: str
    suite: str
    topic: str | None = None
    tags: tuple[str, ...] = ()
    added: dt.date | None = None
    source: Source | None = None
    as_of: dt.date | None = None
    conversation: tuple[Turn, ...]
    # what the store's back end answers in this case: tool name -> {key: result}, or the
    # result itself for a tool with no parameters (checked against agent.yaml at load)
    tools: Annotated[Mapping[str, Any], AfterValidator(freeze_json)] = Field(
        default_factory=dict)
    expect: Expectation
    path: Path | None = Field(default=None, exclude=True)
    lines: dict[str, int] = Field(default_factory=dict, exclude=True)

    @field_validator("conversation")
    @classmethod
    def _ends_with_customer(cls, turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
        if not turns or turns[-1].role != "customer":
            raise ValueError("the last turn must be `customer:` (the turn the agent answers)")
        return turns

    @property
    def case_id(self) -> str:
        return f"{self.suite}/{self.id}"

    @property
    def last_customer_text(self) -> str:
        return self.conversation[-1].text
