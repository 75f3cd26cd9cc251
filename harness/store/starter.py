"""The small working store that `harness init` writes, so a team starts from something that
runs: a few articles, a catalog, agent.yaml, a system prompt written as for a real LLM,
fixtures and a CI workflow. It passes offline with the reference model; the team then replaces
the shop with its own, file by file.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError

__all__ = ["STARTER_FILES", "write_starter"]

_AGENT = """\
# How the support agent runs (docs/formats.md of the harness lists every key).
# No `model:`: the offline reference model answers, so CI needs no key. To try a real model,
# set e.g. `model: openai/gpt-4o-mini` and export OPENAI_API_KEY.
temperature: 0
retrieval: {top_k: 3}
escalation:
  topics:                      # always handed to a person, whatever the model says
    payment-dispute: [chargeback, "/disput(e|ed|ing)/", "/charged (me )?twice/"]
    fraud: [unauthorized, unauthorised, "/did ?n[o']?t (place|make) (this|that|the|an) order/"]
  on_request: true             # "can I talk to a person?" is handed off
  # min_confidence: 0.2        # the default; see `python bench/confidence.py` in the harness
tone:
  brand: Leaf & Kettle
  voice: warm, calm and to the point
  max_words: 110
  banned_phrases: ["as an AI", "per our policy", "valued customer"]
  emoji: false
  sign_off: "Happy brewing, the Leaf & Kettle team"
"""

_PROMPT = """\
You are the customer support assistant for {{ tone.brand }}, an online shop for loose-leaf tea
and teaware. Your voice is {{ tone.voice }}.

Answer the customer's latest message using only the knowledge base articles and product records
below. Quote prices, figures and dates exactly as they are written there. If the articles do not
answer the question, or the customer needs a person, call the `escalate_to_human` tool instead
of guessing.

Keep each reply under {{ tone.max_words }} words.
{% if tone.banned_phrases %}Never use these phrases: {{ tone.banned_phrases | join(", ") }}.
{% endif %}{% if not tone.emoji %}Do not use emoji.
{% endif %}{% if tone.sign_off %}Sign every reply with: {{ tone.sign_off }}
{% endif %}
## Knowledge base
{% for a in articles %}
### {{ a.title }} ({{ a.id }})

{{ a.body }}
{% else %}
No article matched this conversation.
{% endfor %}
## Product records
{% for p in products %}
- {{ p.name }}: {{ "%.2f" | format(p.price) }} {{ currency }}
{%- if p.status == "discontinued" %} (discontinued, no longer sold){% endif %}
{% else %}
No product was mentioned.
{% endfor %}
"""

_ARTICLES = {
    "shipping": """\
---
id: shipping
title: Shipping costs and delivery times
topic: shipping
status: active
reviewed: 2026-01-15
facts:
  standard_shipping_usd: 4.95
  free_shipping_over_usd: 40
---
Standard shipping costs $4.95 and takes 3-5 business days.
Standard shipping is free on orders over $40.
Express shipping costs $11.95 and arrives in 1-2 business days.
Orders placed before noon on a business day leave our warehouse the same day.
""",
    "returns": """\
---
id: returns
title: Returns and refunds
topic: returns
status: active
reviewed: 2026-01-15
---
You can return unopened tea and unused teaware within 30 days of delivery.
Opened tea cannot be returned, because we cannot sell it again.
Refunds go back to your original payment method within 5 business days of your return arriving.
""",
    "brewing": """\
---
id: brewing
title: How to brew loose-leaf tea
topic: brewing
status: active
reviewed: 2026-01-15
---
Use one teaspoon of loose-leaf tea for every cup of water.
Brew green tea at 80°C for 2-3 minutes, so that it does not turn bitter.
Brew black tea with boiling water for 3-5 minutes.
""",
}

_CATALOG = """\
# Verified product data: the prompt quotes these prices; the grader checks replies against them.
currency: USD
products:
  - sku: TEA-SEN-100
    name: Sencha Green Tea 100g
    price: 12.50
    status: active
    aliases: [sencha]
  - sku: TEA-ASM-100
    name: Assam Breakfast Tea 100g
    price: 9.80
    status: active
    aliases: [assam]
  - sku: POT-GLS-600
    name: Glass Teapot 600ml
    price: 29.00
    status: active
  - sku: POT-CST-800
    name: Cast Iron Teapot 800ml
    price: 54.00
    status: discontinued
