"""The tool results of a run as verified data, applied to its reply (like the catalog).

What the back end answered (an order record, tracking events, a refund) is what the reply must
agree with. A sentence of the reply is checked against the records for:

- status: a status stated ("is in transit", "was delivered", "has been refunded") that the
  record's `status` rules out; a sentence about the refund is checked against the refund's
  status (a `refund` field, or the result of a refund tool);
- dates: a date in a sentence about delivery, shipping or the refund that none of the records'
  dates of that kind (or any of their dates) equals;
- carrier: a carrier named that is not the record's carrier;
- tracking number: a tracking-number-like code that is not the record's;
- amounts: an amount in a sentence about the customer's refund or order total that no amount of
  that kind in the records equals;
- items: a catalog product said to be in the customer's order that the record's items lack.

Each problem names the record (tool and key) and the field, so a coach can see what to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.agent.run import Run, ToolUse
from harness.kb.catalog import find_products
from harness.store.schema import AgentConfig, Catalog
from harness.store.tools import key_of, parse_arguments
from harness.text.figures import figures_in, money_in
from harness.text.sentences import sentences

__all__ = ["OrderClaim", "Record", "order_claims", "records_of", "verified_text"]


@dataclass(frozen=True)
class Record:
    """One successful tool result: what it is, and its fields flattened to dotted paths."""

    label: str  # "lookup_order KC-10482"
    tool: str
    fields: tuple[tuple[str, Any], ...]
    items: tuple[str, ...]  # item names, when the record lists items


@dataclass(frozen=True)
class OrderClaim:
    text: str  # the reply's sentence
    problem: str


def _flatten(data: Any, at: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _flatten(value, f"{at}.{key}" if at else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _flatten(value, f"{at}.{index}")
    else:
        yield at, data


def _item_names(data: Any) -> tuple[str, ...]:
    if isinstance(data, Mapping):
        found = []
        for key, value in data.items():
            if key in ("items", "lines", "line_items", "products") and isinstance(value, list):
                found += [str(i.get("name") or i.get("product") or i.get("title") or "")
                          for i in value if isinstance(i, Mapping)]
            else:
                found += _item_names(value)
        return tuple(n for n in found if n)
    return ()


def records_of(run: Run, agent: AgentConfig) -> list[Record]:
    """The successful results of the run's tool calls (errors are no data)."""
    found = []
    for use in run.tools:
        try:
            result = json.loads(use.result)
        except ValueError:
            continue
        if not isinstance(result, Mapping) or "error" in result:
            continue
        found.append(Record(_label(use, agent), use.name, tuple(_flatten(result)),
                            _item_names(result)))
    return found


def _label(use: ToolUse, agent: AgentConfig) -> str:
    spec = agent.tool(use.name)
    args = parse_arguments(use.arguments) or {}
    key = key_of(spec, args) if spec else ""
    return f"{use.name} {key}".strip()


# -- what a sentence is about ----------------------------------------------------------------

_REFUND = re.compile(r"\brefund", re.IGNORECASE)
_DELIVERY = re.compile(r"\b(deliver\w*|arriv\w*|expected|reach\w*|get (it|there)|eta)\b", re.I)
_SHIP = re.compile(r"\b(ship\w*|dispatch\w*|sent out|left our)\b", re.IGNORECASE)
_TOTAL = re.compile(r"\b(total|paid|charged|came to|cost of (your|the) order)\b", re.IGNORECASE)
_YOURS = re.compile(r"\b(you|your|yours)\b", re.IGNORECASE)
_IN_ORDER = re.compile(r"\b(your (order|package|parcel|shipment|box)|you ordered|in (the|your)"
                       r" order|order [A-Z]{1,4}-?\d+|contains?)\b", re.IGNORECASE)


