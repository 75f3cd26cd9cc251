"""The reference model's use of back-end tools: which to call, and what their results say.

Like the rest of the reference model it reads only what a model is sent: the tools offered (in
OpenAI's format: name, description, JSON Schema parameters), the conversation and the `tool`
messages answering its earlier calls. Pure functions, deterministic:

- `next_calls`: when the customer names something a look-up tool takes (an order number that
  matches the parameter's `pattern`, or the shape of the example in its description), call that
  tool, once per key; a key found in an earlier result under the parameter's own name (the
  order's `tracking_number`) leads to the next look-up, so answers take several rounds. Tools
  with no parameters (the signed-in account) are called beside the first keyed look-up, in
  parallel. An action (cancel, refund, reship) is called only when the customer asks for it
  by name, after its record was looked up, and no field of the record says it is not allowed
  (`cancelable: false`, `refund_eligible: false`).
- `result_lines`: the results as plain sentences, status first, then what the question asks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.text.tokens import tokenize

__all__ = ["Call", "next_calls", "result_lines"]

_LOOKUP = re.compile(r"^(get|lookup|look_up|find|track|check|fetch|search|show|list)|^(look"
                     r" up|get|find|track|check|fetch|show)\b", re.IGNORECASE)
_ACTION = re.compile(r"^(cancel|refund|reship|resend|return|replace|issue|request|create)",
                     re.IGNORECASE)
_EXAMPLE = re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b[A-Z]{1,3}\d{5,}\b")
_PRIVATE = re.compile(r"(^|_)(email|phone|address|customer_id|name)$")
_MONEY_KEY = re.compile(r"amount|total|price|subtotal|paid|cost|refund$")
_NOUN_ACTIONS = {"refund", "return", "replacement"}  # an action whose result is its own record
_REQUEST = (r"\b(please|can you|could you|would you|i want|i'd like|i would like|i need|"
            r"want to|like to|need to)\b[^.?!]{0,40}?\b")
_PAST = {"cancel": "cancelled", "refund": "refunded", "reship": "reshipped",
         "resend": "resent", "return": "returned", "replace": "replaced"}


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class _Tool:
    name: str
    kind: str  # "lookup", "action" or ""
    param: str | None  # the argument naming the record
    shape: re.Pattern[str] | None  # what a value of it looks like

    @property
    def stem(self) -> str:
        """The action's verb: `cancel` of cancel_order, `refund` of issue_refund."""
        words = self.name.lower().split("_")
        return next((w for w in words if w in _PAST), words[0])

    @property
    def noun(self) -> str:
        if not self.param:
            return "record"
        return re.sub(r"_(number|id|no|code)$", "", self.param).replace("_", " ")


def _shape_of(example: str) -> re.Pattern[str]:
    """The pattern of an example value: `KC-10482` -> letters, a hyphen, five digits."""
    parts = []
    for run in re.findall(r"[A-Z]+|[a-z]+|\d+|.", example):
        if run.isdigit():
            parts.append(rf"\d{{{len(run)}}}")
        elif run.isalpha():
            parts.append(re.escape(run))  # a prefix is literal: KC-, 1Z
        else:
            parts.append(re.escape(run))
    return re.compile(r"(?<![\w-])" + "".join(parts) + r"(?![\w-])", re.IGNORECASE)


def _tool(spec: Mapping[str, Any]) -> _Tool:
    function = spec.get("function") or {}
    name = str(function.get("name") or "")
    description = str(function.get("description") or "")
    params = function.get("parameters") or {}
    props = params.get("properties") or {}
    required = list(params.get("required") or ())
    param = next((p for p, s in props.items() if isinstance(s, dict) and s.get("pattern")),
                 None) or (required[0] if len(required) == 1 else None) or (
        next(iter(props)) if len(props) == 1 else None)
    shape = None
    if param:
        prop = props.get(param) or {}
        if prop.get("pattern"):
            body = str(prop["pattern"]).removeprefix("^").removesuffix("$")
            try:
                shape = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")
            except re.error:
                shape = None
        if shape is None:
            example = _EXAMPLE.search(f"{prop.get('description', '')} {description}")
            shape = _shape_of(example.group(0)) if example else None
    if _ACTION.search(name) or _ACTION.search(description):
        kind = "action"
    elif _LOOKUP.search(name) or _LOOKUP.search(description):
        kind = "lookup"
    else:
        kind = ""
    return _Tool(name, kind, param, shape)


def _tools(offered: Sequence[Mapping[str, Any]], handoff: str) -> list[_Tool]:
    return [t for t in map(_tool, offered) if t.name and t.name != handoff and t.kind]