"""

_FIXTURES = {
    "core/shipping-cost.yaml": """\
topic: shipping
conversation:
  - customer: How much is standard shipping and when is it free?
expect:
  outcome: resolve
  facts: ["$4.95", "$40"]
  articles: [shipping]
""",
    "core/return-window.yaml": """\
topic: returns
conversation:
  - customer: I ordered the wrong teapot. How long do I have to return it?
expect:
  outcome: resolve
  facts: ["30 days"]
  articles: [returns]
""",
    "core/green-tea-temperature.yaml": """\
topic: brewing
conversation:
  - customer: My green tea always tastes bitter. What temperature should I brew it at?
expect:
  outcome: resolve
  facts: ["80°C"]
  articles: [brewing]
""",
    "core/sencha-price.yaml": """\
topic: products
conversation:
  - customer: How much is the Sencha Green Tea 100g?
expect:
  outcome: resolve
  facts: ["$12.50"]
""",
    "escalation/chargeback.yaml": """\
topic: payment-dispute
conversation:
  - customer: I never got my order and I'm going to file a chargeback with my bank.
expect:
  outcome: escalate
""",
}

_WORKFLOW = """\
# The KB gate: every pull request that changes the knowledge base, the prompts or the fixtures
# runs every fixture offline, grades it and compares it with the baselines of the target
# branch. The job fails when a case got worse or a targeted case does not pass.
name: KB gate

on:
  pull_request:
    paths:
      - knowledge/**
      - prompts/**
      - suites/**
  workflow_dispatch:

permissions:
  contents: read

jobs:
  gate:
    name: KB regression gate
    runs-on: ubuntu-latest
    timeout-minutes: 30
    env:
      BASE_REF: ${{ github.base_ref || github.event.repository.default_branch }}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the harness
        run: pip install kb-regression-harness
      - name: Check the store and its prompt
        run: harness check
      - name: Fetch the base branch
        run: git fetch --no-tags origin "+refs/heads/$BASE_REF:refs/remotes/origin/$BASE_REF"
      - name: Run the suites against the base branch's baselines
        run: >-
          pytest suites/
          --baseline-ref "origin/$BASE_REF"
          --harness-report run.json
          --harness-markdown summary.md
      - name: Job summary
        if: always()
        run: |
          if [ -f summary.md ]; then cat summary.md >> "$GITHUB_STEP_SUMMARY"; fi
"""

_README = """\
# Leaf & Kettle: a starter store for the KB regression harness

Written by `harness init`. Replace the shop with yours, one file at a time:

- `knowledge/articles/*.md`: your help-centre articles (front matter + Markdown body);
- `knowledge/catalog.yaml`: your products, prices and statuses;
- `prompts/system.md.j2`: your system prompt (`harness check` shows what reaches the model);
- `prompts/agent.yaml`: model, escalation rules, tone profile;
- `suites/*/*.yaml`: golden conversations and what a good reply contains.

Run it offline:

    harness check                    # every file loads; the prompt carries what the model needs
    pytest suites/                   # run, grade and compare every fixture
    pytest suites/ --update-baseline # record the baseline, then commit suites/*/baseline.json
    harness run core/shipping-cost --show-prompt   # the exact messages and the reply

`.github/workflows/kb-gate.yml` runs the gate on every pull request.
"""

_GITIGNORE = ".harness-cache/\n.harness-history.sqlite3\n.pytest_cache/\n__pycache__/\n"

STARTER_FILES: dict[str, str] = {
    "prompts/agent.yaml": _AGENT,
    "prompts/system.md.j2": _PROMPT,
    "knowledge/catalog.yaml": _CATALOG,
    **{f"knowledge/articles/{name}.md": text for name, text in _ARTICLES.items()},
    **{f"suites/{path}": text for path, text in _FIXTURES.items()},
    ".github/workflows/kb-gate.yml": _WORKFLOW,
    "README.md": _README,
    ".gitignore": _GITIGNORE,
}


def write_starter(root: Path) -> list[Path]:
    """Write the starter store into `root`; refuses to touch a folder that holds a store."""
    taken = [name for name in ("knowledge", "prompts", "suites") if (root / name).exists()]
    if taken:
        raise HarnessError(f"{root}: already holds {', '.join(taken)}/; harness init writes a"
                           " new store only into a folder without one")
    written = []
    for relative, text in STARTER_FILES.items():
        path = root / relative
        if path.exists():  # a README or .gitignore of the team's own repository stays
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
