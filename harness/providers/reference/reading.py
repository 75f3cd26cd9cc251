"""How the reference model reads a system prompt: KB articles, product records, tone asks.

A team writes its prompt for a real LLM, in its own layout. This reads the layouts such
prompts use, from the text alone (never from the harness's data):

- articles as XML-like tags (`<article title="...">body</article>`, `<document>`, `<doc>`),
  as JSON or YAML records (`{"title": ..., "body": ...}`), or as the text under a heading or
  label that names the KB ("## Help-centre articles", "Knowledge base:", "Reference
  material:"), split by sub-headings (`### Title (id)`), numbered or bold titles, or title lines
  above paragraphs;
- product records as `<product name=... price=...>` tags, JSON or YAML records, a Markdown
  table, or one line per product ("- Name (SKU): 62.00 GBP - active", "Name costs $12");
- the word limit ("under 120 words", "100 words max", "no more than 90 words", ...) and the
  sign-off (`End every reply with "..."`, "Sign every reply with: ...", a line of its own).

What it cannot find it says, in `Understood.notes`, so a person sees why a reply escalates.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from harness.text.numbers import NUMBER, number_value
from harness.text.sentences import TABLE_ROW, TABLE_RULE, sentences

__all__ = ["KbArticle", "ProductRecord", "Understood", "read_prompt"]


@dataclass(frozen=True)
class KbArticle:
    title: str
    body: str
    id: str = ""


@dataclass(frozen=True)
class ProductRecord:
    name: str
    price: str = ""  # as the reply should write it: "$189.00", "£62.00", "49.99 CAD"
    status: str = "active"  # "active" or "discontinued"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Understood:
    """What the reference model took from the system prompt."""

    articles: tuple[KbArticle, ...] = ()
    products: tuple[ProductRecord, ...] = ()
    max_words: int | None = None
    sign_off: str | None = None
    layout: str = ""  # how the articles were found: "tags", "json", "yaml", "headings", ...
    brand: str = ""  # the shop the prompt says the model speaks for
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line: what was understood, for `harness check` and the run's notes."""
        parts = [f"{len(self.articles)} article(s)"
                 + (f" ({self.layout})" if self.articles and self.layout else ""),
                 f"{len(self.products)} product record(s)",
                 f"word limit {self.max_words}" if self.max_words else "no word limit",
                 f"sign-off {self.sign_off!r}" if self.sign_off else "no sign-off"]
        return ", ".join(parts)


# -- tone: word limit and sign-off ------------------------------------------------------------

_LIMIT_BEFORE = re.compile(
    r"\b(?:under|below|at most|no more than|not more than|fewer than|less than|maximum of|"
    r"max(?:imum)?\.?(?: of)?|up to|within|exceed|limit(?:ed)? (?:of|to)|cap(?:ped)? at|"
    r"no longer than|shorter than|longer than|not over|over|past|beyond|more than|"
    r"maximum length of|"
    r"length of)\s+(\d{1,4})\s+words?\b", re.IGNORECASE)
_LIMIT_AFTER = re.compile(
    r"\b(\d{1,4})[\s-]+words?\s*(?:max(?:imum)?\b|or (?:fewer|less|shorter|under)\b|"
    r"at (?:the )?most\b|(?:is|as) (?:the|a|your) (?:limit|maximum)\b|limit\b|cap\b)",
    re.IGNORECASE)
_LIMIT_SPREAD = re.compile(  # "Limit your reply to 80 words", "keep answers to 80 words"
    r"\b(?:limit|keep|cap|restrict|hold)\b[^.\n]{0,40}?\bto\s+(\d{1,4})\s+words?\b"
    r"|\bword (?:limit|count|maximum)\b[^.\n\d]{0,20}(\d{1,4})"
    r"|\b(?:limit|length|maximum|max)\s*:\s*(?:about |around |\u2264 ?|<= ?|< ?)?(\d{1,4})"
    r"\s+words?\b"
    r"|\bmax(?:imum)?[ _-]?(?:words|word[ _-]count|length)\b\W{0,4}(\d{1,4})\b"
    r"|\b(?:about|around|roughly|approximately)\s+(\d{1,4})\s+words?\b"
    r"|\b\d{1,4}\s*(?:-|\u2013|\u2014|to)\s*(\d{1,4})\s+words?\b"  # "60-80 words": 80
    r"|\b(?:limit|keep|cap|restrict)\b[^.\n]{0,60}?\band\s+(\d{1,4})\s+words?\b",
    re.IGNORECASE)
_QUOTED = re.compile(r'"([^"\n]+)"|\u201c([^\u201d\n]+)\u201d|`([^`\n]+)`|'
                     r"(?<![A-Za-z])'([^'\n]+)'(?![A-Za-z])")
