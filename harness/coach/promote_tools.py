"""A production conversation's tool calls as a fixture's `tools:` data, redacted consistently.

Redaction would turn an order number into `[order]`, and then the promoted fixture could not
be answered: no look-up matches `[order]`. So the keys the calls used (order and tracking
numbers) are replaced by surrogates of the same shape (same letters, other digits, derived
from the original so the same number always gets the same surrogate) in the conversation and
in the results alike; everything else in the results goes through the same redaction as the
text, and fields that name a person (email, phone, address, name) are masked whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.store.conversations import Conversation, ToolCallRecord
from harness.store.schema import AgentConfig
from harness.store.tools import is_error, key_of

__all__ = ["ToolData", "tool_data"]

_PERSONAL = re.compile(r"(^|_)(email|phone|address|street|postcode|zip|first_name|last_name|"
                       r"full_name|customer_name|recipient)$", re.IGNORECASE)
_KEEP = 2  # leading characters kept as they are: the carrier's or the store's prefix


def surrogate(key: str) -> str:
    """Another value of the same shape: `KC-10482` -> `KC-57193`, stable per key."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    digits = iter(str(int(c, 16) % 10) for c in digest * 4)
    return key[:_KEEP] + "".join(next(digits) if c.isdigit() else c for c in key[_KEEP:])


@dataclass(frozen=True)
class ToolData:
    tools: dict[str, Any]  # the fixture's `tools:`
    clean: Callable[[str], str]  # the conversation's text, with the same surrogates
    skipped: tuple[str, ...]  # tools the export names that agent.yaml does not offer


def _keys(calls: tuple[ToolCallRecord, ...], agent: AgentConfig) -> list[str]:
    found = []
    for call in calls:
        spec = agent.tool(call.name)
        if spec and spec.key_param:
            found.append(key_of(spec, call.args))
        for values in _strings_under(call.result, {t.key_param for t in agent.tools}):
            found.append(values)
    return sorted({k for k in found if k}, key=len, reverse=True)


def _strings_under(data: Any, names: set[str | None]) -> list[str]:
    if isinstance(data, Mapping):
        return [str(v) for k, v in data.items() if k in names and isinstance(v, str | int)] + [
            x for v in data.values() for x in _strings_under(v, names)]
    if isinstance(data, list):
        return [x for v in data for x in _strings_under(v, names)]
    return []


def tool_data(conversation: Conversation, agent: AgentConfig, *, upto: int,
              redact: Callable[[str], str] | None) -> ToolData:
    """The calls made before message `upto` (all, when the export gives no times), keyed as
    the fixture format wants; `redact` None keeps the data as it was."""
    limit = conversation.messages[upto].at if upto < len(conversation.messages) else None
    calls = tuple(c for c in conversation.tool_calls
                  if limit is None or c.at is None or c.at <= limit)
    keys = _keys(calls, agent) if redact else []
    swap = {k: surrogate(k) for k in keys}
    placeholders = {k: f"Qqtoolkey{chr(97 + i // 26)}{chr(97 + i % 26)}Qq"
                    for i, k in enumerate(keys)}

    def clean(text: str) -> str:
        if redact is None:
            return text
        for key, mark in placeholders.items():
            text = re.sub(rf"(?<![\w-])#?{re.escape(key)}(?![\w-])", mark, text,
                          flags=re.IGNORECASE)
        text = redact(text)
        for key, mark in placeholders.items():
            text = text.replace(mark, swap[key])
        return text

    def value(data: Any, name: str = "") -> Any:
        if isinstance(data, Mapping):
            return {k: value(v, k) for k, v in data.items()}
        if isinstance(data, list):
            return [value(v, name) for v in data]
        if isinstance(data, str) and redact is not None:
            return f"[{name.lower()}]" if _PERSONAL.search(name) else clean(data)
        return data

    tools: dict[str, Any] = {}
    skipped = []
    for call in calls:
        spec = agent.tool(call.name)
        if spec is None:
            skipped.append(call.name)
            continue
        if not isinstance(call.result, Mapping) or is_error(call.result):
            continue  # an error or nothing: the fixture's not-found result says the same
        if spec.key_param:
            key = key_of(spec, call.args)
            tools.setdefault(call.name, {})[swap.get(key, key)] = value(call.result)
        else:
            tools[call.name] = value(call.result)
    return ToolData(tools, clean, tuple(dict.fromkeys(skipped)))
