"""Does the system prompt carry what the model needs? Checked on the fixtures' own prompts.

A template can retrieve an article and never render its body, drop the product records or
forget the sign-off, and every reply then fails for a reason no grade names. For each fixture
this renders the prompt exactly as a run would (retrieval included, no model called) and
checks that each served article's body, each named product's record and the tone asks reach
the model; and reports what the offline reference model understood of it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from harness.agent.loop import Agent
from harness.kb.catalog import find_products
from harness.providers.reference import Understood, read_prompt
from harness.store.loading import Store
from harness.store.schema import Case
from harness.text.figures import money_in
from harness.text.matching import normalize
from harness.text.sentences import sentences

__all__ = ["PromptCheck", "check_prompts"]

_SHARE_NEEDED = 0.5  # of an article's sentences that must appear in the prompt


@dataclass(frozen=True)
class PromptCheck:
    """The prompt checked over every fixture: warnings (with how many fixtures each hits)
    and what the reference model understood."""

    fixtures: int
    warnings: tuple[tuple[str, int], ...]  # (warning, fixtures it applies to)
    understood: tuple[tuple[str, int], ...]  # (summary line, fixtures), commonest first
    notes: tuple[str, ...]  # what the reference model said it could not find


def _reaches(body: str, system: str) -> bool:
    """Most of the article's sentences are in the prompt (a template may trim or escape)."""
    found = sentences(body)
    if not found:
        return True
    flat = normalize(" ".join(sentences(system)))
    return sum(normalize(s) in flat for s in found) >= _SHARE_NEEDED * len(found)


def _problems(store: Store, case: Case, agent: Agent) -> tuple[list[str], Understood]:
    hits, _ = agent.retrieve(case)
    messages = agent.messages_for(case, hits)
    system = "\n".join(str(m["content"]) for m in messages if m["role"] == "system")
    tone, found = store.agent.tone, []
    for hit in hits:
        if not _reaches(hit.article.body, system):
            found.append(f"article {hit.article.id}: retrieved, but its body never reaches the"
                         " model (does the template render the article's `body`?)")
    conversation = "\n".join(t.text for t in case.conversation)
    for mention in find_products(conversation, store.catalog):
        product = mention.product
        if normalize(product.name).lower() not in normalize(system).lower():
            found.append(f"product {product.sku}: named by the customer, but its record never"
                         " reaches the model (does the template render `products`?)")
        elif not any(round(m.value, 2) == round(product.price, 2)
                     for m in money_in(system, store.catalog.currency)) and not re.search(
                         rf"(?<![\d.]){re.escape(f'{product.price:.2f}')}(?!\d)", system):
            found.append(f"product {product.sku}: its price never reaches the model")
    if tone.sign_off and normalize(tone.sign_off) not in normalize(system):
        found.append(f"the sign-off {tone.sign_off!r} of agent.yaml never reaches the model")
    if tone.max_words and str(tone.max_words) not in system:
        found.append(f"the word limit ({tone.max_words}) of agent.yaml never reaches the model")
    understood = read_prompt(system)
    reference = [a for a in understood.articles if a.body]
    if hits and len(reference) < len(hits):
        found.append(f"the reference model found {len(reference)} of the {len(hits)} articles"
                     " in the prompt")
    if tone.sign_off and normalize(tone.sign_off) in normalize(system) and (
            understood.sign_off is None
            or normalize(understood.sign_off) != normalize(tone.sign_off)):
        found.append(f"the reference model read the sign-off as {understood.sign_off!r}, not"
                     f" {tone.sign_off!r}{_where(system, tone.sign_off)}")
    if tone.max_words and str(tone.max_words) in system and (
            understood.max_words != tone.max_words):
        found.append(f"the reference model read the word limit as {understood.max_words}, not"
                     f" {tone.max_words}{_where(system, str(tone.max_words), 'word')}")
    return found, understood


def _where(system: str, needle: str, near: str = "") -> str:
    """Where the prompt says it, so the unread wording can be fixed or reported: the line
    (with the line before, when the line holds nothing else)."""
    lines = system.splitlines()
    for number, line in enumerate(lines):
        if normalize(needle) in normalize(line) and near.lower() in line.lower():
            said = line.strip()
            if normalize(said) == normalize(needle) and number:
                said = f"{lines[number - 1].strip()} / {said}"
            return f" (the prompt says: {said[:120]!r})"
    return ""


def check_prompts(store: Store, cases: Sequence[Case], *, today: dt.date) -> PromptCheck:
    """Render each fixture's prompt and check it (no model is called)."""
    agent = Agent(store, today=today)
    warnings: Counter[str] = Counter()
    understood: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for case in cases:
        found, read = _problems(store, case, agent)
        warnings.update(set(found))
        understood[read.summary()] += 1
        notes.update(read.notes)
    return PromptCheck(len(cases), tuple(warnings.most_common()),
                       tuple(understood.most_common()), tuple(n for n, _ in notes.most_common()))