_SIGN_ASK = re.compile(
    r"\b(?:end|sign(?: off)?|close|conclude|finish|wrap up|complete|terminate)\b[^\n]{0,40}?"
    r"\b(?:every|each|all|your|any)\b[^\n]{0,25}?"
    r"\b(?:repl(?:y|ies)|responses?|messages?|answers?|emails?|chats?)\b"
    r"|\bsign[- _]?off\b|\bsignature\b|\blast line\b|\bfinal line\b|\bclosing( line)?\s*:"
    r"|\bclosing line\b|\b(?:repl(?:y|ies)|responses?|messages?|emails?)\b[^\n]{0,30}?"
    r"\b(?:(?:ends?|finish(?:es)?|closes?) with|(?:be |are |is )?signed(?: off)?(?: with| as)?)\b"
    r"|\b(?:always )?(?:end|close|finish|conclude|sign)(?: off)?(?: \w+){0,3}? "
    r"(?:with|as|using)\b|\b(?:ending|closing|finishing|signing(?: off)?) (?:with|as)\b"
    r"|\bsign (?=[\"'\u201c`])"
    r"|\bat the (?:end|bottom) of (?:every|each|all|your|any)\b[^\n]{0,25}?"
    r"\b(?:repl(?:y|ies)|responses?|messages?|answers?|emails?)\b", re.IGNORECASE)
_BRAND = re.compile(r"(?:\b(?:assistant|agent|concierge|representative|advisor|adviser|bot|team)"
                    r"\s+(?:for|of|at)|\b(?:customers|shoppers|clients)\s+of|\bon behalf of|"
                    r"\b(?:work|working|answer|answering|support)\s+(?:for|at)|"
                    r"\b(?:messages|questions|emails|chats|enquiries|inquiries)\s+for)"
                    r"\s+(?:the\s+)?([A-Z][^,.;:()\n]{1,40}?)"
                    r"(?=\s*[,.;:(\n]|\s+(?:a|an|the|who|which|by|in|with|on|through|via)\b)")


_BRAND_TAIL = re.compile(r"\s+(?:customer\s+(?:care|service|support)|support|help\s*desk|team)$",
                         re.IGNORECASE)  # "Loop & Thread customer care": the shop is the name


# "You are Loop & Thread's virtual assistant"
_BRAND_OWNS = re.compile(r"\b(?:you are|this is|i am|i'm)\s+([A-Z][^,.;:()\n]{1,40}?)['\u2019]s\s+"
                         r"(?:[\w-]+\s+){0,2}?(?:assistant|agent|concierge|bot|advisor|adviser)\b",
                         re.IGNORECASE)


# "Stay fresh, the Loop & Thread crew", "Wags & purrs, the Pawsome Pantry team"
_NAME_WORD = r"[A-Z][\w\u00c0-\u024f'-]*"
_SIGNED = re.compile(rf"\bthe\s+((?:{_NAME_WORD}\s+(?:&\s+|and\s+)?)*?{_NAME_WORD})"
                     r"\s+(?:team|crew|folks|family|gang|people)\b")


def _signed_name(sign_off: str) -> str:
    """The shop's name as its sign-off gives it, when the role does not name the shop."""
    found = _SIGNED.search(sign_off)
    return found.group(1) if found else ""


def _brand(text: str) -> str:
    found = _BRAND.search(text) or _BRAND_OWNS.search(text)
    return _BRAND_TAIL.sub("", found.group(1).strip()) if found else ""


_SPELLED_WORDS = re.compile(rf"\b({NUMBER})(?=[\s-]+words?\b)", re.IGNORECASE)


def _digits(text: str) -> str:
    """ "eighty words" -> "80 words", so a limit written out is read like one in digits."""
    def value(match: re.Match[str]) -> str:
        number = number_value(match.group(1))
        return str(int(number)) if number is not None and number >= 5 else match.group(1)
    return _SPELLED_WORDS.sub(value, text)


_LIMIT_BARE = re.compile(  # "Be concise (80 words).", "Word budget: 80", "80 words tops"
    r"\b(\d{2,4})[\s-]+words?\b(?!\s+(?:of|from|in)\b)"
    r"|\bwords?(?: budget| count)?\s*:\s*(\d{2,4})\b", re.IGNORECASE)


def _word_limit(text: str) -> int | None:
    """The word limit asked for. In the instructions (articles are not part of `text`), a
    length in words said in passing ("Be concise (80 words).") is a limit too, when nothing
    says it more plainly."""
    text = _digits(text)
    found = [int(m.group(1)) for m in (*_LIMIT_BEFORE.finditer(text),
                                        *_LIMIT_AFTER.finditer(text))]
    found += [int(next(g for g in m.groups() if g)) for m in _LIMIT_SPREAD.finditer(text)]
    if not found:
        found = [int(next(g for g in m.groups() if g)) for m in _LIMIT_BARE.finditer(text)]
    return min(found) if found else None


_TONE_KEYS = {"max_words": re.compile(r"^(?:max(?:imum)?_?words?|word_?limit|max_?length)$",
                                      re.I),
              "sign_off": re.compile(r"^(?:sign_?off|signature|closing(?:_line)?)$", re.I)}


