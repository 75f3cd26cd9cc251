"""The environment's API keys, scrubbed from any text before it is kept or shown.

A key can reach text by many paths: a gateway that echoes it in a reply, a template that
includes `/proc/self/environ`, an error message. Every reply, prompt and error passes through
`redact_secrets` where it enters the run, so no baseline, cache entry, log or report can hold
one. Secrets are the values (8 characters or more) of every environment variable whose name
ends with _KEY, _TOKEN, _SECRET or _PASSWORD or is a known provider's key, plus text shaped like
a key (`sk-...`, `Bearer ...`, `api_key=...`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["REDACTED", "redact_secrets", "secret_values"]

REDACTED = "[redacted]"
_ENDINGS = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PAT", "_CREDENTIALS")
_KNOWN = {
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY",
    "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY", "COHERE_API_KEY", "CO_API_KEY",
    "GROQ_API_KEY", "OPENROUTER_API_KEY", "TOGETHERAI_API_KEY", "DEEPSEEK_API_KEY",
    "HF_TOKEN", "HUGGINGFACE_API_KEY", "REPLICATE_API_TOKEN", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LITELLM_MASTER_KEY", "GITHUB_TOKEN",
    "XAI_API_KEY", "FIREWORKS_API_KEY", "PERPLEXITYAI_API_KEY", "VOYAGE_API_KEY",
}
_MIN_LENGTH = 8
_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+|(?<=api[_-]key=)[^&\s]+)", re.IGNORECASE
)


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in _KNOWN or upper.endswith(_ENDINGS) or any(
        word in upper for word in ("API_KEY", "SECRET", "TOKEN"))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values to scrub, longest first (so a key that contains another goes whole)."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if len(v) >= _MIN_LENGTH and _is_secret_name(k)}
    return sorted(found, key=len, reverse=True)


def redact_secrets(text: str) -> str:
    """`text` with every secret of the environment and every key-shaped string replaced."""
    if not text:
        return text
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return _SHAPES.sub(REDACTED, text)