def _kind_of_field(path: str, tool: str) -> str:
    name = path.lower()
    if "refund" in name or "refund" in tool.lower():
        return "refund"
    if re.search(r"deliver|arriv|eta", name):
        return "delivery"
    if re.search(r"ship|dispatch", name):
        return "ship"
    return "other"


def _kind_of_sentence(sentence: str) -> str:
    if _REFUND.search(sentence):
        return "refund"
    if _DELIVERY.search(sentence):
        return "delivery"
    if _SHIP.search(sentence):
        return "ship"
    return "other"


# -- status ----------------------------------------------------------------------------------

_ORDER_STATES = {
    "processing": r"being (processed|prepared|packed)|processing|not (yet )?(been )?shipped",
    "shipped": r"shipped|dispatched",
    "in_transit": r"in transit|on (its|the) way|en route",
    "out_for_delivery": r"out for delivery",
    "delayed": r"delayed|running late|held up",
    "delivered": r"delivered",
    "lost": r"lost|missing",
    "cancelled": r"cancell?ed",
    "returned": r"returned",
    "refunded": r"refunded",
}
_ORDER_ALLOWED = {
    "processing": {"processing"},
    "pending": {"processing"},
    "shipped": {"shipped", "in_transit"},
    "in_transit": {"shipped", "in_transit"},
    "out_for_delivery": {"out_for_delivery", "in_transit", "shipped"},
    "delayed": {"delayed", "in_transit", "shipped"},
    "delivered": {"delivered", "shipped"},
    "lost": {"lost", "shipped", "delayed"},
    "cancelled": {"cancelled", "refunded"},
    "returned": {"returned", "delivered", "shipped"},
    "refunded": {"refunded", "delivered", "returned", "shipped", "cancelled"},
}
_REFUND_STATES = {
    "pending": r"pending|being processed|processing|on hold|not (yet )?(been )?(issued|sent)",
    "issued": r"issued|processed|sent|completed|paid out|refunded|on its way",
    "denied": r"denied|declined|rejected|refused",
}
_REFUND_ALLOWED = {
    "pending": {"pending"}, "requested": {"pending"}, "processing": {"pending"},
    "approved": {"pending"}, "issued": {"issued"}, "completed": {"issued"},
    "refunded": {"issued"}, "processed": {"issued"}, "sent": {"issued"},
    "denied": {"denied"}, "declined": {"denied"}, "rejected": {"denied"},
}
_CLAIM = r"\b(?:is|was|are|were|has|have|has been|have been|got|been|'s)\s+(?:now\s+|already\s+|" \
         r"currently\s+|still\s+|just\s+)?(?:been\s+)?(?P<state>{states})\b"


_CONDITION = re.compile(r"\b(when|once|if|after|until|before|as soon as|unless|whether)\b",
                        re.IGNORECASE)


def _claim_pattern(states: Mapping[str, str]) -> re.Pattern[str]:
    joined = "|".join(f"(?P<{name}>{pattern})" for name, pattern in states.items())
    return re.compile(_CLAIM.format(states=joined), re.IGNORECASE)


_ORDER_CLAIM = _claim_pattern(_ORDER_STATES)
_REFUND_CLAIM = _claim_pattern(_REFUND_STATES)


def _canonical(value: str) -> str:
    word = re.sub(r"[\s-]+", "_", value.strip().lower())
    return {"canceled": "cancelled", "in-transit": "in_transit", "transit": "in_transit"}.get(
        word, word)


def _stated(sentence: str, pattern: re.Pattern[str], states: Mapping[str, str]) -> list[str]:
    found = []
    for match in pattern.finditer(sentence):
        clause = re.split(r"[,;:]", sentence[:match.start()])[-1]
        if _CONDITION.search(clause):
            continue  # "we email you when the refund is processed": no claim about now
        found += [name for name in states if match.group(name)]
    return found


