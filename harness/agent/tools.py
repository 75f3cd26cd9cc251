"""Execute a model's tool calls against a fixture's back-end data.

The fixture holds what the store's systems would answer (FORMATS: fixture `tools:`); this is
the mock back end: it checks the call's arguments against the tool's JSON Schema, picks the
result by the key argument, and answers an unknown key with the tool's "not found" result,
as a real back end would. Nothing here calls a network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.store.schema import AgentConfig, Case
from harness.store.tools import ToolSpec, key_of, normal_key, parse_arguments, thaw

__all__ = ["execute", "key_patterns", "offered_tools", "result_text"]


def offered_tools(agent: AgentConfig) -> list[dict[str, Any]]:
    """agent.yaml's tools in OpenAI's format (escalate_to_human is added by the loop)."""
    return [tool.openai() for tool in agent.tools]


def key_patterns(tools: Sequence[ToolSpec]) -> list[re.Pattern[str]]:
    """The `pattern` of each tool's key parameter, unanchored, to find its values in text."""
    found = []
    for tool in tools:
        prop = (tool.parameters.get("properties") or {}).get(tool.key_param or "") or {}
        pattern = prop.get("pattern") if isinstance(prop, Mapping) else None
        if pattern:
            body = str(pattern).removeprefix("^").removesuffix("$")
            found.append(re.compile(rf"(?<![\w-])(?:{body})(?![\w-])"))  # as the schema says
    return found


def _invalid(spec: ToolSpec, args: dict[str, Any]) -> str | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(thaw(spec.parameters))
    errors = sorted(validator.iter_errors(args), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    where = ".".join(str(p) for p in first.path)
    return f"{where}: {first.message}" if where else first.message


def _lookup(spec: ToolSpec, data: Any, args: Mapping[str, Any]) -> Any:
    if not spec.key_param:
        return thaw(data) if data is not None else spec.not_found_result("")
    key = key_of(spec, args)
    records = data if isinstance(data, Mapping) else {}
    wanted = normal_key(key)
    for stored, result in records.items():
        if normal_key(stored) == wanted:
            return thaw(result)
    return spec.not_found_result(key)


def execute(agent: AgentConfig, case: Case, name: str, arguments: str) -> dict[str, Any]:
    """The back end's answer to one call, as a JSON object (an error is `{"error": ...}`)."""
    spec = agent.tool(name)
    if spec is None:
        return {"error": "unknown_tool", "message": f"There is no tool named {name!r}."}
    args = parse_arguments(arguments)
    if args is None:
        return {"error": "invalid_arguments", "message": "The arguments are not a JSON object."}
    problem = _invalid(spec, args)
    if problem:
        return {"error": "invalid_arguments", "message": problem}
    result = _lookup(spec, case.tools.get(name), args)
    return result if isinstance(result, dict) else {"result": result}


def result_text(result: Mapping[str, Any]) -> str:
    """A result as the JSON text sent to the model and kept in the run."""
    return json.dumps(result, ensure_ascii=False, sort_keys=False)
