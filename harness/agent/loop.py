"""Run the support agent on one case: serve the KB, retrieve, apply the rules, call the model.

The steps are the same whatever the model; only `providers.ModelClient` talks to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from harness.agent.escalation import Decision, escalate_tool, rule_decision, tool_decision
from harness.agent.prompt import render_system_prompt
from harness.agent.run import Retrieved, Run, ToolUse
from harness.agent.tools import execute, key_patterns, offered_tools, result_text
from harness.errors import HarnessError
from harness.kb.catalog import find_products, named_in_other_order, variants_named
from harness.kb.retrieval import Hit, KnowledgeBase
from harness.providers.client import ModelClient
from harness.store.loading import Store
from harness.store.schema import AgentConfig, Case, Product
from harness.text.secrets import redact_secrets

__all__ = ["Agent", "to_messages"]

def to_messages(system: str, case: Case) -> list[dict[str, Any]]:
    roles = {"customer": "user", "agent": "assistant"}
    return [{"role": "system", "content": system}] + [
        {"role": roles[turn.role], "content": turn.text} for turn in case.conversation
    ]


def _with_results(
    messages: list[dict[str, Any]], content: str | None, calls: Any, step: int,
    run_tool: Any,
) -> tuple[list[dict[str, Any]], list[ToolUse]]:
    """The conversation with the model's tool calls and the back end's answers appended."""
    ids = [call.id or f"call_{step}_{i}" for i, call in enumerate(calls)]
    asked = {"role": "assistant", "content": content, "tool_calls": [
        {"id": i, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for i, c in zip(ids, calls, strict=True)]}
    used, answers = [], []
    for call_id, call in zip(ids, calls, strict=True):
        text = result_text(run_tool(call.name, call.arguments))
        used.append(ToolUse(call.name, call.arguments, text, step, call_id))
        answers.append({"role": "tool", "tool_call_id": call_id, "content": text})
    return [*messages, asked, *answers], used


def _limits(agent: AgentConfig) -> dict[str, Any]:
    """max_tokens and agent.yaml's other model parameters, as litellm takes them."""
    extra = {k: list(v) if isinstance(v, tuple) else v for k, v in agent.params.items()}
    if agent.max_tokens is not None:
        extra["max_tokens"] = agent.max_tokens
    return extra