def _status_claims(sentence: str, records: list[Record]) -> list[str]:
    refund = _REFUND.search(sentence)
    pattern, states, allowed = ((_REFUND_CLAIM, _REFUND_STATES, _REFUND_ALLOWED) if refund
                                else (_ORDER_CLAIM, _ORDER_STATES, _ORDER_ALLOWED))
    stated = _stated(sentence, pattern, states)
    if not stated:
        return []
    problems = []
    for record in records:
        for path, value in record.fields:
            if not (path == "status" or path.endswith(".status") or path.endswith("_status")):
                continue
            if (_kind_of_field(path, record.tool) == "refund") != bool(refund):
                continue
            ok = allowed.get(_canonical(str(value)))
            if ok is None:
                continue  # a status word this check does not know: no claim either way
            for state in stated:
                if state not in ok:
                    problems.append(f"says the {'refund' if refund else 'order'} is"
                                    f" {state.replace('_', ' ')}, but {record.label} has {path}"
                                    f" {value!r}")
            if any(state in ok for state in stated):
                return []  # one record of the reply's subject agrees: not a contradiction
    return problems[:1]


# -- dates, carriers, tracking numbers, amounts, items -------------------------------------

def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _date_claims(sentence: str, records: list[Record]) -> list[str]:
    dates = [f for f in figures_in(sentence) if f.kind == "date"]
    if not dates:
        return []
    kind = _kind_of_sentence(sentence)
    if kind == "other":
        return []  # "you ordered on Nov 25": a date the record need not hold
    every = [(r, p, d) for r in records for p, v in r.fields if (d := _day(v))]
    same_kind = [(r, p, d) for r, p, d in every if _kind_of_field(p, r.tool) == kind]
    if not same_kind:
        return []
    known = {d.month * 100 + d.day for _, _, d in every}
    for figure in dates:
        if figure.value not in known:
            record, path, day = same_kind[0]
            return [f"gives the date {figure.text!r}, but {record.label} has {path}"
                    f" {day.isoformat()}"]
    return []


_CARRIERS = ("UPS", "USPS", "FedEx", "DHL", "Royal Mail", "Canada Post", "DPD", "GLS",
             "Purolator", "OnTrac", "Australia Post", "La Poste", "PostNL", "Hermes", "Evri")


def _carrier_claims(sentence: str, records: list[Record]) -> list[str]:
    held = [(r, p, str(v)) for r in records for p, v in r.fields
            if "carrier" in p.lower() and isinstance(v, str)]
    if not held:
        return []
    names = {c.casefold() for c in _CARRIERS} | {v.casefold() for _, _, v in held}
    allowed = {v.casefold() for _, _, v in held}
    for name in sorted(names, key=len, reverse=True):
        if name in allowed:
            continue
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence, re.IGNORECASE):
            record, path, value = held[0]
            return [f"names the carrier {name.upper() if len(name) <= 4 else name.title()!r},"
                    f" but {record.label} has {path} {value!r}"]
    return []


_CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8,}(?![\w-])")
_TRACKING = re.compile(r"\btrack", re.IGNORECASE)


def _tracking_claims(sentence: str, records: list[Record]) -> list[str]:
    held = [(r, p, str(v)) for r in records for p, v in r.fields
            if "tracking" in p.lower() and isinstance(v, str) and not v.startswith("http")]
    if not held:
        return []
    values = {str(v).upper() for r in records for _, v in r.fields}
    for match in _CODE.finditer(sentence):
        code = match.group(0)
        shaped = any(len(code) == len(v) and code[:2] == v[:2].upper() for _, _, v in held)
        if code not in values and (shaped or _TRACKING.search(sentence)):
            record, path, value = held[0]
            return [f"gives the tracking number {code}, but {record.label} has {path} {value}"]
    return []


_MONEY_FIELD = re.compile(r"amount|total|price|subtotal|paid|cost", re.IGNORECASE)


