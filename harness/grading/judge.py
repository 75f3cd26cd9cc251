"""The LLM judge: a second opinion on each dimension, from a model named in agent.yaml.

The judge sees what a coach would: the conversation, the reply, the outcome, the articles
served, the catalog records of products named, and the fixture's expectations and `criteria`.
Its answer must be JSON of a fixed shape; anything else is `unscored`, never a pass. It can
only lower a grade: a deterministic failure stands whatever the judge says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.agent.run import Run
from harness.errors import ModelError
from harness.grading.rubric import DIMENSIONS
from harness.kb.catalog import find_products
from harness.providers.client import ModelClient
from harness.store.loading import Store
from harness.store.schema import Case

__all__ = ["JUDGE_INSTRUCTIONS", "Judged", "judge_messages", "judge_run", "parse_verdicts"]

JudgeGrade = Literal["pass", "partial", "fail", "unscored"]

JUDGE_INSTRUCTIONS = """You grade one reply of an ecommerce support agent for a support coach.
Grade each dimension pass, partial or fail, with one sentence of reason:
- accuracy: every stated fact agrees with the articles and product records given; nothing is
  invented; the expected facts are stated and the forbidden ones are not.
- relevance: the reply answers what the customer's last message asked, from the articles.
- tone: the brand voice and tone rules are kept (length, banned phrases, sign-off, register).
- resolution: handing off to a person (escalate) or answering (resolve) was the right call.
Also check each of the fixture's criteria under the dimension it belongs to.
Answer with JSON only, exactly this shape:
{"accuracy": {"grade": "pass", "reason": "..."}, "relevance": {...}, "tone": {...},
 "resolution": {...}}"""


class _Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grade: Literal["pass", "partial", "fail"]
    reason: str


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accuracy: _Verdict
    relevance: _Verdict
    tone: _Verdict
    resolution: _Verdict


@dataclass(frozen=True)
class Judged:
    """The judge's grade and reason per dimension, and what asking it cost."""

    grades: dict[str, tuple[JudgeGrade, str]] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None

    @classmethod
    def unscored(cls, why: str, **usage: Any) -> Judged:
        return cls({name: ("unscored", why) for name in DIMENSIONS}, **usage)


def _fence_free(text: str) -> str:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    return match.group(0) if match else text


_LONGEST_ANSWER = 20_000  # characters: a verdict is four short reasons


def parse_verdicts(text: str | None) -> dict[str, tuple[JudgeGrade, str]] | None:
    """The judge's JSON, validated; None if it is not exactly the asked-for shape (a huge or
    deeply nested answer included: a weak judge's output must never crash the run)."""
    if text is not None and len(text) > _LONGEST_ANSWER:
        return None
    try:
        answer = _Answer.model_validate(json.loads(_fence_free(text or "")))
    except (ValueError, ValidationError, RecursionError):
        return None
    return {name: (getattr(answer, name).grade, getattr(answer, name).reason)
            for name in DIMENSIONS}


def judge_messages(case: Case, run: Run, store: Store) -> list[dict[str, str]]:
    served = [store.article(r.id) for r in run.retrieved]
    articles = "\n\n".join(f"[{a.id}] {a.title}\n{a.body}" for a in served if a is not None)
    text = "\n".join(t.text for t in case.conversation) + "\n" + run.reply
    products = {m.product.sku: m.product for m in find_products(text, store.catalog)}
    records = "\n".join(
        f"- {p.name} ({p.sku}): {p.price:.2f} {store.catalog.currency}, {p.status}"
        for p in products.values()
    )
    conversation = "\n".join(f"{t.role}: {t.text}" for t in case.conversation)
    expect = case.expect
    tone = expect.tone.apply(store.agent.tone)
    body = (
        f"## Conversation\n{conversation}\n\n## Agent reply (outcome: {run.outcome})\n"
        f"{run.reply}\n\n## Articles served\n{articles or '(none)'}\n\n"
        f"## Product records named\n{records or '(none)'}\n\n"
        f"## Expected\noutcome: {expect.outcome}\nfacts: {list(expect.facts)}\n"
        f"forbidden: {list(expect.forbidden)}\ncriteria: {list(expect.criteria)}\n\n"
        f"## Tone profile\n{tone.model_dump_json()}"
    )
    return [{"role": "system", "content": JUDGE_INSTRUCTIONS}, {"role": "user", "content": body}]


async def judge_run(
    client: ModelClient, model: str, case: Case, run: Run, store: Store
) -> Judged:
    """Ask the judge about one run; a failed call or an unreadable answer is unscored."""
    if run.error:
        return Judged()
    try:
        done = await client.complete(
            model, judge_messages(case, run, store), tools=[], sample=run.sample,
            api_base=store.agent.judge.api_base, temperature=0,
            max_tokens=store.agent.judge.max_tokens, response_format={"type": "json_object"},
        )
    except ModelError as error:
        return Judged.unscored(f"the judge could not be asked: {error}")
    usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
             "cost": done.cost}
    verdicts = parse_verdicts(done.content)
    if verdicts is None:
        shown = " ".join((done.content or "").split())[:120]
        return Judged.unscored(f"the judge's answer is not the JSON asked for: {shown!r}",
                               **usage)
    return Judged(verdicts, **usage)