def _history(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
    """Each earlier call: (tool name, arguments, parsed result)."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    done = []
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            try:
                args = json.loads(function.get("arguments") or "{}")
            except ValueError:
                args = {}
            calls[str(call.get("id"))] = (str(function.get("name")), args
                                          if isinstance(args, dict) else {})
        if message.get("role") == "tool":
            name, args = calls.get(str(message.get("tool_call_id")), ("", {}))
            try:
                result = json.loads(str(message.get("content") or "null"))
            except ValueError:
                result = message.get("content")
            done.append((name, args, result))
    return done


def _values_under(data: Any, key: str) -> list[str]:
    if isinstance(data, Mapping):
        found = [str(v) for k, v in data.items() if k == key and isinstance(v, str | int)]
        return found + [x for v in data.values() for x in _values_under(v, key)]
    if isinstance(data, list):
        return [x for v in data for x in _values_under(v, key)]
    return []


def _said(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(m.get("content") or "") for m in messages if m.get("role") == "user"]


def _forbids(record: Any, stem: str) -> bool:
    """A field of the record naming the action is false: `cancelable: false`."""
    if not isinstance(record, Mapping):
        return False
    return any(stem in k.lower() and v is False for k, v in record.items()) or any(
        _forbids(v, stem) for v in record.values() if isinstance(v, Mapping))


def next_calls(messages: Sequence[Mapping[str, Any]], offered: Sequence[Mapping[str, Any]],
               handoff: str = "") -> tuple[Call, ...]:
    """The tool calls to make now; empty when every useful call has been made."""
    tools = _tools(offered, handoff)
    history = _history(messages)
    made = {(name, _norm(args.get(t.param, "")) if (t := _by_name(tools, name)) and t.param
             else "") for name, args, _ in history}
    said = _said(messages)
    account = _account(history, tools)
    wanted: list[tuple[str, str, str | None]] = []  # tool, key, parameter
    for tool in tools:
        if tool.kind != "lookup" or not tool.param or tool.shape is None:
            continue
        keys = [m.group(0) for text in said for m in tool.shape.finditer(text)]
        keys += [v for _, _, result in history if _theirs(result, account)
                 for v in _values_under(result, tool.param)]
        for key in dict.fromkeys(keys):
            if (tool.name, _norm(key)) not in made and tool.shape.fullmatch(key):
                wanted.append((tool.name, key, tool.param))
    if wanted and not history:  # the first look-up: the account too, in parallel
        wanted += [(t.name, "", None) for t in tools
                   if t.kind == "lookup" and not t.param and (t.name, "") not in made]
    if not wanted and said:
        wanted = _actions(tools, said[-1], [h for h in history if _theirs(h[2], account)],
                          made)
    start = sum(1 for m in messages if m.get("role") == "tool")
    return tuple(Call(f"call_reference_{start + i}", name,
                      json.dumps({param: key} if param else {}))
                 for i, (name, key, param) in enumerate(dict.fromkeys(wanted)))


def _actions(tools: list[_Tool], asked: str, history: list[tuple[str, dict[str, Any], Any]],
             made: set[tuple[str, str]]) -> list[tuple[str, str, str | None]]:
    wanted: list[tuple[str, str, str | None]] = []
    for tool in tools:
        if tool.kind != "action" or not tool.param or tool.shape is None:
            continue
        if not re.search(_REQUEST + re.escape(tool.stem), asked, re.IGNORECASE):
            continue  # asked for by name, as a request: "please cancel", "I want a refund"
        for _, args, result in history:
            key = str(args.get(tool.param, ""))
            if (not key or (tool.name, _norm(key)) in made or not isinstance(result, Mapping)
                    or "error" in result or _forbids(result, tool.stem)):
                continue
            wanted.append((tool.name, key, tool.param))
    return wanted


def _by_name(tools: list[_Tool], name: str) -> _Tool | None:
    return next((t for t in tools if t.name == name), None)


def _norm(value: Any) -> str:
    return str(value).strip().removeprefix("#").casefold()


# -- the results, as sentences ---------------------------------------------------------------


def _date(value: str) -> str | None:
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return f"{day:%B} {day.day}, {day.year}"


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and _MONEY_KEY.search(key.lower()):
        return f"${value:,.2f}"
    if isinstance(value, str):
        return _date(value) or value.replace("_", " ") if key.endswith("status") else (
            _date(value) or value)
    return str(value)


def _status_sentence(subject: str, status: str) -> str:
    words = status.replace("_", " ")
    verb = "was" if words.endswith("ed") and words not in ("delayed",) else "is"
    return f"{subject} {verb} {words}."


def _record_lines(subject: str, record: Mapping[str, Any], asked: set[str],
                  skip: set[str]) -> list[str]:
    first, relevant, rest = [], [], []
    for key, value in record.items():
        if key in skip or _PRIVATE.search(key.lower()):
            continue
        label = key.replace("_", " ")
        if key == "status" and isinstance(value, str):
            first.append(_status_sentence(subject, value))
            continue
        if isinstance(value, Mapping):
            lines = _record_lines(f"The {label}", value, asked, skip)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            lines = [_list_line(label, value)]
        elif isinstance(value, list):
            lines = [f"The {label}: {', '.join(map(str, value))}."]
        elif isinstance(value, bool):
            lines = [f"{subject} is {'' if value else 'not '}{label}."]
        elif (verb := re.fullmatch(r"(\w+?)_(on|at|date)", key)) and _date(str(value)):
            lines = [f"{subject} {verb.group(1).replace('_', ' ')} on {_date(str(value))}."]
        else:
            lines = [f"The {label} is {_value(key, value)}."]
        (relevant if set(tokenize(label)) & asked else rest).extend(lines)
    return first + relevant + rest


def _list_line(label: str, items: list[Mapping[str, Any]]) -> str:
    dated = [i for i in items if any(_date(str(v)) for k, v in i.items() if "date" in k
                                     or k in ("at", "on", "time"))]
    if dated:  # events: the latest one
        latest = max(dated, key=lambda i: str(next(v for k, v in i.items()
                                                   if "date" in k or k in ("at", "on", "time"))))
        said = ", ".join(_value(k, v) for k, v in latest.items())
        return f"The latest {label.rstrip('s')} is: {said}."
    names = []
    for item in items:
        name = item.get("name") or item.get("product") or item.get("title") or ""
        count = item.get("quantity") or item.get("qty")
        names.append(f"{count} x {name}" if count else str(name))
    return f"The {label} are: {', '.join(n for n in names if n)}."


def _owner(record: Any) -> str:
    if not isinstance(record, Mapping):
        return ""
    for key in ("customer_id", "customer_email", "email"):
        if isinstance(record.get(key), str):
            return record[key].casefold()
    return ""


def _account(history: list[tuple[str, dict[str, Any], Any]], tools: Any) -> str:
    """The signed-in customer, from a parameterless look-up's result (the account)."""
    unkeyed = {t.name for t in tools if not t.param}
    return next((_owner(r) for n, _, r in history if n in unkeyed and _owner(r)), "")


def _theirs(record: Any, account: str) -> bool:
    """The record is the signed-in customer's (or says nothing of whose it is)."""
    return not (account and _owner(record) and _owner(record) != account)


def result_lines(messages: Sequence[Mapping[str, Any]], offered: Sequence[Mapping[str, Any]],
                 question: str, handoff: str = "") -> list[str]:
    """What the tool results say, as sentences to lead the reply with."""
    tools = {t.name: t for t in _tools(offered, handoff)}
    asked = set(tokenize(question))
    history = _history(messages)
    account = _account(history, tools.values())
    lines: list[str] = []
    for name, args, result in history:
        tool = tools.get(name)
        if tool is None or not tool.param or not isinstance(result, Mapping):
            continue
        key = str(args.get(tool.param, ""))
        subject = f"{tool.noun.capitalize()} {key}"
        if "error" in result:
            lines.append(_error_line(tool, key, result))
        elif not _theirs(result, account):
            lines.append(f"{subject} is not on your account, so I can't share its details.")
        elif tool.kind == "action":
            done = _PAST.get(tool.stem, f"{tool.stem} done")
            lines.append(f"I have {done} {tool.noun} {key} for you.")
            about = f"The {tool.stem}" if tool.stem in _NOUN_ACTIONS else subject
            lines += _record_lines(about, result, asked, {tool.param})
        else:
            lines += _record_lines(subject, result, asked, {tool.param})
    return list(dict.fromkeys(lines))


def _error_line(tool: _Tool, key: str, result: Mapping[str, Any]) -> str:
    message = str(result.get("message") or "").strip()
    if str(result.get("error")) == "not_found":
        return (f"I couldn't find {tool.noun} {key} in our system; please check the number"
                " on your confirmation email.")
    if tool.kind == "action":
        return f"I wasn't able to {tool.stem} {tool.noun} {key}: {message or result['error']}"
    return f"I can't share details of {tool.noun} {key}: {message or result['error']}"