def _tone_settings(blocks: list[tuple[int, int, Any, str]]) -> tuple[int | None, str | None]:
    """A word limit and sign-off given as settings in the prompt's JSON or YAML blocks
    ({"max_words": 80, "sign_off": "- Voltline Support"})."""
    limit, sign_off = None, None
    for _, _, value, _ in blocks:
        for record in _records(value):
            for key, item in record.items():
                if _TONE_KEYS["max_words"].match(str(key)) and str(item).isdigit():
                    limit = limit or int(item)
                elif (_TONE_KEYS["sign_off"].match(str(key)) and isinstance(item, str)
                      and item.strip()):
                    sign_off = sign_off or item.strip()
    return limit, sign_off


def _sign_off(text: str) -> str | None:
    """The sign-off the prompt asks for: quoted after the ask, after its colon, or the line
    below an ask that ends with a colon."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        ask = _SIGN_ASK.search(line)
        if not ask:
            continue
        rest = line[ask.end():]
        if re.search(r"(?i)\b(?:below|following)\s*[.:]?\s*$", rest):  # "... signature below."
            rest = rest.rstrip(".: ") + ":"
        quoted = _QUOTED.search(rest) or (_QUOTED.search(line) if re.search(
            r"(?i)\b(?:at the (?:end|bottom)|last line|final line|sign-?off|signature)\b", line)
            else None)
        if quoted:
            return next(g for g in quoted.groups() if g).strip()
        if TABLE_ROW.match(line):  # | Sign-off | - Voltline Support |
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and cells[-1]:
                return cells[-1]
        if ":" in rest:
            after = rest.split(":", 1)[1].strip().lstrip("*_").strip()
            if after:
                return after
            following = next((x.strip() for x in lines[number + 1:] if x.strip()), "")
            if following and not _SIGN_ASK.search(following):
                return following.strip('"\u201c\u201d')
            continue
        bare = _bare_sign_off(rest)
        if bare:
            return bare
    return None


_FILLER = re.compile(r"^\s*(?:is|should be|must be|reads|=)?\s*(?:with|as|using)?\s*"
                     r"(?:the|this|these)?\s*(?:following\s+)?"
                     r"(?:line|words|signature|sign-?off|text|name)?\s*(?:of|below)?\s*",
                     re.IGNORECASE)
_PLACEMENT = re.compile(r"[,;]?\s*(?:on (?:its|a) (?:own )?line(?: of its own)?|on a new line|"
                        r"as (?:the|its) (?:last|final) line|at the (?:end|bottom))\b.*$",
                        re.IGNORECASE)


def _bare_sign_off(rest: str) -> str | None:
    """An unquoted sign-off written after the ask: "Sign off with - Voltline Support."."""
    text = _PLACEMENT.sub("", _FILLER.sub("", rest, count=1)).strip()
    text = re.sub(r"[.)]$", "", text).strip()
    if not text or len(text.split()) > 10 or not re.search(r"[A-Za-z]", text):
        return None
    if re.match(r"(?i)(a|an|your|our|a short|the customer|their|it|them|every|each|by)\b", text):
        return None  # "end each reply with a question": an instruction, not a sign-off
    return text


# -- blocks of data: JSON and YAML --------------------------------------------------------------

_BODY_KEYS = ("body", "content", "text", "answer", "article", "description", "markdown")
_TITLE_KEYS = ("title", "name", "question", "heading", "subject", "topic")
_PRICE_KEYS = ("price", "cost", "amount", "unit_price")
_FENCE = re.compile(r"^```[ \t]*([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _json_values(text: str) -> list[tuple[int, int, Any]]:
    """Every JSON array or object that starts a line, with where it is in the text."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    for match in re.finditer(r"^[ \t]*([\[{])", text, re.MULTILINE):
        start = match.start(1)
        if start < position:
            continue
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, (list, dict)) and value:
            found.append((start, end, value))
            position = end
    return found


def _records(value: Any) -> list[dict[str, Any]]:
    """The dicts inside a JSON or YAML value, however nested (a list, {"articles": [...]})."""
    if isinstance(value, dict):
        inner = [r for v in value.values() if isinstance(v, (list, dict)) for r in _records(v)]
        return [value, *inner]
    if isinstance(value, list):
        return [r for item in value for r in _records(item)]
    return []


def _text_of(record: dict[str, Any], keys: tuple[str, ...]) -> str:
    lowered = {str(k).lower(): v for k, v in record.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()
    return ""


def _article_of(record: dict[str, Any]) -> KbArticle | None:
    body = _text_of(record, _BODY_KEYS)
    if not body or _text_of(record, _PRICE_KEYS):
        return None
    return KbArticle(_text_of(record, _TITLE_KEYS), body, _text_of(record, ("id", "slug")))


def _product_of(record: dict[str, Any], currency: str) -> ProductRecord | None:
    name, price = _text_of(record, ("name", "title", "product")), _text_of(record, _PRICE_KEYS)
    if not name or not price:
        return None
    status = _text_of(record, ("status", "availability", "stock"))
    aliases = record.get("aliases") or record.get("also_known_as") or ()
    if isinstance(aliases, str):
        aliases = re.split(r"[|,;]", aliases)
    own = _text_of(record, ("currency",)) or currency
    return ProductRecord(name, _price(price, own), _status(status),
                         tuple(str(a).strip() for a in aliases if str(a).strip()))


def _data_blocks(text: str) -> list[tuple[int, int, Any, str]]:
    """JSON values and fenced YAML/JSON blocks: (start, end, value, "json" | "yaml")."""
    blocks = [(s, e, v, "json") for s, e, v in _json_values(text)]
    for fence in _FENCE.finditer(text):
        if any(s <= fence.start(2) < e for s, e, _, _ in blocks):
            continue
        try:
            value = yaml.safe_load(fence.group(2))
        except yaml.YAMLError:
            continue
        if isinstance(value, (list, dict)):
            blocks.append((fence.start(), fence.end(), value, "yaml"))
    return blocks


def _yaml_value(text: str) -> Any:
    """An unfenced YAML list or mapping (a region of `- name: ...` lines), else None."""
    if not re.search(r"^\s*-?\s*[A-Za-z_]+:\s", text, re.MULTILINE):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, (list, dict)) else None


# -- money and status ---------------------------------------------------------------------------

_SYMBOLS = {"USD": "$", "GBP": "\u00a3", "EUR": "\u20ac"}
_MONEY = re.compile(
    r"(?P<sym>[$\u00a3\u20ac])\s?(?P<a1>\d[\d,]*(?:\.\d{1,2})?)"
    r"|(?P<a2>\d[\d,]*(?:[.,]\d{1,2})?)\s?(?P<code>[A-Z]{3})\b"
    r"|\b(?P<code2>[A-Z]{3})\s?\$?(?P<a3>\d[\d,]*(?:\.\d{1,2})?)"
    r"|(?P<a4>\d[\d,]*(?:[.,]\d{1,2})?)\s?(?P<sym2>[\u00a3\u20ac])")
_CURRENCY_CODES = {"USD", "GBP", "EUR", "CAD", "AUD", "NZD", "CHF", "JPY", "SEK", "DKK", "NOK"}
_DISCONTINUED = re.compile(r"\b(discontinued|no longer (available|sold|made|stocked|offered)|"
                           r"retired|withdrawn|recalled|not sold any ?more|end of line)\b", re.I)
_CURRENCY_IN_TEXT = re.compile(  # "prices in EUR", 'currency="EUR"', "PRODUCT LIST (EUR)"
    r"\b(?:prices?|amounts?)\b[^.\n]{0,30}\bin\s+([A-Z]{3})\b|\bcurrency\b\"?\s*[=:]\s*[\"']?"
    r"([A-Z]{3})\b|\b(?:products?|prices?|price list|catalog(?:ue)?)\b[^.\n]{0,30}?[(\[]\s*"
    r"([A-Z]{3})\s*[)\]]", re.IGNORECASE)


def _money(text: str, currency: str) -> str:
    """The first price in `text`, written with its symbol ("£62.00") or code ("49.99 CAD")."""
    for match in _MONEY.finditer(text):
        code = match.group("code") or match.group("code2")
        if code and code not in _CURRENCY_CODES:
            continue
        amount = match.group("a1") or match.group("a2") or match.group("a3") or match.group("a4")
        symbol = match.group("sym") or match.group("sym2")
        if symbol:
            code = {v: k for k, v in _SYMBOLS.items()}[symbol]
            if symbol == "$" and currency not in ("", "USD") and _SYMBOLS.get(currency) is None:
                code = currency  # "$49.99" in a CAD store
        return _price(amount, code or currency)
    return ""


def _price(amount: str, currency: str) -> str:
    amount = amount.strip()
    if re.fullmatch(r"\d+,\d{1,2}", amount):
        amount = amount.replace(",", ".")
    amount = amount.replace(",", "")
    try:
        shown = f"{float(amount):.2f}"
    except ValueError:
        found = _MONEY.search(amount)
        return _money(amount, currency) if found else amount
    code = (currency or "USD").upper()
    return f"{_SYMBOLS[code]}{shown}" if code in _SYMBOLS else f"{shown} {code}"


def _status(text: str) -> str:
    return "discontinued" if _DISCONTINUED.search(text or "") else "active"


# -- regions: where the KB and the product records are -----------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LABEL = re.compile(r"^\s*(?:\*\*)?([A-Z][^.!?\n]{0,70}?)(?:\*\*)?\s*:\s*(?:\*\*)?\s*$")
_KB_WORDS = re.compile(r"\b(knowledge|articles?|kb|help[- ]?cent(?:re|er)|reference|faqs?|"
                       r"documentation|docs|polic(?:y|ies)|sources?|guides?|context|"
                       r"information)\b", re.IGNORECASE)
_PRODUCT_WORDS = re.compile(r"\b(products?|catalog(?:ue)?|price list|prices|inventory|"
                            r"items we sell|range)\b", re.IGNORECASE)
# A heading of the prompt's own instructions: after the articles it ends the KB ("## How to
# write", "Rules:", "INSTRUCTIONS"), so the tone asks under it are read as asks.
_INSTRUCTION_WORDS = re.compile(
    r"\b(instructions?|rules|guidelines|style|tone|voice|format(?:ting)?|writing|"
    r"how to (?:write|reply|answer|respond)|responses?|replies|answering|constraints|"
    r"sign[- ]?off|signature|escalat\w*|hand[- ]?offs?|when to|important|remember)\b",
    re.IGNORECASE)
_TITLE_WITH_ID = re.compile(r"^(.*?)\s*[(\[]\s*(?:id:\s*)?([a-z0-9][a-z0-9_-]*)\s*[)\]]\s*$")
_NUMBERED = re.compile(r"^\s{0,3}(\d{1,3})[.)]\s+(.+?)\s*$")
_BOLD_TITLE = re.compile(r"^\s*\*\*(.+?)\*\*\s*:?\s*$")
_NONE_FOUND = re.compile(r"\b(no|none|not any)\b.{0,40}\b(articles?|products?|records?|"
                         r"matched|found|apply|mentioned)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Region:
    kind: str  # "kb" | "products"
    start: int  # first line after the heading or label
    end: int  # line after the last
    level: int  # heading level (labels: 7)


def _headers(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, text) of each heading or label line ("Reference material:")."""
    found = []
    for number, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading:
            found.append((number, len(heading.group(1)), heading.group(2)))
        elif (label := _LABEL.match(line)) and len(label.group(1).split()) <= 8:
            found.append((number, 7, label.group(1)))
        elif (_title_like(line) and len(line.split()) <= 6
                and (number == 0 or not lines[number - 1].strip() or _shouted(line))
                and (_KB_WORDS.search(line) or _PRODUCT_WORDS.search(line)
                     or _INSTRUCTION_WORDS.search(line))
                and (number + 1 == len(lines) or not lines[number + 1].strip()
                     or _HEADING.match(lines[number + 1]) or _shouted(line))):
            found.append((number, 7, line.strip()))  # "Help articles" standing alone
    return found


def _starts_an_article(lines: list[str], after: int) -> bool:
    """The first line under a KB heading opens an article (a heading, a numbered or bold
    title, a title line, a data block), rather than going on with instructions."""
    first = next((line for line in lines[after:] if line.strip()), "")
    numbered = _NUMBERED.match(first)
    return bool(_HEADING.match(first) or _BOLD_TITLE.match(first) or _title_like(first)
                or (numbered and _title_like(numbered.group(2)))
                or first.lstrip().startswith(("[", "{", "```", "<")))


def _regions(lines: list[str], currency: str = "") -> tuple[_Region | None, _Region | None]:
    """The KB region and the product region. The KB runs from the first heading or label
    naming it that opens an article to the product heading (article bodies have headings of
    their own, so no other heading ends it); the products run from the last product heading
    that holds records to the next heading of its level."""
    headers = _headers(lines)
    shelf = None
    for index, (number, level, text) in reversed(list(enumerate(headers))):
        if not _PRODUCT_WORDS.search(text) or re.search(r"\barticles?\b", text, re.I):
            continue
        end = next((n for n, lv, _ in headers[index + 1:] if lv <= level), len(lines))
        end = _asked_from(lines, number + 1, end)
        region = lines[number + 1:end]
        if _content(region) and any(_MONEY.search(x) or _PRICE_FIELD.search(x)
                                    or (currency and _AMOUNT.search(x)) for x in region):
            shelf = _Region("products", number + 1, end, level)
            break
    named = [(n, lv) for n, lv, text in headers if _KB_WORDS.search(text)
             and not (shelf and n == shelf.start - 1)]
    chosen = next(((n, lv) for n, lv in named if _starts_an_article(lines, n + 1)), None)
    if chosen is None:
        with_text = [(n, lv) for n, lv in named
                     if _content(lines[n + 1:shelf.start - 1 if shelf and shelf.start > n
                                       else len(lines)])]
        chosen = with_text[-1] if with_text else None
    kb = None
    if chosen is not None:
        number, level = chosen
        end = shelf.start - 1 if shelf and shelf.start > number else len(lines)
        end = next((n for n, lv, text in headers if number < n < end
                    and (lv <= level or lv == 7) and _INSTRUCTION_WORDS.search(text)
                    and not _KB_WORDS.search(text) and _asks_tone(lines[n + 1:end])), end)
        end = _asked_from(lines, number + 1, end)
        if _content(lines[number + 1:end]):
            kb = _Region("kb", number + 1, end, level)
    return kb, shelf


_TO_THE_MODEL = re.compile(  # a sentence that tells the assistant how to write its replies
    r"^\s*(?:[-*+\u2022]\s+|\d{1,2}[.)]\s+)?(?:always\s+|please\s+|you (?:must|should)\s+)?"
    r"(?:(?:answer|reply|respond)\b|(?:keep|limit|sign|end|close|finish|conclude|write|use|be|"
    r"never|do not|don't)\b.*\b(?:repl(?:y|ies)|responses?|answers?)\b|"
    r"(?:your |all |every |each )?(?:repl(?:y|ies)|responses?|answers?)\b)", re.IGNORECASE)


def _asked_from(lines: list[str], start: int, end: int) -> int:
    """Where a KB or product region really ends: at the paragraph of the first sentence
    that tells the assistant how long or how signed its replies are, when no article heading
    follows it. Instructions written straight after the last article, with no heading of
    their own, are not part of that article."""
    for number in range(start, end):
        if not any(_TO_THE_MODEL.match(s) and (_word_limit(s) or _SIGN_ASK.search(s))
                   for s in sentences(lines[number])):
            continue
        if any(_HEADING.match(line) for line in lines[number + 1:end]):
            return end
        while number > start and lines[number - 1].strip():
            number -= 1
        return number
    return end


def _asks_tone(lines: list[str]) -> bool:
    """Whether a section asks for a sign-off or a word limit: instructions, not an article."""
    text = "\n".join(lines)
    return bool(_SIGN_ASK.search(text) or _word_limit(text))


def _content(lines: list[str]) -> bool:
    text = "\n".join(lines).strip()
    return bool(text) and not (len(text) < 80 and _NONE_FOUND.search(text))


def _title_like(line: str) -> bool:
    text = line.strip().strip("*").strip()
    return (0 < len(text) <= 100 and len(text.split()) <= 12
            and not text.startswith(("|", "-", "```", "{", "["))
            and text[-1] not in ".!?,;" and not _LABEL.match(line))


def _shouted(line: str) -> bool:
    """A heading in capitals ("PRODUCT LIST (EUR)"): a heading even with its list right under."""
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


# "Article: Returns policy", "Title - Returns policy": the label is the layout, not the title
_TITLE_LABEL = re.compile(r"^\s*(?:(?:article|title|topic|doc(?:ument)?|page|faq|source)\s*"
                          r"(?:\d+\s*)?[:\u2013\u2014-]|\[\d{1,3}\])\s+(?=\S)", re.IGNORECASE)


def _split_title(title: str) -> tuple[str, str]:
    """"Returns policy (returns-policy)" -> ("Returns policy", "returns-policy")."""
    title = _TITLE_LABEL.sub("", title)
    found = _TITLE_WITH_ID.match(title.strip())
    if found and found.group(1) and ("-" in found.group(2) or found.group(2).islower()):
        return found.group(1).strip(), found.group(2)
    return title.strip(), ""


_RULE = re.compile(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$")
_BODY_LABEL = re.compile(rf"^\**(?:{'|'.join(_BODY_KEYS)})\**\s*:\**[ \t]*\n", re.IGNORECASE)


def _chunks(lines: list[str]) -> tuple[list[KbArticle], str]:
    """Split a KB region into articles by the marker its first article starts with."""
    body_lines = lines
    first = next((line for line in body_lines if line.strip()), "")
    starts: list[tuple[int, str]] = []
    layout = "paragraphs"
    if heading := _HEADING.match(first):
        level, layout = len(heading.group(1)), "headings"
        starts = [(n, h.group(2)) for n, line in enumerate(body_lines)
                  if (h := _HEADING.match(line)) and len(h.group(1)) == level]
        if _split_title(heading.group(2))[1]:  # "### Returns FAQ (faq-returns)": a heading
            # of the same level without an id is the article's own ("### Can I return it?")
            starts = [(n, title) for n, title in starts if _split_title(title)[1]]
        elif ruled := [n for n, line in enumerate(body_lines) if _RULE.match(line)]:
            # articles between horizontal rules: the first heading after a rule opens one,
            # the others of its level are the article's own sections
            starts = [start for start in starts if start[0] == starts[0][0] or any(
                r < start[0] and not any(r < n < start[0] for n, _ in starts)
                for r in ruled)]
    elif (numbered := _NUMBERED.match(first)) and _title_like(numbered.group(2)):
        layout, expected = "numbered list", int(numbered.group(1))
        for n, line in enumerate(body_lines):
            item = _NUMBERED.match(line)
            if item and int(item.group(1)) == expected and _title_like(item.group(2)) and (
                    n == 0 or not body_lines[n - 1].strip()):
                starts.append((n, item.group(2)))
                expected += 1
    elif _BOLD_TITLE.match(first):
        layout = "bold titles"
        starts = [(n, b.group(1)) for n, line in enumerate(body_lines)
                  if (b := _BOLD_TITLE.match(line)) and (n == 0 or not body_lines[n - 1].strip())]
    else:
        # "Title: Returns policy" lines: only they open articles, not a short line of a body
        labelled = bool(_TITLE_LABEL.match(first))
        layout = "title lines" if labelled else layout
        starts = [(n, line.strip()) for n, line in enumerate(body_lines)
                  if (_TITLE_LABEL.match(line) if labelled else
                      _title_like(line) or _TITLE_LABEL.match(line)) and not _HEADING.match(line)
                  and (n == 0 or not body_lines[n - 1].strip())
                  and n + 1 < len(body_lines)]
    if not starts:
        text = "\n".join(body_lines).strip()
        if _FENCE.fullmatch(text) or re.fullmatch(r"```[\w-]*\s*```", text):
            return [], "one block"  # a data block with no article in it ("articles:" alone)
        return ([KbArticle("", text)] if text else []), "one block"
    articles = []
    for index, (number, title) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(body_lines)
        body = "\n".join(line for line in body_lines[number + 1:end]
                         if not _RULE.match(line)).strip()  # a rule is layout, not text
        body = _BODY_LABEL.sub("", body, count=1)  # "Content:" under "Title: ..." is layout
        if body and not (len(body) < 80 and _NONE_FOUND.search(body)):
            name, article_id = _split_title(title)
            articles.append(KbArticle(name, body, article_id))
    return articles, layout


# -- products in text ---------------------------------------------------------------------------

_NAME_END = re.compile(r"\s*(?:\(|:|\s[-\u2013\u2014]\s|\bcosts?\b|\bis\b|\bsells?\b|\bpriced\b|"
                       r"\bat\b|=|,|\|)")
_ALIASES = re.compile(r"\b(?:aliases|also (?:called|known as|sold as)|a\.?k\.?a\.?)\b[:=]?\s*"
                      r"\"?([^\")\n]+)", re.IGNORECASE)


def _table_products(lines: list[str], currency: str) -> list[ProductRecord]:
    rows = [[c.strip() for c in m.group(1).split("|")] for line in lines
            if (m := TABLE_ROW.match(line)) and not TABLE_RULE.match(line)]
    if len(rows) < 2:
        return []
    header = [h.lower() for h in rows[0]]

    def column(*words: str) -> int | None:
        return next((i for i, h in enumerate(header) if any(w in h for w in words)), None)

    name, price = column("product", "name", "item"), column("price", "cost")
    if name is None or price is None:
        return []
    status, aliases = column("status", "availab", "stock"), column("alias", "also")
    found = []
    for row in rows[1:]:
        if len(row) <= max(name, price) or not row[name]:
            continue
        found.append(ProductRecord(
            row[name], _amount(row[price], currency),
            _status(row[status] if status is not None and status < len(row) else " ".join(row)),
            tuple(a.strip() for a in re.split(r"[|,;]", row[aliases]) if a.strip())
            if aliases is not None and aliases < len(row) else ()))
    return found


_KEY_VALUE = re.compile(r"^\s*(?:[-*+]\s+)?\**([A-Za-z][A-Za-z _-]{0,24}?)\**\s*[:=]\s*"
                        r"(\S(?:.*\S)?)\s*$")


def _key_value_products(lines: list[str], currency: str) -> list[ProductRecord]:
    """Products written as blocks of "Key: value" lines ("Name: ...", "Price: ...",
    "Status: ..."), one block per product: a blank line, or a key seen again, ends one."""
    records: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in [*lines, ""]:
        pair = _KEY_VALUE.match(line)
        key = pair.group(1).strip().lower().replace(" ", "_").replace("-", "_") if pair else ""
        if current and (not pair or key in current):
            records.append(current)
            current = {}
        if pair:
            current[key] = pair.group(2)
    return [p for r in records if len(r) >= 2 and (p := _product_of(r, currency))]


def _line_products(lines: list[str], currency: str) -> list[ProductRecord]:
    found = []
    for line in lines:
        text = re.sub(r"^\s*(?:[-*+\u2022]|\d{1,3}[.)])\s+", "", line).strip()
        text = re.sub(r"^(?:product|item|name)\s*:\s*", "", text, flags=re.I)  # "Product: X"
        price = _money(text, currency)
        if not price and currency and (bare := _AMOUNT.search(text)):
            price = _price(bare.group(0), currency)  # "- Salmon Kibble | 62.50 | active"
        if not price or TABLE_ROW.match(line):
            continue
        name = _NAME_END.split(text.replace("**", ""), maxsplit=1)[0].strip()
        if not name or len(name.split()) > 10 or _MONEY.match(name):
            continue
        alias = _ALIASES.search(text)
        aliases = tuple(a.strip() for a in re.split(r"[|,;]|\bor\b", alias.group(1))
                        if a.strip()) if alias else ()
        found.append(ProductRecord(name, price, _status(text), aliases))
    return found


_AMOUNT = re.compile(r"(?<![\d.,])\d{1,6}\.\d{2}(?![\d.,%])")  # a price written bare: "62.50"
_PRICE_FIELD = re.compile(r"\"?\bprice\"?\s*[:=]", re.IGNORECASE)
_TAG_ARTICLE = re.compile(r"<(article|document|doc|kb_article|entry)\b([^>]*)>(.*?)</\1>",
                          re.DOTALL | re.IGNORECASE)
_TAG_PRODUCT = re.compile(r"<product\b([^>]*)/?>", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"|([\w-]+)\s*=\s*\'([^\']*)\'')


def _attrs(text: str) -> dict[str, str]:
    return {(a or c).lower(): html.unescape(b if a else d) for a, b, c, d in _ATTR.findall(text)}


def _currency(text: str) -> str:
    """The currency the prompt names, else the one its amounts are written in ("€4.50"):
    a model reading "62.5" in a shop whose articles say "€45" reads euros."""
    for found in _CURRENCY_IN_TEXT.finditer(text):
        code = next(g for g in found.groups() if g)
        if code in _CURRENCY_CODES:  # a code, not a word ("in all" of "prices in all ...")
            return code
    unescaped = text.replace("\\u20ac", "\u20ac").replace("\\u00a3", "\u00a3")  # JSON's "\u20ac"
    used = {code: len(re.findall(rf"{re.escape(sign)}\s?\d", unescaped))
            for code, sign in _SYMBOLS.items()}
    best = max(used, key=lambda code: used[code])
    return best if used[best] and list(used.values()).count(used[best]) == 1 else ""


def _amount(price: str, currency: str) -> str:
    """A price as the model reads it: "62.50" in a store whose prices are in EUR is €62.50."""
    if found := _money(price, currency):
        return found
    if currency and re.fullmatch(r"\s*\d[\d,]*(?:\.\d{1,2})?\s*", price):
        return _price(price, currency)
    return price


# -- reading ------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def read_prompt(system: str) -> Understood:
    """Everything the reference model understands of a system prompt."""
    currency = _currency(system)
    lines = system.splitlines()
    kb, shelf = _regions(lines, currency)

    articles: list[KbArticle] = []
    products: list[ProductRecord] = []
    layout = ""
    for _, attributes, body in _TAG_ARTICLE.findall(system):
        attrs = _attrs(attributes)
        articles.append(KbArticle(attrs.get("title", ""), body.strip(), attrs.get("id", "")))
        layout = "tags"
    for attributes in _TAG_PRODUCT.findall(system):
        attrs = _attrs(attributes)
        if attrs.get("name"):
            products.append(ProductRecord(
                attrs["name"], _amount(attrs.get("price", ""), currency),
                _status(attrs.get("status", "")),
                tuple(a for a in attrs.get("aliases", "").split("|") if a)))

    def region_text(region: _Region | None) -> str:
        return "\n".join(lines[region.start:region.end]) if region else ""

    blocks = _data_blocks(system) if not articles or not products else None
    if blocks is not None:
        for start, _end, value, kind in blocks:
            line = system.count("\n", 0, start)
            inside_shelf = shelf is not None and shelf.start <= line < shelf.end
            for record in _records(value):
                article = None if inside_shelf else _article_of(record)
                if article and not layout.startswith("tags"):
                    articles.append(article)
                    layout = kind
                elif (product := _product_of(record, currency)) and not _TAG_PRODUCT.search(
                        system):
                    products.append(product)
    if not articles and kb is not None:
        yaml_value = _yaml_value(region_text(kb))
        records = _records(yaml_value) if yaml_value is not None else []
        articles = [a for r in records if (a := _article_of(r))]
        layout = "yaml" if articles else layout
        if not articles:
            articles, layout = _chunks(lines[kb.start:kb.end])
    if not products and shelf is not None:
        text = region_text(shelf)
        yaml_value = _yaml_value(text)
        products = [p for r in (_records(yaml_value) if yaml_value is not None else [])
                    if (p := _product_of(r, currency))]
        shelf_lines = lines[shelf.start:shelf.end]
        # "Name: ... / Price: ..." blocks read as YAML are one mapping holding the last block
        blocks_read = _key_value_products(shelf_lines, currency)
        products = blocks_read if len(blocks_read) > len(products) else products
        products = (products or _table_products(shelf_lines, currency)
                    or _line_products(shelf_lines, currency))

    notes = []
    if not articles:
        notes.append("the reference model found no KB articles in the system prompt (it reads"
                     " <article> tags, JSON or YAML records, or the text under a heading or"
                     " label naming the knowledge base or articles)")
    if shelf is not None and not products:
        notes.append("the reference model found a product section but no product record with"
                     " a name and a price in it")
    asks = _instructions(system, lines, kb, shelf)
    limit, sign_off = _word_limit(asks), _sign_off(asks)
    if limit is None or sign_off is None:  # asked as settings in a data block, perhaps
        set_limit, set_sign_off = _tone_settings(_data_blocks(system) if blocks is None
                                                 else blocks)
        limit, sign_off = limit or set_limit, sign_off or set_sign_off
    return Understood(tuple(articles), tuple(products), limit, sign_off, layout,
                      _brand(asks) or _signed_name(sign_off or ""), tuple(notes))


def _instructions(system: str, lines: list[str], *regions: _Region | None) -> str:
    """The prompt without its articles and records: where the tone asks are (an article that
    says "up to 20 words of engraving" sets no word limit)."""
    kept = [line for n, line in enumerate(lines)
            if not any(r is not None and r.start <= n < r.end for r in regions)]
    text = "\n".join(kept)
    text = _TAG_ARTICLE.sub("", text)
    for start, end, _, _ in sorted(_data_blocks(text), reverse=True):
        text = text[:start] + text[end:]
    return text
