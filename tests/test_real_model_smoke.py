"""A real model, offline: SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible
server on 127.0.0.1, called through litellm as the harness calls a provider.

Needs `.venv-llm` (`bash tests/realmodel/setup.sh`); without it every test here skips with the
reason (HARNESS_REAL_MODEL=require turns that skip into a failure). The server runs the
`chatml-tools` chat format (tests/realmodel/serve.py, NOTES.md): tools without tool_choice are
offered to the model, as OpenAI does.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

# Before litellm is imported anywhere: never fetch its price list (the value 1 is ignored).
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from realmodel import server as realmodel_server
from realmodel.server import LlamaServer

real_model = realmodel_server.real_model  # the session fixture: SmolLM2 on 127.0.0.1

ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Look up the shipping status of a customer's order by its order number.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "description": "The order number, e.g. A1234"}
            },
            "required": ["order_id"],
        },
    },
}
SYSTEM = {
    "role": "system",
    "content": "You are the support assistant of an online coffee shop."
    " Use the tools when they help.",
}


def complete(server: LlamaServer, messages: list[dict[str, Any]], **params: Any) -> Any:
    """One litellm.acompletion against the local server: no retries, a generous timeout."""
    import litellm  # imported on first use only: 4-5 s of CPU, needless when the tests skip

    litellm.suppress_debug_info = True
    return asyncio.run(
        litellm.acompletion(
            model=server.litellm_model,
            api_base=server.api_base,
            api_key="none",
            messages=messages,
            timeout=120,
            max_retries=0,
            num_retries=0,
            **params,
        )
    )


def test_plain_answer(real_model: LlamaServer) -> None:
    response = complete(
        real_model,
        [{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=40,
        temperature=0,
    )
    choice = response.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert not choice.message.tool_calls
    assert choice.finish_reason in ("stop", "length")
    assert response.usage.prompt_tokens > 0
    assert 0 < response.usage.completion_tokens <= 40


# Phrasings that SmolLM2 answers with a tool call under chatml-tools at temperature 0 (NOTES.md:
# the choice between a call and words is made greedily, so each is deterministic on one build;
# several guard against a different CPU's rounding tipping one of them).
ORDER_QUESTIONS = [
    "Can you check the status of order A1234?",
    "Where is my order A1234? Please check its status.",
    "Track order A1234 for me please.",
]


def test_tool_call_when_the_question_needs_the_tool(real_model: LlamaServer) -> None:
    answers = []
    for question in ORDER_QUESTIONS:
        # No tool_choice, as the harness sends it: chatml-tools reads that as "auto".
        response = complete(
            real_model,
            [SYSTEM, {"role": "user", "content": question}],
            tools=[ORDER_TOOL],
            max_tokens=120,
            temperature=0,
        )
        choice = response.choices[0]
        if choice.message.tool_calls:
            break
        answers.append(choice.message.content)
    else:
        pytest.fail(f"no tool call in {len(ORDER_QUESTIONS)} tries; the model said {answers!r}")
    call = choice.message.tool_calls[0]
    assert choice.finish_reason == "tool_calls"
    assert call.function.name == "get_order_status"
    arguments = json.loads(call.function.arguments)  # a grammar shapes it by the schema
    assert isinstance(arguments, dict) and isinstance(arguments.get("order_id"), str)


def test_forced_tool_call(real_model: LlamaServer) -> None:
    response = complete(
        real_model,
        [SYSTEM, {"role": "user", "content": "Hi there!"}],
        tools=[ORDER_TOOL],
        max_tokens=120,
        temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_order_status"}},
    )
    (call,) = response.choices[0].message.tool_calls
    assert call.function.name == "get_order_status"
    assert "order_id" in json.loads(call.function.arguments)


def test_tiny_max_tokens_stops_with_length(real_model: LlamaServer) -> None:
    response = complete(
        real_model,
        [{"role": "user", "content": "Tell me a long story about a kettle."}],
        max_tokens=3,
        temperature=0,
    )
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 3


def test_json_object_reply_parses(real_model: LlamaServer) -> None:
    # What the harness's LLM judge asks for. A grammar keeps the reply to JSON, but a reply cut
    # by max_tokens is cut JSON (finish_reason "length"): leave room. SmolLM2 rarely uses the
    # keys it is asked for (NOTES.md), so only the shape is checked.
    response = complete(
        real_model,
        [
            {
                "role": "system",
                "content": 'Answer with a JSON object: {"verdict": "pass" or "fail"}.',
            },
            {"role": "user", "content": "Reply to grade: 'Your order ships today.' Grade it."},
        ],
        response_format={"type": "json_object"},
        max_tokens=400,
        temperature=0,
    )
    choice = response.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(json.loads(choice.message.content), dict)
