"""The offline reference model: a deterministic, KB-grounded stand-in for an LLM.

It is NOT a language model. It exists so that a store's suites run in CI with no API key and
no network, through the very same litellm path as a real provider (it is a litellm custom
provider, model `reference/kb-grounded`). Like any model it sees only the messages it is sent:

- the articles and product records of the system prompt, written as
  `<article id="..." title="...">body</article>` and `<product name="..." price="..."
  status="...">` (the sample `prompts/system.md.j2` shows the shape);
- the tone instructions "under N words" and `End every reply with "..."`;
- the conversation, of which it answers the last user message;
- the `escalate_to_human` tool, if offered;
- back-end tools (order look-ups, actions) and their results (`reference_tools.py`).

It answers by quoting the article sentences that share the most informative words with the
question (and the price or status of any product record the customer named), so editing an
article changes its answers the way it would change a grounded LLM's. When nothing in the
prompt covers the question it calls `escalate_to_human` rather than guess.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.kb.catalog import name_pattern
from harness.providers.reference_tools import Call, next_calls, result_lines
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["MODEL", "PROVIDER", "answer"]

PROVIDER = "reference"
MODEL = f"{PROVIDER}/kb-grounded"

_ARTICLE = re.compile(r'<article\b([^>]*)>(.*?)</article>', re.DOTALL)
_PRODUCT = re.compile(r"<product\b([^>]*)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_MAX_WORDS = re.compile(r"\bunder (\d+) words\b", re.IGNORECASE)
_SIGN_OFF = re.compile(r'End every reply with "([^"\n]*)"', re.IGNORECASE)
_ASKS_PRICE_OR_STOCK = re.compile(
    r"\b(price|prices|priced|cost|costs|how much|expensive|cheap|available|availability|stock|"
    r"sell|selling|buy|discontinued|still (make|sell|carry|have)|carry)\b|\$",
    re.IGNORECASE,
)
# What kind of answer the question asks for, and what a sentence giving it contains.
_INTENTS = (
    (re.compile(r"\b(how much|cost|costs|price|fee|charge|pay)\b", re.I),
     re.compile(r"[$\u20ac\u00a3]\s?\d|\bfree\b", re.I)),
    (re.compile(r"\b(how (long|often|many|soon)|when|until|by what date|deadline)\b", re.I),
     re.compile(r"\d|\b(day|week|month|year|hour|minute)s?\b", re.I)),
)
_INTENT_BONUS = 0.3
_HOW_TO = re.compile(r"\b(how (do|can|should) (i|we)|how to|what (should|do) i do)\b", re.I)
_COVERAGE_NEEDED = 0.3  # share of the question's weight a sentence must carry to be an answer
_TOOLS_ANSWERED = 0.6  # with tool results to answer from, only a close KB sentence is added
_KNOWN_NEEDED = 0.25  # share of the question's words the articles must mention at all


@dataclass(frozen=True)
class Answer:
    content: str | None
    escalation: dict[str, str] | None = None
    tool: str = ""  # the hand-off tool it calls
    calls: tuple[Call, ...] = ()  # back-end look-ups and actions (reference_tools.py)


@dataclass(frozen=True)
class _Sentence:
    text: str
    article_rank: int
    position: int
    words: frozenset[str]


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTR.findall(text)}


def _sentences(system: str) -> list[_Sentence]:
    found = []
    for rank, (_, body) in enumerate(_ARTICLE.findall(system)):
        for text in sentences(body):
            found.append(_Sentence(text, rank, len(found), frozenset(tokenize(text))))
    return found


def _products(system: str) -> list[dict[str, str]]:
    return [_attrs(a) for a in _PRODUCT.findall(system)]


def _product_lines(products: list[dict[str, str]], question: str) -> list[str]:
    """Price or status of the products named, when the customer asks about price or stock."""
    if not _ASKS_PRICE_OR_STOCK.search(question):
        return []
    lines = []
    for attrs in products:
        name = attrs.get("name", "")
        names = [name, *filter(None, attrs.get("aliases", "").split("|"))]
        if not name or not any(name_pattern(n).search(question) for n in names):
            continue
        if attrs.get("status") == "discontinued":
            lines.append(f"The {name} has been discontinued and is no longer available.")
        else:
            amount, _, currency = attrs.get("price", "").partition(" ")
            price = f"${amount}" if currency in ("USD", "") else f"{amount} {currency}"
            lines.append(f"The {name} costs {price} and is in our range.")
    return lines


def _rank(
    sentences: Sequence[_Sentence], question: list[str], context: list[str], asked_text: str
) -> list[tuple[float, _Sentence]]:
    total = len(sentences) or 1
    frequency: dict[str, int] = {}
    for sentence in sentences:
        for word in sentence.words:
            frequency[word] = frequency.get(word, 0) + 1

    def idf(word: str) -> float:
        return math.log(1 + (total + 0.5) / (frequency.get(word, 0) + 0.5))

    asked = {w for w in question if w in frequency}  # words no article mentions: ungroundable
    mass = sum(idf(w) for w in asked) or 1.0
    scored = []
    for sentence in sentences:
        direct = sum(idf(w) for w in asked & sentence.words) / mass
        nearby = sum(idf(w) for w in (set(context) - asked) & sentence.words) / mass
        score = direct + 0.25 * nearby - 0.02 * sentence.article_rank
        if direct and any(q.search(asked_text) and a.search(sentence.text) for q, a in _INTENTS):
            score += _INTENT_BONUS
        scored.append((score, sentence))
    scored.sort(key=lambda pair: (-pair[0], pair[1].position))
    return scored


def _fit(parts: list[str], max_words: int | None, sign_off: str | None) -> str:
    budget = (max_words or 10_000) - len((sign_off or "").split())
    kept: list[str] = []
    for part in parts:
        if kept and sum(len(p.split()) for p in [*kept, part]) > budget:
            break
        kept.append(part)
    words = " ".join(kept).split()[: max(budget, 1)]
    body = " ".join(words)
    return f"{body}\n\n{sign_off}" if sign_off else body


def answer(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] = ()) -> Answer:
    """The reference model's reply to an OpenAI-style message list."""
    system = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    question = tokenize(users[-1]) if users else []
    context = [w for text in users[:-1] for w in tokenize(text)]
    handoff = handoff_tool(tools)
    if calls := next_calls(messages, tools, handoff):
        return Answer(None, calls=calls)
    max_words = int(m.group(1)) if (m := _MAX_WORDS.search(system)) else None
    sign_off = m.group(1) if (m := _SIGN_OFF.search(system)) else None

    records = _products(system)
    names = {w for attrs in records for w in tokenize(attrs.get("name", ""))}
    facts = result_lines(messages, tools, users[-1] if users else "", handoff)
    products = [*facts, *_product_lines(records, users[-1] if users else "")]
    question = [w for w in question if w not in names] or question
    if facts:  # the tool results answer what they mention; the KB only what is left
        said = {w for line in facts for w in tokenize(line)}
        question = [w for w in question if w not in said]
    every = _sentences(system)
    ranked = _rank(every, question, context, users[-1] if users else "")
    best = ranked[0][0] if ranked else 0.0
    floor = max(_TOOLS_ANSWERED if facts else _COVERAGE_NEEDED, best * 0.5)
    chosen = [s for score, s in ranked[:1 if facts else 3]
              if best and score >= floor and question]
    if chosen and _HOW_TO.search(users[-1]):  # a how-to answer goes on to the next step
        follow = chosen[0].position + 1
        if follow < len(every) and every[follow].article_rank == chosen[0].article_rank:
            chosen = list(dict.fromkeys([*chosen, every[follow]]))
    grounded = [s.text for s in sorted(chosen, key=lambda s: s.position)]
    if not products and not grounded:
        reason = "The knowledge base in my instructions does not cover this question."
        if handoff:
            return Answer(None, {"topic": "other", "reason": reason}, handoff)
        return Answer(_fit(["I'm not certain about that, so I won't guess."], max_words, sign_off))
    return Answer(_fit([*products, *grounded], max_words, sign_off))


_HANDOFF = re.compile(r"escalat|hand_?off|human|transfer|person|agent", re.IGNORECASE)


def handoff_tool(tools: Sequence[dict[str, Any]]) -> str:
    """The name of the tool that hands the conversation to a person, if one is offered: read
    from the tool list as any model would (its name), not from the harness's code."""
    for tool in tools:
        name = str(tool.get("function", {}).get("name") or "")
        if _HANDOFF.search(name):
            return name
    return ""


def to_openai_message(result: Answer) -> dict[str, Any]:
    """The answer as an OpenAI chat message, tool call included."""
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.calls:
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": c.arguments}} for c in result.calls]
    if result.escalation:
        message["tool_calls"] = [{
            "id": "call_reference_0",
            "type": "function",
            "function": {"name": result.tool, "arguments": json.dumps(result.escalation)},
        }]
    return message