def _amount_claims(sentence: str, records: list[Record], currency: str) -> list[str]:
    if not _YOURS.search(sentence):
        return []  # "refunds over $500 need approval": policy, not the customer's record
    refund = bool(_REFUND.search(sentence))
    if not refund and not _TOTAL.search(sentence):
        return []
    amounts = [m for m in money_in(sentence, currency) if m.unit == currency.upper()]
    if not amounts:
        return []
    held = [(r, p, float(v)) for r in records for p, v in r.fields
            if _MONEY_FIELD.search(p.rsplit(".", 1)[-1] if "." in p else p)
            and isinstance(v, int | float) and not isinstance(v, bool)]
    kind = [(r, p, v) for r, p, v in held
            if (_kind_of_field(p, r.tool) == "refund") == refund]
    if not kind:
        return []
    every = {round(v, 2) for _, _, v in held}
    named = [k for k in kind if k[1].rsplit(".", 1)[-1].replace("_", " ") in sentence.lower()]
    for amount in amounts:
        if round(amount.value, 2) not in every:
            record, path, value = (named or kind)[0]
            return [f"gives the amount {amount.text}, but {record.label} has {path}"
                    f" {value:,.2f}"]
    return []


def _item_claims(sentence: str, records: list[Record], catalog: Catalog) -> list[str]:
    listed = [(r, n) for r in records for n in r.items]
    if not listed or not _IN_ORDER.search(sentence):
        return []
    names = {n.casefold() for _, n in listed}
    for mention in find_products(sentence, catalog):
        product = mention.product.name.casefold()
        if not any(product in n or n in product for n in names):
            record = listed[0][0]
            items = ", ".join(dict.fromkeys(n for r, n in listed if r is record))
            return [f"says the order holds {mention.product.name}, but {record.label} lists"
                    f" items {items}"]
    return []


_THEIRS = re.compile(r"\b(you|your|yours|it|its|it's|this order|the (order|package|parcel|"
                     r"shipment|refund|delivery))\b", re.IGNORECASE)


def _about_records(sentence: str, keys: list[str]) -> bool:
    """A sentence about the customer's order or refund, not a policy sentence of the KB."""
    return bool(_THEIRS.search(sentence)) or any(
        k and k.casefold() in sentence.casefold() for k in keys)


def order_claims(reply: str, run: Run, agent: AgentConfig, catalog: Catalog) -> list[OrderClaim]:
    """Statements of the reply that the run's tool results contradict."""
    records = records_of(run, agent)
    if not records:
        return []
    keys = [r.label.split(" ", 1)[1] for r in records if " " in r.label]
    claims = []
    for sentence in sentences(reply):
        if not _about_records(sentence, keys):
            continue
        for problem in (*_status_claims(sentence, records), *_date_claims(sentence, records),
                        *_carrier_claims(sentence, records), *_tracking_claims(sentence, records),
                        *_amount_claims(sentence, records, catalog.currency),
                        *_item_claims(sentence, records, catalog)):
            claims.append(OrderClaim(sentence, problem))
    return claims


def _readable(path: str, value: Any, currency: str) -> str:
    """A record's value as a sentence would give it: dates spelled out, amounts as money."""
    if (day := _day(value)) is not None:
        return f"{day:%B} {day.day}, {day.year}"
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and _MONEY_FIELD.search(path.rsplit(".", 1)[-1])):
        return f"{value:.2f} {currency.upper()}"
    return str(value)


def verified_text(run: Run, agent: AgentConfig, currency: str) -> str:
    """The run's tool results as plain sentences ("estimated delivery: November 18, 2026."),
    so the claim checker takes a figure a record states as verified, like the customer's own
    words: the KB is not the authority on one order's dates and amounts."""
    return " ".join(f"{path.rsplit('.', 1)[-1].replace('_', ' ')}:"
                    f" {_readable(path, value, currency)}."
                    for record in records_of(run, agent) for path, value in record.fields
                    if value is not None and not isinstance(value, Mapping | list))
