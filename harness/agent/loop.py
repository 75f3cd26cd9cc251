"""Run the support agent on one case: serve the KB, retrieve, apply the rules, call the model.

The steps are the same whatever the model; only `providers.ModelClient` talks to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from harness.agent.escalation import Decision, escalate_tool, rule_decision, tool_decision
from harness.agent.prompt import render_system_prompt
from harness.agent.run import Retrieved, Run
from harness.errors import HarnessError
from harness.kb.catalog import find_products
from harness.kb.retrieval import Hit, KnowledgeBase
from harness.providers.client import ModelClient
from harness.store.loading import Store
from harness.store.schema import AgentConfig, Case
from harness.text.secrets import redact_secrets

__all__ = ["Agent", "to_messages"]

def to_messages(system: str, case: Case) -> list[dict[str, Any]]:
    roles = {"customer": "user", "agent": "assistant"}
    return [{"role": "system", "content": system}] + [
        {"role": roles[turn.role], "content": turn.text} for turn in case.conversation
    ]


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
        self.kb = KnowledgeBase(store.articles, [n for p in products for n in (p.name, *p.aliases)])
        self.run_date = as_of or today  # --as-of, else today; a fixture's as_of wins

    def day_for(self, case: Case) -> dt.date:
        return case.as_of or self.run_date

    def retrieve(self, case: Case) -> tuple[tuple[Hit, ...], tuple[str, ...]]:
        index = self.kb.index_for(self.day_for(case))
        customer = [t.text for t in case.conversation if t.role == "customer"]
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
            rule = rule_decision(agent.escalation, case.conversation, hits)
            if rule:
                return self._escalated(base, rule, None)
            return await self._ask_model(base, case, hits, sample)
        except HarnessError as error:
            return replace(base, error=redact_secrets(str(error)))

    async def _ask_model(self, base: Run, case: Case, hits: tuple[Hit, ...], sample: int) -> Run:
        agent = self.store.agent
        conversation_text = "\n".join(t.text for t in case.conversation)
        products = {m.product.sku: m.product
                    for m in find_products(conversation_text, self.store.catalog)}
        system = render_system_prompt(
            self.store.template_path,
            tone=agent.tone,
            articles=[h.article for h in hits],
            conversation=case.conversation,
            products=list(products.values()),
            catalog=self.store.catalog,
        )
        messages = to_messages(system, case)
        done = await self.client.complete(
            agent.model_name, messages, tools=[escalate_tool(agent.escalation)], sample=sample,
            api_base=agent.api_base, temperature=agent.temperature, **_limits(agent),
        )
        run = replace(
            base, prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens, cost=done.cost, cached=done.cached,
            latency_s=round(done.latency_s, 4), messages=tuple(messages),
            finish_reason=done.finish_reason,
        )
        for call in done.tool_calls:
            decision = tool_decision(call.name, call.arguments)
            if decision:
                return self._escalated(run, decision, done.content)
        return replace(run, reply=(done.content or "").strip(), outcome="resolve",
                        decided_by="model", why="the model answered")

    def _escalated(self, run: Run, decision: Decision, content: str | None) -> Run:
        tone = self.store.agent.tone
        reply = (content or "").strip() or self.store.agent.escalation.handoff_message
        if tone.sign_off and not content:
            reply = f"{reply}\n\n{tone.sign_off}"
        return replace(run, reply=reply, outcome="escalate", decided_by=decision.rule,
                        why=decision.reason)
