"""Every model call goes through litellm; this module is the only one that imports it.

litellm is imported on first use (it costs seconds), with its offline switches set so that it
never fetches a price list. (Importing it in a thread during collection was measured and
dropped: the import is CPU under the GIL, so it only moved seconds from the import into
collection, and the thread's warnings escaped pytest's capture.) The offline reference model
is registered here as a litellm custom provider, so it is reached exactly like
`openai/gpt-4o-mini`: a real provider needs only its model string in agent.yaml and its API
key in the environment (litellm reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import os
import re
import time
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import tenacity

from harness.errors import ModelError
from harness.providers.cache import CacheMode, ResponseCache, request_key
from harness.providers.reference import MODEL, PROVIDER, answer, to_openai_message
from harness.text.secrets import redact_secrets

__all__ = [
    "CallPolicy", "CallStats", "Completion", "ModelClient", "Slots", "ToolCall", "is_timeout",
    "is_transient",
    "litellm_module", "quiesce_background_logging", "redact_secrets", "retry_after_s", "warm_up",
]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str
    id: str = ""  # the provider's call id, echoed back with the tool's result


@dataclass(frozen=True)
class Completion:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    latency_s: float
    cached: bool = False
    finish_reason: str = ""  # "stop", "tool_calls", "length" (cut off at max_tokens), ...


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


def warm_up(models: set[str]) -> None:
    """Import litellm and run each model's code path once, offline (`mock_response`), so a
    timed run (and every forked worker) starts warm instead of paying it on its first call."""
    litellm = litellm_module()
    for model in sorted(models):
        with contextlib.suppress(Exception):  # a model litellm cannot map fails later, clearly
            litellm.completion(model=model, messages=[{"role": "user", "content": "warm-up"}],
                               mock_response="ok", tools=[_WARM_UP_TOOL])


def quiesce_background_logging(timeout_s: float = 10.0) -> None:
    """Wait until litellm's logging threads hold no task, before the process forks.

    litellm hands each call's success logging to a thread pool; a fork taken while one of
    those threads is mid-task copies the locks it holds, and a forked worker then waits on
    them for ever (seen: a worker blocked in the response handling, no CPU, for minutes).
    Every pending task holds one of the pool's slots until it is done, so holding all the
    slots at once means none runs; they are given back at once."""
    import sys

    module = sys.modules.get("litellm.litellm_core_utils.thread_pool_executor")
    pool = getattr(sys.modules.get("litellm.utils"), "executor", None)
    slots = getattr(pool, "_pending_slots", None)
    total = getattr(pool, "_max_pending_tasks", None)
    if module is None or slots is None or not isinstance(total, int):
        return  # litellm not imported, or a version without the bounded pool: nothing runs
    deadline = time.monotonic() + timeout_s
    taken = 0
    try:
        for _ in range(total):
            if not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
            taken += 1
    finally:
        for _ in range(taken):
            slots.release()


_WARM_UP_TOOL = {"type": "function", "function": {
    "name": "warm_up", "parameters": {"type": "object", "properties": {}}}}
_UNPRICED: set[str] = set()


def _completion_from(response: Any, model: str, latency: float) -> Completion:
    litellm = litellm_module()
    choice = response.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(call.function.name or "", call.function.arguments or "",
                 str(getattr(call, "id", "") or ""))
        for call in (getattr(message, "tool_calls", None) or [])
    )
    usage = getattr(response, "usage", None)
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if cost is None and model not in _UNPRICED:  # litellm prices most calls already
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:  # litellm raises for models it has no price for: cost unknown
            _UNPRICED.add(model)  # and asking again costs a millisecond per call
            cost = None
    return Completion(
        content=message.content,
        tool_calls=calls,
        model=model,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=float(cost) if cost is not None else None,
        latency_s=latency,
        finish_reason=str(getattr(choice, "finish_reason", "") or ""),
    )


@dataclass(frozen=True)
class CallPolicy:
    """How patient a model call is: a timeout per try, and retries on transient faults."""

    timeout_s: float = 60.0
    retries: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    timeout_retries: int = 1  # a try that timed out is likely a runaway reply: one more, no more


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's Retry-After, in seconds (a number or an HTTP date), if it sent one."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or getattr(
        exc, "litellm_response_headers", None
    )
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", value):  # delta-seconds: digits, never "inf" or "1e400"
        return max(0.0, float(value))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # asctime and "-0000" dates carry no zone: they mean UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())


def is_transient(exc: BaseException) -> bool:
    """429, 5xx, timeouts and connection errors are worth another try; the rest are not."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 429) or status >= 500
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APIConnectionError", "Timeout", "APITimeoutError", "TimeoutError",
                         "ConnectError", "ReadTimeout", "RemoteProtocolError"})


