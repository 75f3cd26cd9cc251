"""Every model call goes through litellm; this module is the only one that imports it.

litellm is imported on first use (it costs seconds), with its offline switches set so that it
never fetches a price list. The offline reference model is registered here as a litellm
custom provider, so it is reached exactly like `openai/gpt-4o-mini`: a real provider needs
only its model string in agent.yaml and its API key in the environment (litellm reads it).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from harness.errors import ModelError
from harness.reference_model import MODEL, PROVIDER, answer, to_openai_message

__all__ = ["Completion", "ToolCall", "acomplete", "litellm_module", "redact_secrets"]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    latency_s: float


@cache
def litellm_module() -> Any:
    """Import litellm once, offline-safe and quiet, with the reference model registered."""
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from litellm import CustomLLM, ModelResponse

    litellm.suppress_debug_info = True
    litellm.telemetry = False

    class ReferenceLLM(CustomLLM):
        """litellm's face of `reference_model.answer`."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            tools = (kwargs.get("optional_params") or {}).get("tools") or []
            message = to_openai_message(answer(messages, tools))
            prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
            reply = len(str(message.get("content") or "").split())
            return ModelResponse(
                model=MODEL,
                choices=[{
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }],
                usage={"prompt_tokens": prompt, "completion_tokens": reply,
                       "total_tokens": prompt + reply},
            )

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return self.completion(model, messages, *args, **kwargs)

    litellm.custom_provider_map = [
        *[p for p in litellm.custom_provider_map if p.get("provider") != PROVIDER],
        {"provider": PROVIDER, "custom_handler": ReferenceLLM()},
    ]
    litellm.register_model({MODEL: {
        "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
        "litellm_provider": PROVIDER, "mode": "chat",
    }})
    return litellm


def _completion_from(response: Any, model: str, latency: float) -> Completion:
    litellm = litellm_module()
    message = response.choices[0].message
    calls = tuple(
        ToolCall(call.function.name or "", call.function.arguments or "")
        for call in (getattr(message, "tool_calls", None) or [])
    )
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises for models it has no price for; cost is then unknown
        cost = None
    return Completion(
        content=message.content,
        tool_calls=calls,
        model=getattr(response, "model", None) or model,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=cost,
        latency_s=latency,
    )


async def acomplete(
    model: str, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]], **params: Any
) -> Completion:
    """One chat completion through `litellm.acompletion`; provider failures become ModelError."""
    litellm = litellm_module()
    started = time.perf_counter()
    try:
        response = await litellm.acompletion(
            model=model, messages=messages, tools=tools or None, **params
        )
    except Exception as exc:  # every provider fault is reported on its case, never raised
        raise ModelError(f"{model}: {type(exc).__name__}: {_short(exc)}") from None
    return _completion_from(response, model, time.perf_counter() - started)


_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+|(?<=api[_-]key=)[^&\s]+)", re.IGNORECASE
)


def redact_secrets(text: str) -> str:
    """Remove API keys from text bound for a report, log or cache."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and any(s in name for s in ("KEY", "TOKEN", "SECRET")):
            text = text.replace(value, "[redacted]")
    return _SECRET_SHAPES.sub("[redacted]", text)


def _short(exc: BaseException) -> str:
    text = redact_secrets(" ".join(str(exc).split()))
    return text if len(text) <= 300 else text[:297] + "..."
