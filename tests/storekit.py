"""Write a small store (FORMATS.md) from Python values, for tests.

A file is either a dict (written as YAML, or as front matter plus `body` for an article) or a
str (written as is, for broken files). The defaults make a three-article coffee-gear store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "prompts" / "system.md.j2"

# A file is either a dict (written as YAML / front matter + `body`) or a str (written as is).
Spec = Mapping[str, Any] | str

ARTICLES: dict[str, Spec] = {
    "returns-policy": {
        "title": "Returns and refunds", "topic": "returns", "status": "active",
        "body": "You can return most items within 30 days of delivery for a full refund.\n"
                "A returned item must be unused and in its original packaging.\n"
                "Opened coffee beans cannot be returned.",
    },
    "shipping": {
        "title": "Shipping times and costs", "topic": "shipping", "status": "active",
        "body": "Standard shipping takes 3-5 business days.\n"
                "Express shipping costs $14.95 and arrives in 1-2 business days.",
    },
    "warranty": {
        "title": "Grinder warranty", "topic": "warranty", "status": "active",
        "body": "Every grinder comes with a 2-year warranty against manufacturing defects.\n"
                "The warranty does not cover worn burrs.",
    },
}

CATALOG: dict[str, Any] = {
    "currency": "USD",
    "products": [
        {"sku": "GRD-S2", "name": "Burr Grinder S2", "price": 189.0, "status": "active",
         "aliases": ["S2 grinder"]},
        {"sku": "GRD-S1", "name": "Burr Grinder S1", "price": 149.0, "status": "discontinued"},
        {"sku": "KTL-GN", "name": "Gooseneck Kettle", "price": 59.95, "status": "active"},
    ],
}

AGENT: dict[str, Any] = {
    "temperature": 0,
    "retrieval": {"top_k": 3},
    "escalation": {
        "topics": {"payment-dispute": ["chargeback", "/disput(e|ing)/"]},
        "min_confidence": 0.2,
        "on_request": True,
    },
    "tone": {
        "brand": "Test Roasters", "voice": "friendly and concise", "max_words": 120,
        "banned_phrases": ["as an AI"], "emoji": False, "sign_off": "- Test Roasters team",
    },
}

SUITES: dict[str, dict[str, Spec]] = {
    "core": {
        "returns-window": {
            "topic": "returns",
            "conversation": [{"customer": "How many days do I have to return an item?"}],
            "expect": {"outcome": "resolve", "facts": ["30 days"],
                       "articles": ["returns-policy"]},
        },
    },
}


def _dump(spec: Spec) -> str:
    return spec if isinstance(spec, str) else yaml.safe_dump(dict(spec), sort_keys=False)


def _article_text(stem: str, spec: Spec) -> str:
    if isinstance(spec, str):
        return spec
    header = {"id": stem, **{k: v for k, v in spec.items() if k != "body"}}
    return f"---\n{_dump(header)}---\n{spec.get('body', '')}\n"


def write_store(
    root: Path,
    *,
    articles: Mapping[str, Spec] | None = None,
    catalog: Spec | None = None,
    agent: Spec | None = None,
    suites: Mapping[str, Mapping[str, Spec]] | None = None,
    template: str | None = None,
) -> Path:
    """Write a store under `root`. None keeps the defaults above; a dict `agent` is merged over
    AGENT (top-level keys), every other argument replaces its default. Article dicts get
    `id: <stem>` unless they set one."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for stem, spec in (ARTICLES if articles is None else articles).items():
        files[f"knowledge/articles/{stem}.md"] = _article_text(stem, spec)
    files["knowledge/catalog.yaml"] = _dump(CATALOG if catalog is None else catalog)
    if agent is None or isinstance(agent, Mapping):
        agent = {**AGENT, **(agent or {})}
    files["prompts/agent.yaml"] = _dump(agent)
    files["prompts/system.md.j2"] = (
        TEMPLATE.read_text(encoding="utf-8") if template is None else template
    )
    for suite, cases in (SUITES if suites is None else suites).items():
        for stem, spec in cases.items():
            files[f"suites/{suite}/{stem}.yaml"] = _dump(spec)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def case(customer: str, *earlier: tuple[str, str], outcome: str = "resolve",
         **extra: Any) -> dict[str, Any]:
    """A fixture dict: optional earlier (role, text) turns, then the customer's last turn."""
    turns = [{role: said} for role, said in earlier] + [{"customer": customer}]
    return {"conversation": turns, "expect": {"outcome": outcome}, **extra}