def is_timeout(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return getattr(exc, "status_code", None) == 408 or bool(
        names & {"Timeout", "APITimeoutError", "TimeoutError", "ReadTimeout"})


class Slots:
    """How many calls a server is sent at once, learnt from its timeouts (AIMD): a timeout
    halves the calls in flight, a run of answers in time adds one back. A one-slot server
    answers queued requests one by one, so waiting in its queue would otherwise count toward
    every try's timeout; here the wait is spent before the try starts, and is not counted."""

    def __init__(self, limit: int = 1_000, recover_after: int = 5) -> None:
        self.limit = self.ceiling = limit
        self.in_flight = 0
        self.recover_after = recover_after
        self._good = 0
        self._free = asyncio.Condition()

    async def __aenter__(self) -> Slots:
        async with self._free:
            await self._free.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        async with self._free:
            self.in_flight -= 1
            self._free.notify_all()

    def timed_out(self) -> None:
        self.limit = max(1, min(self.limit, self.in_flight) // 2)
        self._good = 0

    def answered(self) -> None:
        self._good += 1
        if self._good >= self.recover_after and self.limit < self.ceiling:
            self.limit += 1
            self._good = 0


_LONGEST_WAIT = 600.0


class _Backoff(tenacity.wait.wait_base):
    """Exponential backoff with jitter, never shorter than the provider's Retry-After."""

    def __init__(self, policy: CallPolicy) -> None:
        self._jitter = tenacity.wait_exponential_jitter(
            multiplier=policy.backoff_s, max=policy.max_backoff_s, jitter=policy.backoff_s
        )
        self._cap = policy.max_backoff_s

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after_s(exc) if exc else None
        asked = min(asked or 0.0, _LONGEST_WAIT)  # a provider may not stall a run for hours
        return min(max(self._jitter(retry_state), asked), max(self._cap, asked))


@dataclass
class CallStats:
    """Counters a run reports: how many calls reached a provider, and how many were saved."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0


class ModelClient:
    """All model calls of a run: cache lookups, then litellm with a timeout and retries."""

    def __init__(
        self, *, cache: ResponseCache | None = None, mode: CacheMode = "off",
        policy: CallPolicy | None = None, api_base: str | None = None,
    ) -> None:
        self.cache = cache if mode != "off" else None
        self.mode = mode
        self.policy = policy or CallPolicy()
        self.api_base = api_base
        self.stats = CallStats()
        self._slots: dict[tuple[int, str], Slots] = {}

    def _slots_for(self, endpoint: str) -> Slots:
        """One learner per server and event loop (its condition belongs to the loop)."""
        key = (id(asyncio.get_running_loop()), endpoint)
        if key not in self._slots:
            self._slots[key] = Slots()
        return self._slots[key]

    def _key(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             sample: int, params: dict[str, Any], api_base: str | None) -> str:
        request = {"model": model, "messages": messages, "tools": tools, "params": params,
                   "api_base": api_base or ""}
        if sample:
            request["sample"] = sample  # repeats are separate samples, each cached on its own
        return request_key(request)

    async def complete(
        self, model: str, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]],
        sample: int = 0, api_base: str | None = None, **params: Any,
    ) -> Completion:
        """One chat completion: from the cache when allowed, else through `litellm.acompletion`.

        `api_base` (agent.yaml's, for this model) wins over the client's (OPENAI_API_BASE of
        the environment), which reaches only OpenAI-compatible models: a judge on another
        provider is never sent to the agent's gateway."""
        api_base = api_base or (self.api_base if _openai_compatible(model) else None)
        offline = model.startswith(f"{PROVIDER}/")  # the reference model costs nothing: no cache
        cached = self.cache is not None and not offline
        # the key hashes the whole prompt: only worth it when a cache will read or keep it
        key = self._key(model, messages, tools, sample, params, api_base) if cached else ""
        if self.cache is not None and cached:
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return replace(_scrubbed(_from_cache(hit)), cached=True, cost=0.0, latency_s=0.0)
            if self.mode == "replay":
                raise ModelError(f"{model}: no cached reply for this request (--cache replay"
                                 " never calls a provider; run once with --cache on)")
        # the one place a reply enters the run: no key it echoes reaches a cache, baseline or report
        done = _scrubbed(await self._call(model, messages, tools, params, api_base))
        if self.cache is not None and cached:
            self.cache.put(key, model, _to_cache(done))
        return done

    async def _call(self, model: str, messages: list[dict[str, Any]],
                    tools: list[dict[str, Any]], params: dict[str, Any],
                    api_base: str | None) -> Completion:
        litellm = litellm_module()
        policy = self.policy
        extra = {"api_base": api_base} if api_base else {}
        started = time.perf_counter()
        timeouts = 0

        def worth_another_try(exc: BaseException) -> bool:
            return is_transient(exc) and not (is_timeout(exc) and
                                              timeouts > policy.timeout_retries)

        attempts = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(policy.retries + 1),
            wait=_Backoff(policy),
            retry=tenacity.retry_if_exception(worth_another_try),
            reraise=True,
        )
        slots = self._slots_for(api_base or model)
        try:
            async for attempt in attempts:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    async with slots:  # the wait for a slot is not part of the try's timeout
                        self.stats.requests += 1
                        try:
                            response = await litellm.acompletion(
                                model=model, messages=messages, tools=tools or None,
                                timeout=policy.timeout_s, max_retries=0, num_retries=0,
                                **extra, **params,
                            )
                        except Exception as exc:
                            if is_timeout(exc):
                                timeouts += 1
                                slots.timed_out()
                            raise
                        slots.answered()
        except Exception as exc:  # every provider fault is reported on its case, never raised
            tries = attempts.statistics.get("attempt_number", 1)
            raise ModelError(f"{model}: {type(exc).__name__} after {tries} attempt(s):"
                             f" {_short(exc)}") from None
        return _completion_from(response, model, time.perf_counter() - started)


def _openai_compatible(model: str) -> bool:
    """Models that OPENAI_API_BASE is meant for: `openai/...`, or no provider prefix at all."""
    provider = model.split("/", 1)[0] if "/" in model else ""
    return provider in ("", "openai", "text-completion-openai")


def _scrubbed(done: Completion) -> Completion:
    """The completion with the environment's secrets removed from its text and tool calls."""
    calls = tuple(replace(c, name=redact_secrets(c.name), arguments=redact_secrets(c.arguments))
                  for c in done.tool_calls)
    content = redact_secrets(done.content) if done.content else done.content
    return replace(done, content=content, tool_calls=calls)


def _to_cache(done: Completion) -> dict[str, Any]:
    return {"content": done.content,
            "tool_calls": [[c.name, c.arguments, c.id] for c in done.tool_calls],
            "model": done.model, "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens, "cost": done.cost,
            "finish_reason": done.finish_reason}


def _from_cache(data: dict[str, Any]) -> Completion:
    return Completion(
        content=data.get("content"),
        tool_calls=tuple(ToolCall(*call) for call in data["tool_calls"]),  # old: no id
        model=data["model"], prompt_tokens=int(data["prompt_tokens"]),
        completion_tokens=int(data["completion_tokens"]), cost=data.get("cost"), latency_s=0.0,
        finish_reason=str(data.get("finish_reason") or ""),
    )


def _short(exc: BaseException) -> str:
    text = redact_secrets(" ".join(str(exc).split()))
    return text if len(text) <= 300 else text[:297] + "..."
