"""The store's back-end tools (agent.yaml `tools:`) and a fixture's data for them.

A tool is offered to the model in OpenAI's tool format beside `escalate_to_human`; its JSON
Schema `parameters` are checked when agent.yaml loads (a schema that is not valid JSON Schema,
a pattern that does not compile, a key parameter that does not exist: load errors), so a typo
is caught before any model call rather than surfacing as a model that never calls the tool.

A fixture's `tools:` holds what the store's back end would answer in that case: for a keyed
tool (one whose calls name an order, a tracking number, ...) a mapping from key value to the
result; for a tool with no parameters (the signed-in customer's account) the result itself.
An unknown key gets the tool's `not_found` result, as a real back end would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ESCALATE_NAME", "ToolExpectation", "ToolRef", "ToolSpec", "freeze_json", "is_error",
    "key_of", "normal_key", "parse_arguments", "thaw",
]

ESCALATE_NAME = "escalate_to_human"  # the harness's own tool (agent/escalation.py)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what OpenAI and most providers accept
_MAX_ARGUMENTS = 20_000  # characters of a model's arguments read; more is no call at all


def freeze_json(value: Any) -> Any:
    """A JSON value, frozen: mappings read-only, lists as tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze_json(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze_json(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A frozen JSON value back as plain dicts and lists, as json.dumps and jsonschema take."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def _check_schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    import jsonschema

    plain = thaw(schema)
    if plain.get("type") != "object":
        raise ValueError("parameters must be a JSON Schema with `type: object`")
    for name, prop in (plain.get("properties") or {}).items():
        pattern = prop.get("pattern") if isinstance(prop, dict) else None
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"parameter {name!r}: pattern {pattern!r} does not compile:"
                                 f" {exc}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(plain)
    except jsonschema.SchemaError as exc:
        where = ".".join(str(p) for p in exc.path) or "parameters"
        raise ValueError(f"not valid JSON Schema at {where}: {exc.message}") from None
    return freeze_json(plain)


JsonSchema = Annotated[Mapping[str, Any], AfterValidator(_check_schema)]


class ToolSpec(BaseModel):
    """One back-end tool of agent.yaml: a look-up (order, tracking, account) or an action."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    kind: Literal["lookup", "action"] = "lookup"
    parameters: JsonSchema = Field(
        default_factory=lambda: MappingProxyType({"type": "object", "properties": {}}))
    key: str | None = None  # the parameter results are keyed by; default: the only one
    not_found: Mapping[str, Any] | None = None  # what the back end answers for an unknown key

    @model_validator(mode="after")
    def _valid(self) -> ToolSpec:
        if not _NAME.match(self.name):
            raise ValueError(f"tool name {self.name!r}: expected 1-64 letters, digits, _ or -")
        if self.name == ESCALATE_NAME:
            raise ValueError(f"{ESCALATE_NAME!r} is the harness's own tool; choose another name")
        props = list(self.parameters.get("properties") or {})
        if self.key is not None and self.key not in props:
            raise ValueError(f"tool {self.name!r}: key {self.key!r} is not one of its"
                             f" parameters ({', '.join(props) or 'none'})")
        if self.key is None and len(props) > 1:
            required = list(self.parameters.get("required") or ())
            if len(required) != 1:
                raise ValueError(f"tool {self.name!r} has several parameters; name the one its"
                                 " results are keyed by with `key:`")
        return self

    @property
    def key_param(self) -> str | None:
        """The argument whose value picks the fixture's result; None: one result for all."""
        props = list(self.parameters.get("properties") or {})
        if self.key:
            return self.key
        if len(props) == 1:
            return props[0]
        required = list(self.parameters.get("required") or ())
        return required[0] if len(required) == 1 and props else None

    def not_found_result(self, key: str) -> dict[str, Any]:
        if self.not_found is not None:
            return thaw(self.not_found)
        what = (self.key_param or "key").replace("_", " ")
        return {"error": "not_found", "message": f"No record found for {what} {key}."}

    def openai(self) -> dict[str, Any]:
        """The tool as OpenAI's function format, which litellm maps for other providers."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": thaw(self.parameters)}}


class ToolRef(BaseModel):
    """One entry of `expect.tools.called` / `not_called`: a tool name, or a name and arguments
    every call must match (`{name: lookup_order, args: {order_number: KC-10482}}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    args: Mapping[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    def matches(self, name: str, arguments: Mapping[str, Any]) -> bool:
        if name != self.name:
            return False
        return all(normal_key(arguments.get(k)) == normal_key(v) for k, v in self.args.items())

    def label(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.args.items())})"


class ToolExpectation(BaseModel):
    """`expect.tools`: the calls a case must make and the calls it must not make."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    called: tuple[ToolRef, ...] = ()
    not_called: tuple[ToolRef, ...] = ()


def normal_key(value: Any) -> str:
    """A key as a back end compares it: trimmed, case-folded, a leading `#` dropped."""
    if value is None:
        return ""
    return str(value).strip().removeprefix("#").strip().casefold()


def parse_arguments(arguments: str) -> dict[str, Any] | None:
    """A model's arguments: untrusted text. None when they are not a JSON object."""
    if len(arguments or "") > _MAX_ARGUMENTS:
        return None
    try:
        value = json.loads(arguments or "{}")
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def key_of(spec: ToolSpec, arguments: Mapping[str, Any]) -> str:
    """The key a call's arguments name ('' for an unkeyed tool)."""
    param = spec.key_param
    return str(arguments.get(param, "")).strip() if param else ""


def is_error(result: Any) -> bool:
    """A back-end answer that is an error (not found, refused, invalid arguments)."""
    return isinstance(result, Mapping) and "error" in result
