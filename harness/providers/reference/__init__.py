"""The offline reference model: a deterministic, KB-grounded stand-in for an LLM.

It is NOT a language model. It exists so that a store's suites run in CI with no API key and
no network, through the very same litellm path as a real provider (it is a litellm custom
provider, model `reference/kb-grounded`). Like any model it sees only the messages it is sent:

- `reading`: the system prompt as a team writes it for a real LLM, in any common layout
  (XML-like tags, Markdown headings, numbered lists, JSON or YAML, plain paragraphs): its KB
  articles, product records, word limit and sign-off (`read_prompt`);
- `answering`: the reply to the last user message, quoting the article sentences that share
  the most informative words with it, or a call of the hand-off tool when nothing covers it
  (`answer`). A new kind of answer (a tool the model may call) is a step in `answer`.
"""

from harness.providers.reference.answering import (
    MODEL,
    PROVIDER,
    Answer,
    answer,
    handoff_tool,
    to_openai_message,
)
from harness.providers.reference.reading import KbArticle, ProductRecord, Understood, read_prompt

__all__ = ["MODEL", "PROVIDER", "Answer", "KbArticle", "ProductRecord", "Understood", "answer",
           "handoff_tool", "read_prompt", "to_openai_message"]
