"""The response cache: request keys, the SQLite store on disk, and ModelClient's cache modes."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, text

from harness.errors import ModelError
from harness.providers.cache import ResponseCache, request_key
from harness.providers.client import CallPolicy, ModelClient

SECRET = "sk-secret-cache-0123456789abcdef"
MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "system", "content": "You answer coffee questions."},
            {"role": "user", "content": "How long do I have to return a kettle?"}]
TOOL = {"type": "function", "function": {"name": "escalate_to_human", "parameters": {
    "type": "object", "properties": {"reason": {"type": "string"}}}}}
REQUEST = {"model": MODEL, "messages": MESSAGES, "tools": [TOOL],
           "params": {"temperature": 0}, "api_base": ""}
FAST = CallPolicy(timeout_s=10, retries=0, backoff_s=0.001, max_backoff_s=0.01)


@pytest.fixture
def provider(monkeypatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake_openai


def client_for(api: FakeOpenAI, cache: ResponseCache | None, mode: str) -> ModelClient:
    return ModelClient(cache=cache, mode=mode, policy=FAST, api_base=api.base_url)


def complete(client: ModelClient, model: str = MODEL, messages=MESSAGES, **params):
    return asyncio.run(client.complete(model, messages, tools=[TOOL], **params))


# -- request_key -------------------------------------------------------------------------------


def test_request_key_is_stable_across_key_order_and_copies():
    reordered = {key: REQUEST[key] for key in reversed(list(REQUEST))}
    key = request_key(REQUEST)
    assert key == request_key(copy.deepcopy(REQUEST)) == request_key(reordered)
    assert len(key) == 64 and int(key, 16) >= 0  # a hex digest
    params = {"temperature": 0, "response_format": {"type": "json_object"}}
    shuffled = {"response_format": {"type": "json_object"}, "temperature": 0}
    assert request_key({**REQUEST, "params": params}) == request_key(
        {**REQUEST, "params": shuffled})


@pytest.mark.parametrize("field, value", [
    ("model", "openai/gpt-4o"),
    ("messages", [*MESSAGES[:-1], {"role": "user", "content": "How long to return a grinder?"}]),
    ("messages", MESSAGES[1:]),
    ("tools", []),
    ("params", {"temperature": 0.7}),
    ("params", {"temperature": 0, "max_tokens": 50}),
    ("sample", 1),
    ("api_base", "http://127.0.0.1:9/v1"),
])
def test_request_key_changes_with_every_part_of_the_request(field, value):
    assert request_key({**REQUEST, field: value}) != request_key(REQUEST)


def test_request_key_tells_samples_apart():
    keys = {request_key({**REQUEST, "sample": sample}) for sample in (1, 2, 3)}
    assert len(keys | {request_key(REQUEST)}) == 4


# -- ResponseCache on disk ---------------------------------------------------------------------


def test_get_put_round_trip_and_miss(tmp_path: Path):
    cache = ResponseCache(tmp_path / "c")
    reply = {"content": "Thirty days. ☕", "tool_calls": [["escalate_to_human", "{}"]],
             "model": MODEL, "prompt_tokens": 11, "completion_tokens": 7, "cost": 0.00012}
    assert cache.get("k1") is None
    cache.put("k1", MODEL, reply)
    assert cache.get("k1") == reply
    assert cache.get("k2") is None
    assert len(cache) == 1
    cache.put("k1", MODEL, {**reply, "content": "Newer"})  # a rewrite replaces, never duplicates
    assert cache.get("k1")["content"] == "Newer"
    assert len(cache) == 1
    cache.close()


def test_cache_survives_reopening(tmp_path: Path):
    first = ResponseCache.for_store(tmp_path)
    first.put("key", MODEL, {"content": "kept"})
    first.close()
    again = ResponseCache.for_store(tmp_path)
    assert again.get("key") == {"content": "kept"}
    assert len(again) == 1
    assert again.path.parent == tmp_path / ".harness-cache"
    again.close()


def test_two_connections_on_one_folder_see_each_others_writes(tmp_path: Path):
    folder = tmp_path / ".harness-cache"
    a, b = ResponseCache(folder), ResponseCache(folder)
    for n in range(20):  # interleaved writes, each visible to the other connection at once
        writer, reader = (a, b) if n % 2 == 0 else (b, a)
        writer.put(f"k{n}", MODEL, {"n": n})
        assert reader.get(f"k{n}") == {"n": n}
    a.put("k0", MODEL, {"n": "rewritten"})
    assert b.get("k0") == {"n": "rewritten"}
    assert len(a) == len(b) == 20
    a.close()
    b.close()
    reopened = ResponseCache(folder)
    assert [reopened.get(f"k{n}") for n in (0, 1, 19)] == [{"n": "rewritten"}, {"n": 1}, {"n": 19}]
    reopened.close()


def test_cache_folder_ignores_itself_in_git(tmp_path: Path):
    cache = ResponseCache.for_store(tmp_path)
    ignore = tmp_path / ".harness-cache" / ".gitignore"
    lines = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
    assert "*" in lines
    cache.close()
    ignore.write_text("*\n# kept by the user\n", encoding="utf-8")
    ResponseCache.for_store(tmp_path).close()  # an existing .gitignore is left alone
    assert ignore.read_text(encoding="utf-8") == "*\n# kept by the user\n"


# -- ModelClient and the cache -----------------------------------------------------------------


def test_no_api_key_or_authorization_header_is_stored(tmp_path: Path, provider: FakeOpenAI):
    provider.push(text("You have 30 days to return it."))
    cache = ResponseCache.for_store(tmp_path)
    done = complete(client_for(provider, cache, "on"))
    assert done.content == "You have 30 days to return it."
    assert provider.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # the key was used
    assert len(cache) == 1
    cache.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".harness-cache").iterdir()
                      if p.is_file())
    assert b"30 days to return it" in stored  # the reply is on disk ...
    assert SECRET.encode() not in stored  # ... the key is not, nor any part of the header
    assert b"0123456789abcdef" not in stored
    assert b"Bearer" not in stored
    assert b"uthorization" not in stored


def test_replay_miss_is_a_model_error_without_any_request(tmp_path: Path, provider: FakeOpenAI):
    provider.push(text("never sent"))
    cache = ResponseCache.for_store(tmp_path)
    client = client_for(provider, cache, "replay")
    with pytest.raises(ModelError, match="replay"):
        complete(client)
    assert provider.calls == 0
    assert client.stats.requests == 0
    assert len(cache) == 0


def test_replay_hit_answers_from_disk(tmp_path: Path, provider: FakeOpenAI):
    provider.push(text("Thirty days."))
    complete(client_for(provider, ResponseCache.for_store(tmp_path), "on"))
    replayed = client_for(provider, ResponseCache.for_store(tmp_path), "replay")
    done = complete(replayed)
    assert (done.content, done.cached) == ("Thirty days.", True)
    assert provider.calls == 1
    assert (replayed.stats.requests, replayed.stats.cache_hits) == (0, 1)


def test_second_identical_call_is_a_free_cache_hit(tmp_path: Path, provider: FakeOpenAI):
    provider.push(text("Thirty days from delivery."))
    client = client_for(provider, ResponseCache.for_store(tmp_path), "on")
    first = complete(client)
    second = complete(client)
    assert provider.calls == 1
    assert (client.stats.requests, client.stats.cache_hits) == (1, 1)
    assert first.cached is False
    assert second.cached is True
    assert second.cost == 0.0
    assert second.content == first.content == "Thirty days from delivery."
    assert (second.prompt_tokens, second.completion_tokens) == (11, 7)


def test_a_different_request_or_sample_is_a_miss(tmp_path: Path, provider: FakeOpenAI):
    provider.respond = lambda request: text("an answer")
    client = client_for(provider, ResponseCache.for_store(tmp_path), "on")
    complete(client, temperature=0)
    complete(client, temperature=0, sample=1)
    complete(client, temperature=0.5)
    complete(client, messages=MESSAGES[1:], temperature=0)
    assert provider.calls == 4
    complete(client, temperature=0, sample=1)
    assert provider.calls == 4
    assert client.stats.cache_hits == 1
    assert len(client.cache) == 4


def test_cache_off_calls_every_time_and_writes_nothing(tmp_path: Path, provider: FakeOpenAI):
    provider.respond = lambda request: text("an answer")
    cache = ResponseCache.for_store(tmp_path)
    client = client_for(provider, cache, "off")
    complete(client)
    complete(client)
    assert provider.calls == 2
    assert client.stats.cache_hits == 0
    assert len(cache) == 0


@pytest.mark.parametrize("mode", ["on", "replay"])
def test_reference_model_calls_are_never_cached(tmp_path: Path, mode: str):
    cache = ResponseCache.for_store(tmp_path)
    client = ModelClient(cache=cache, mode=mode, policy=FAST)
    first = complete(client, model="reference/kb-grounded")
    second = complete(client, model="reference/kb-grounded")
    assert first.cached is second.cached is False
    assert client.stats.cache_hits == 0
    assert len(cache) == 0


def _open_and_write(folder: str, index: int) -> None:
    cache = ResponseCache(Path(folder))
    cache.put(f"key-{index}", "openai/gpt-4o-mini", {"content": str(index)})


def test_processes_opening_a_new_cache_at_once_all_succeed(tmp_path):
    """Workers (xdist, promptfoo, forked runners) race on a fresh cache's switch to WAL."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for round_ in range(8):
        folder = tmp_path / f"round-{round_}"
        workers = [context.Process(target=_open_and_write, args=(str(folder), i))
                   for i in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
        assert len(ResponseCache(folder)) == 4