class Agent:
    """A store's agent, ready to answer cases; holds the KB indexes between cases."""

    def __init__(
        self, store: Store, *, as_of: dt.date | None = None, today: dt.date,
        client: ModelClient | None = None,
    ) -> None:
        self.store = store
        self.client = client or ModelClient()
        products = store.catalog.products
        self.kb = KnowledgeBase(store.articles, [n for p in products for n in (p.name, *p.aliases)],
                                brand=store.agent.tone.brand or "")
        self.run_date = as_of or today  # --as-of, else today; a fixture's as_of wins
        self._key_patterns = key_patterns(store.agent.tools)

    def day_for(self, case: Case) -> dt.date:
        return case.as_of or self.run_date

    def _without_keys(self, text: str) -> str:
        """The text without the values a tool looks up (an order number): they are data for
        the back end, not words of the KB, and would make retrieval look unsure."""
        for pattern in self._key_patterns:
            text = pattern.sub(" ", text)
        return text

    def _names_a_record(self, case: Case) -> bool:
        """The customer names something a look-up tool takes (an order number)."""
        lookups = [t for t in self.store.agent.tools if t.kind == "lookup"]
        return any(p.search(t.text) for p in key_patterns(lookups)
                   for t in case.conversation if t.role == "customer")

    def retrieve(self, case: Case) -> tuple[tuple[Hit, ...], tuple[str, ...]]:
        index = self.kb.index_for(self.day_for(case))
        customer = [self._without_keys(t.text) for t in case.conversation
                    if t.role == "customer"]
        queries = [customer[-1], " ".join(customer)]
        hits = index.search(queries, self.store.agent.retrieval.top_k)
        return hits, tuple(a.id for a in index.articles)

    async def run(self, case: Case, sample: int = 0) -> Run:
        agent = self.store.agent
        hits, served = self.retrieve(case)
        base = Run(
            case_id=case.case_id,
            as_of=self.day_for(case),
            model=agent.model_name,
            sample=sample,
            retrieved=tuple(Retrieved(h.article.id, h.confidence, round(h.score, 4)) for h in hits),
            served=served,
        )
        try:
            products = self._products_named(case)
            rule = rule_decision(agent.escalation, case.conversation, hits,
                                 names_products=bool(products))
            if rule and rule.rule == "min_confidence" and self._names_a_record(case):
                rule = None  # the back end holds what was asked: the KB need not cover it
            if rule:
                return self._escalated(base, rule, None)
            return await self._ask_model(base, case, hits, sample, products)
        except HarnessError as error:
            return replace(base, error=redact_secrets(str(error)))

    def _products_named(self, case: Case) -> list[Product]:
        """The catalog records of the products the conversation names, each once."""
        text = "\n".join(t.text for t in case.conversation)
        named = tuple({m.product.sku: m.product
                       for m in find_products(text, self.store.catalog)}.values())
        customer = "\n".join(t.text for t in case.conversation if t.role == "customer")
        also = [*variants_named(customer, named, self.store.catalog),
                *named_in_other_order(customer, self.store.catalog, named)]
        return [*named, *{p.sku: p for p in also}.values()]

    def messages_for(self, case: Case, hits: tuple[Hit, ...],
                     products: list[Product] | None = None) -> list[dict[str, Any]]:
        """The messages the model is sent for this case: the rendered system prompt (the
        retrieved articles, the records of the products the conversation names), then the
        conversation. `harness check` reads them without calling any model."""
        agent = self.store.agent
        if products is None:
            products = self._products_named(case)
        system = render_system_prompt(
            self.store.template_path,
            tone=agent.tone,
            articles=[h.article for h in hits],
            conversation=case.conversation,
            products=products,
            catalog=self.store.catalog,
        )
        return to_messages(system, case)

    async def _ask_model(self, base: Run, case: Case, hits: tuple[Hit, ...], sample: int,
                         products: list[Product]) -> Run:
        agent = self.store.agent
        messages = self.messages_for(case, hits, products)
        offered = [escalate_tool(agent.escalation), *offered_tools(agent)]
        used: list[ToolUse] = []
        spent = {"prompt": 0, "completion": 0, "latency": 0.0}
        costs: list[float | None] = []
        cached = True
        for step in range(1, agent.max_tool_steps + 2):
            done = await self.client.complete(
                agent.model_name, list(messages), tools=offered, sample=sample,
                api_base=agent.api_base, temperature=agent.temperature, **_limits(agent),
            )
            spent["prompt"] += done.prompt_tokens
            spent["completion"] += done.completion_tokens
            spent["latency"] += done.latency_s
            costs.append(done.cost)
            cached = cached and done.cached
            run = replace(
                base, prompt_tokens=int(spent["prompt"]),
                completion_tokens=int(spent["completion"]),
                cost=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
                cached=cached, latency_s=round(spent["latency"], 4), messages=tuple(messages),
                finish_reason=done.finish_reason, tools=tuple(used),
            )
            for call in done.tool_calls:
                decision = tool_decision(call.name, call.arguments)
                if decision:
                    return self._escalated(run, decision, done.content)
            if not done.tool_calls:
                return replace(run, reply=(done.content or "").strip(), outcome="resolve",
                               decided_by="model", why="the model answered")
            if step > agent.max_tool_steps:
                break
            messages, new = _with_results(messages, done.content, done.tool_calls, step,
                                          lambda n, a: execute(agent, case, n, a))
            used += new
        limit = Decision("max_tool_steps", f"the model was still calling tools after"
                         f" max_tool_steps ({agent.max_tool_steps}) rounds", None)
        return self._escalated(replace(run, messages=tuple(messages)), limit, None)

    def _escalated(self, run: Run, decision: Decision, content: str | None) -> Run:
        tone = self.store.agent.tone
        reply = (content or "").strip() or self.store.agent.escalation.handoff_message
        if tone.sign_off and not content:
            reply = f"{reply}\n\n{tone.sign_off}"
        return replace(run, reply=reply, outcome="escalate", decided_by=decision.rule,
                        why=decision.reason)
