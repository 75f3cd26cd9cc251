"""Measure the real-model server's behaviour: the numbers in NOTES.md come from this script.

    .venv/bin/python tests/realmodel/measure.py [SECTION ...] [--chat-format F] [--threads N]

Sections: start speed support queue disconnect interrupt sampling json tools formats litellm
(default: all). It starts its own servers on 127.0.0.1 and stops them; each section prints what
it measured, with the machine's load (other processes' CPU use skews every timing here: the
share of the 2 cores that the server did NOT use while a section ran is printed as `others`).
Needs httpx (in the project's venv); the `litellm` section needs litellm.
"""

# ruff: noqa: E501, SIM105, SIM115, RUF059  (a measuring script: long report lines)
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from realmodel.server import ROOT, LlamaServer, start_server

ARTICLES = ["missing-package", "damaged-items", "returns-policy", "shipping-times", "warranty"]
HEADER = """You are the customer support assistant for Kettle & Crema, an online shop for coffee gear and
freshly roasted beans. Your voice is warm, plain-spoken and concise.

Answer the customer's last message using only the knowledge base articles and product records
below. If they do not cover the question, call the `escalate_to_human` tool instead of guessing.
Never invent products, prices or policy figures.

Keep replies under 120 words.
Never use these phrases: as an AI; per our policy; unfortunately we cannot; valued customer.
Do not use emoji.
End every reply with "- The Kettle & Crema team".

# Knowledge base
"""
ESCALATE = {
    "type": "function",
    "function": {
        "name": "escalate_to_human",
        "description": "Hand the conversation to a human support agent. Call it when the knowledge"
        " base does not answer the question, or the topic needs a person.",
        "parameters": {
            "type": "object",
            "properties": {
                "topic": {
                    "type": "string",
                    "enum": ["payment-dispute", "fraud", "product-safety", "other"],
                },
                "reason": {"type": "string", "description": "One sentence: why a person."},
            },
            "required": ["topic", "reason"],
        },
    },
}
ORDER = {
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
PRICE = {
    "type": "function",
    "function": {
        "name": "get_product_price",
        "description": "Look up the current price of a product by name.",
        "parameters": {
            "type": "object",
            "properties": {"product": {"type": "string"}},
            "required": ["product"],
        },
    },
}
PERF = re.compile(
    r"llama_perf_context_print: (prompt eval|       eval) time =\s+([\d.]+) ms /\s+(\d+)"
)


def system_prompt(n_articles: int, nonce: str = "") -> str:
    parts = [nonce + HEADER] if nonce else [HEADER]
    for name in ARTICLES[:n_articles]:
        path = ROOT / "knowledge" / "articles" / f"{name}.md"
        if not path.exists():
            continue
        text = path.read_text()
        body = text.split("---", 2)[-1].strip() if text.startswith("---") else text
        parts.append(f'<article id="{name}">\n{body}\n</article>\n')
    return "\n".join(parts)


class CpuMeter:
    """Share of the machine's CPU used by processes other than the server, over an interval."""

    def __init__(self, server: LlamaServer) -> None:
        self.pid = server.process.pid

    @staticmethod
    def _total() -> tuple[float, float]:
        fields = [float(x) for x in open("/proc/stat").readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    def _server(self) -> float:
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return float(fields[11]) + float(fields[12])

    def __enter__(self) -> CpuMeter:
        self.t0, self.i0 = self._total()
        self.s0 = self._server()
        return self

    def __exit__(self, *exc: object) -> None:
        t1, i1 = self._total()
        s1 = self._server()
        total = t1 - self.t0
        busy = total - (i1 - self.i0)
        self.others = max(0.0, (busy - (s1 - self.s0)) / total) if total else 0.0
        self.server = (s1 - self.s0) / total if total else 0.0
        self.cpu_s = (s1 - self.s0) / os.sysconf("SC_CLK_TCK")  # the server's CPU seconds

    def __str__(self) -> str:
        return f"[server {self.server:.0%} of 2 cores, others {self.others:.0%}]"


class Client:
    def __init__(self, server: LlamaServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.api_base, timeout=600)
        self._log_pos = server.log_path.stat().st_size

    def chat(self, messages: list[dict], **body: object) -> tuple[dict, float]:
        started = time.perf_counter()
        r = self.http.post(
            "/chat/completions", json={"model": "smollm2", "messages": messages, **body}
        )
        elapsed = time.perf_counter() - started
        if r.status_code != 200:
            return {"status": r.status_code, "error": r.text[:300]}, elapsed
        return r.json(), elapsed

    def perf(self) -> list[tuple[str, float, int]]:
        """llama.cpp's timings printed since the last call: (kind, ms, tokens)."""
        with open(self.server.log_path, "rb") as f:
            f.seek(self._log_pos)
            text = f.read().decode(errors="replace")
            self._log_pos = f.tell()
        return [(k.strip(), float(ms), int(n)) for k, ms, n in PERF.findall(text)]


def msg(choice: dict) -> str:
    m = choice["message"]
    if m.get("tool_calls"):
        return "TOOL " + "; ".join(
            f"{c['function']['name']}({c['function']['arguments'][:60]})" for c in m["tool_calls"]
        )
    return repr((m.get("content") or "")[:70])


def one(reply: dict) -> dict:
    return (
        reply["choices"][0]
        if "choices" in reply
        else {"message": {"content": str(reply)}, "finish_reason": "error"}
    )


def serve(args: argparse.Namespace, **kw: object) -> LlamaServer:
    log = Path(args.logdir) / f"server-{uuid.uuid4().hex[:6]}.log"
    extra = [*kw.pop("extra_args", ()), *(["--logits-all"] if args.logits_all else [])]
    return start_server(
        chat_format=kw.pop("chat_format", args.chat_format),  # type: ignore[arg-type]
        n_threads=kw.pop("n_threads", args.threads),  # type: ignore[arg-type]
        n_threads_batch=kw.pop("n_threads_batch", args.threads_batch),  # type: ignore[arg-type]
        log_path=log,
        extra_args=extra,
        **kw,
    )  # type: ignore[arg-type]


# --- sections -------------------------------------------------------------------------------


def s_start(args: argparse.Namespace) -> None:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        server = serve(args)
        times.append(server.started_in_s)
        t_stop = time.perf_counter()
        server.stop()
        print(
            f"  start {server.started_in_s:.2f} s (Popen -> /v1/models answers), "
            f"stop {time.perf_counter() - t_stop:.2f} s, total {time.perf_counter() - t:.2f} s"
        )
    print(f"  median start {statistics.median(times):.2f} s")


def s_speed(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    user = [{"role": "user", "content": "Summarise the articles above in one line."}]
    for n_articles in (2, 5):
        for _ in range(2):
            sys_msg = {"role": "system", "content": system_prompt(n_articles, uuid.uuid4().hex)}
            with CpuMeter(server) as cpu:
                reply, dt = c.chat([sys_msg, *user], max_tokens=1, temperature=0)
            perf = [p for p in c.perf() if p[0] == "prompt eval"]
            ms, n = perf[-1][1], perf[-1][2]
            print(
                f"  prompt eval {n:5d} tokens in {ms / 1000:.2f} s = {n / ms * 1000:6.0f} tok/s"
                f" ({n / max(cpu.cpu_s, 1e-9):.0f}/CPU-s)  (request wall {dt:.2f} s) {cpu}"
            )
    for n_gen in (64, 256):
        with CpuMeter(server) as cpu:
            reply, dt = c.chat(
                [{"role": "user", "content": "Tell me a long story about a kettle."}],
                max_tokens=n_gen,
                min_tokens=n_gen,
                temperature=0.8,
            )
        ev = [p for p in c.perf() if p[0] == "eval"]
        ms, n = ev[-1][1], ev[-1][2]
        print(
            f"  generation {n:4d} tokens in {ms / 1000:.2f} s = {n / ms * 1000:5.1f} tok/s"
            f" ({n / max(cpu.cpu_s, 1e-9):.0f}/CPU-s)  (request wall {dt:.2f} s, usage {reply['usage']['completion_tokens']}) {cpu}"
        )


QUESTIONS = [
    "My package says delivered but it is not here. What should I do?",
    "My grinder arrived with a cracked hopper. Can you help?",
    "How long do I have to return an unopened kettle?",
    "When will my order arrive if I ship standard?",
]


def s_support(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    for tools, label in ((None, "no tools"), ([ESCALATE], "escalate tool, auto")):
        sysmsg = {"role": "system", "content": system_prompt(3, uuid.uuid4().hex[:8])}
        for i, q in enumerate(QUESTIONS):
            body: dict = {"max_tokens": 120, "temperature": 0}
            if tools:
                body["tools"] = tools
            with CpuMeter(server) as cpu:
                reply, dt = c.chat([sysmsg, {"role": "user", "content": q}], **body)
            ch = one(reply)
            u = reply.get("usage", {})
            perf = c.perf()
            pe = sum(n for k, _, n in perf if k == "prompt eval")
            print(
                f"  {label:20s} {'cold' if i == 0 else 'warm'}: {dt:5.2f} s, prompt {u.get('prompt_tokens')}"
                f" (evaluated {pe}), completion {u.get('completion_tokens')},"
                f" finish {ch['finish_reason']}: {msg(ch)[:60]} {cpu}"
            )


def s_queue(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    body = {"max_tokens": 60, "min_tokens": 60, "temperature": 0.8}
    ask = [{"role": "user", "content": "Write a short poem about coffee."}]
    _, single = c.chat(ask, **body)
    print(f"  one request alone: {single:.2f} s")
    results: list[tuple[int, float, float]] = []
    t0 = time.perf_counter()

    def worker(i: int) -> None:
        with httpx.Client(base_url=server.api_base, timeout=600) as h:
            s = time.perf_counter()
            h.post("/chat/completions", json={"model": "smollm2", "messages": ask, **body})
            results.append((i, s - t0, time.perf_counter() - t0))

    with CpuMeter(server) as cpu:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for i, t in enumerate(threads):
            t.start()
            time.sleep(0.05 * (i < 3))
        for t in threads:
            t.join()
    for i, s, e in sorted(results, key=lambda r: r[2]):
        print(f"  request {i} sent at {s:.2f} s, done at {e:.2f} s (latency {e - s:.2f} s)")
    print(f"  4 at once: last done after {max(r[2] for r in results):.2f} s {cpu}")


def s_disconnect(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    long = [{"role": "user", "content": "Tell me a very long story about a coffee grinder."}]
    short = [{"role": "user", "content": "Say hi."}]
    body = {"max_tokens": 300, "min_tokens": 300, "temperature": 0.8}
    _, alone = c.chat(long, **body)
    c.perf()
    _, short_alone = c.chat(short, max_tokens=5, temperature=0)
    c.perf()
    print(f"  300-token reply alone: {alone:.2f} s; a 5-token reply alone: {short_alone:.2f} s")
    # non-streamed: the client gives up after 1 s
    try:
        httpx.post(
            server.api_base + "/chat/completions",
            timeout=1.0,
            json={"model": "smollm2", "messages": long, **body},
        )
    except httpx.TimeoutException:
        pass
    t = time.perf_counter()
    _, dt = c.chat(short, max_tokens=5, temperature=0)
    perf = c.perf()
    print(
        f"  non-streamed, client gone after 1 s: the next 5-token request took {dt:.2f} s"
        f" (from disconnect: {time.perf_counter() - t:.2f} s); generations logged since:"
        f" {[n for k, _, n in perf if k == 'eval']}"
    )
    # streamed: read 5 chunks, then close
    with (
        httpx.Client(timeout=60) as h,
        h.stream(
            "POST",
            server.api_base + "/chat/completions",
            json={"model": "smollm2", "messages": long, "stream": True, **body},
        ) as r,
    ):
        for i, _line in enumerate(r.iter_lines()):
            if i >= 10:
                break
    t = time.perf_counter()
    _, dt = c.chat(short, max_tokens=5, temperature=0)
    perf = c.perf()
    time.sleep(0.5)
    print(
        f"  streamed, client closed after 5 chunks: next 5-token request took {dt:.2f} s;"
        f" generations logged since: {[n for k, _, n in perf if k == 'eval']}; server log says"
        f" 'Disconnected': {'Disconnected from client' in server.log_path.read_text(errors='replace')}"
    )


def s_interrupt(args: argparse.Namespace, server: LlamaServer) -> None:
    long = [{"role": "user", "content": "Tell me a very long story about a coffee grinder."}]
    body = {"max_tokens": 300, "min_tokens": 300, "temperature": 0.8, "stream": True}
    chunks: list[dict] = []

    ended = []

    def streamer() -> None:
        try:
            with (
                httpx.Client(timeout=120) as h,
                h.stream(
                    "POST",
                    server.api_base + "/chat/completions",
                    json={"model": "smollm2", "messages": long, **body},
                ) as r,
            ):
                for line in r.iter_lines():
                    if line.startswith("data: ") and line[6:].strip() != "[DONE]":
                        chunks.append(json.loads(line[6:]))
                    elif line.startswith("data: "):
                        ended.append("[DONE]")
            ended.append("closed cleanly")
        except httpx.HTTPError as e:
            ended.append(f"{type(e).__name__}: {e}"[:90])

    t = threading.Thread(target=streamer)
    t.start()
    time.sleep(1.5)
    before = len(chunks)
    started = time.perf_counter()
    r = httpx.post(
        server.api_base + "/chat/completions",
        timeout=120,
        json={
            "model": "smollm2",
            "messages": [{"role": "user", "content": "Say hi."}],
            "max_tokens": 5,
        },
    )
    dt = time.perf_counter() - started
    t.join()
    finish = [
        ch["choices"][0].get("finish_reason")
        for ch in chunks
        if ch["choices"][0].get("finish_reason")
    ]
    print(
        f"  stream had {before} chunks when a second request came; it ended with {len(chunks)}"
        f" chunks (of 300 asked), finish_reason seen: {finish or None}, end: {ended}; the second request"
        f" took {dt:.2f} s (HTTP {r.status_code}) [serve.py {' '.join(args.extra) or '(no --interrupt)'}]"
    )


def s_sampling(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    ask = [{"role": "user", "content": "Give me a one-sentence tip for brewing coffee."}]

    def texts(n: int, **body: object) -> list[str]:
        return [
            (one(c.chat(ask, max_tokens=30, **body)[0])["message"]["content"] or "")[:50]
            for _ in range(n)
        ]

    for label, body in (
        ("temperature 0", {"temperature": 0}),
        ("temperature 0.8, no seed", {"temperature": 0.8}),
        ("temperature 0.8, seed 42", {"temperature": 0.8, "seed": 42}),
        ("temperature 0.8, seed 7", {"temperature": 0.8, "seed": 7}),
        ("no temperature (server default)", {}),
    ):
        out = texts(3, **body)
        print(f"  {label:34s} distinct {len(set(out))}/3: {out[0]!r}")
    for n in (1, 5):
        ch = one(c.chat(ask, max_tokens=n, temperature=0)[0])
        print(f"  max_tokens={n}: finish_reason {ch['finish_reason']!r}, {msg(ch)}")
    reply, dt = c.chat(
        [{"role": "user", "content": "Tell me a very long story."}],
        temperature=0.8,
        min_tokens=2000,
    )
    print(
        f"  no max_tokens (min_tokens=2000 to keep it going): {reply.get('usage')} in {dt:.1f} s,"
        f" finish {one(reply)['finish_reason']}"
    )


def s_json(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    judge = [
        {
            "role": "system",
            "content": "You grade a support reply. Answer with a JSON object:"
            ' {"verdict": "pass" or "fail", "reason": "<one sentence>"}.',
        },
        {
            "role": "user",
            "content": "Customer: where is my order?\nReply: It shipped"
            " yesterday and arrives Friday.\nGrade it.",
        },
    ]
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["pass", "fail"]},
            "reason": {"type": "string"},
        },
        "required": ["verdict", "reason"],
    }
    cases = [
        ("no response_format", {}),
        ("json_object", {"response_format": {"type": "json_object"}}),
        (
            "json_object + schema (llama-cpp ext.)",
            {"response_format": {"type": "json_object", "schema": schema}},
        ),
        (
            "json_schema (OpenAI)",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "grade", "schema": schema},
                }
            },
        ),
    ]
    for label, body in cases:
        for temp in (0, 0.8):
            reply, dt = c.chat(judge, max_tokens=80, temperature=temp, **body)
            if "choices" not in reply:
                print(f"  {label:38s} t={temp}: HTTP {reply['status']} {reply['error'][:100]}")
                continue
            content = one(reply)["message"]["content"] or ""
            try:
                parsed: object = json.loads(content)
                ok = "valid JSON" + (
                    ", has verdict" if isinstance(parsed, dict) and "verdict" in parsed else ""
                )
            except ValueError:
                ok = "NOT JSON"
            print(f"  {label:38s} t={temp}: {ok:22s} {content[:70]!r} ({dt:.2f} s)")


def s_tools(args: argparse.Namespace, server: LlamaServer) -> None:
    c = Client(server)
    sysmsg = {
        "role": "system",
        "content": "You are the support assistant of an online coffee shop."
        " Use the tools when they help.",
    }
    cases = [
        ("order question", "Can you check the status of order A1234?", [ORDER]),
        ("greeting", "Hi! How are you today?", [ORDER]),
        ("thanks", "Thanks, that's all.", [ORDER]),
        ("chargeback", "I want to speak to a human about a chargeback on my card.", [ESCALATE]),
        ("ask for a person", "Let me talk to a real person.", [ESCALATE]),
        (
            "two things",
            "Check order A1234 and also tell me the price of the Aurora grinder.",
            [ORDER, PRICE],
        ),
        ("two orders", "Check orders A1234 and B5678.", [ORDER, PRICE]),
    ]
    for temp in (0, 0.8):
        for label, q, tools in cases:
            kinds: dict[str, int] = {}
            sample = ""
            n = 5
            for _ in range(n):
                reply, _dt = c.chat(
                    [sysmsg, {"role": "user", "content": q}],
                    tools=tools,
                    max_tokens=120,
                    temperature=temp,
                )
                ch = one(reply)
                calls = ch["message"].get("tool_calls") or []
                key = (
                    ("calls:" + ",".join(x["function"]["name"] for x in calls)) if calls else "text"
                )
                for x in calls:
                    try:
                        json.loads(x["function"]["arguments"])
                    except ValueError:
                        key += " (bad JSON)"
                kinds[key] = kinds.get(key, 0) + 1
                sample = sample or msg(ch)
            print(f"  t={temp} {label:16s} {kinds}  e.g. {sample[:80]}")


FORMAT_PROBES = [
    ("tools, no tool_choice", {"tools": [ORDER]}),
    ("tools, tool_choice=auto", {"tools": [ORDER], "tool_choice": "auto"}),
    ("tools, tool_choice=required", {"tools": [ORDER], "tool_choice": "required"}),
    ("tools, tool_choice=none", {"tools": [ORDER], "tool_choice": "none"}),
    (
        "tools, tool_choice=<function>",
        {
            "tools": [ORDER],
            "tool_choice": {"type": "function", "function": {"name": "get_order_status"}},
        },
    ),
]


def s_formats(args: argparse.Namespace) -> None:
    order = [{"role": "user", "content": "Can you check the status of order A1234?"}]
    hello = [{"role": "user", "content": "Hi! How are you today?"}]
    for fmt in ("chatml-tools", "chatml-function-calling", "chatml", "none", "functionary"):
        server = serve(args, chat_format=fmt)
        c = Client(server)
        print(f"  -- {fmt}")
        try:
            for label, body in FORMAT_PROBES:
                for q, qn in ((order, "order"), (hello, "hello")):
                    reply, dt = c.chat(q, max_tokens=60, temperature=0, **body)
                    if "choices" not in reply:
                        print(f"    {label:30s} {qn:5s}: HTTP {reply['status']}")
                        continue
                    ch = one(reply)
                    print(
                        f"    {label:30s} {qn:5s}: finish {ch['finish_reason']!s:10s} {msg(ch)[:70]}"
                    )
            for label, body in (
                ("max_tokens=3, no tools", {}),
                ("max_tokens=3, tools", {"tools": [ORDER]}),
                ("max_tokens=3, tools, auto", {"tools": [ORDER], "tool_choice": "auto"}),
            ):
                reply, _ = c.chat(hello, max_tokens=3, temperature=0, **body)
                ch = one(reply)
                print(f"    {label:30s}      : finish {ch['finish_reason']!s:10s} {msg(ch)[:70]}")
        finally:
            server.stop()


def s_litellm(args: argparse.Namespace, server: LlamaServer) -> None:
    import asyncio

    import litellm

    litellm.suppress_debug_info = True

    async def go() -> None:
        kw = dict(model="openai/smollm2", api_base=server.api_base, api_key="none", max_retries=0)
        t = time.perf_counter()
        r = await litellm.acompletion(
            messages=[{"role": "user", "content": "Say hello."}], max_tokens=20, temperature=0, **kw
        )
        print(
            f"  plain: {r.choices[0].finish_reason} {r.choices[0].message.content!r:.60}"
            f" usage {r.usage.prompt_tokens}/{r.usage.completion_tokens} ({time.perf_counter() - t:.2f} s)"
        )
        r = await litellm.acompletion(
            messages=[{"role": "user", "content": "Can you check the status of order A1234?"}],
            tools=[ORDER],
            max_tokens=60,
            temperature=0,
            **kw,
        )
        tc = r.choices[0].message.tool_calls
        print(
            f"  tools (no tool_choice): {r.choices[0].finish_reason} "
            f"{[(x.function.name, x.function.arguments) for x in tc or []]}"
        )
        r = await litellm.acompletion(
            messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=2, **kw
        )
        print(f"  max_tokens=2: {r.choices[0].finish_reason}")
        r = await litellm.acompletion(
            messages=[{"role": "user", "content": "Is the sky blue? Answer in JSON."}],
            response_format={"type": "json_object"},
            max_tokens=40,
            temperature=0,
            **kw,
        )
        print(f"  json_object: {r.choices[0].message.content!r}")
        from pydantic import BaseModel

        class Grade(BaseModel):
            verdict: str
            reason: str

        r = await litellm.acompletion(
            messages=[{"role": "user", "content": "Grade: 'It ships today.'"}],
            response_format=Grade,
            max_tokens=80,
            temperature=0,
            **kw,
        )
        print(f"  response_format=<pydantic class> (json_schema): {r.choices[0].message.content!r}")
        try:
            await litellm.acompletion(
                messages=[{"role": "user", "content": "hi"}],
                max_tokens=400,
                min_tokens=400,
                timeout=1,
                **kw,
            )
        except Exception as e:
            print(f"  timeout=1 s on a 400-token reply: {type(e).__name__}")

    asyncio.run(go())


def machine_busy(seconds: float = 3.0) -> float:
    """Share of the machine's CPU in use over `seconds` (the server idle meanwhile)."""

    def read() -> tuple[float, float]:
        f = [float(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]

    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return 1 - (i1 - i0) / (t1 - t0)


def wait_quiet(limit_s: float, threshold: float = 0.12) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        busy = machine_busy()
        if busy < threshold or time.monotonic() > deadline:
            print(
                f"  machine {busy:.0%} busy before this section"
                f"{'' if busy < threshold else ' (gave up waiting for a quiet machine)'}"
            )
            return
        time.sleep(5)


SECTIONS = [
    "start",
    "speed",
    "support",
    "queue",
    "disconnect",
    "interrupt",
    "sampling",
    "json",
    "tools",
    "formats",
    "litellm",
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sections", nargs="*", default=SECTIONS, help=" ".join(SECTIONS))
    p.add_argument("--chat-format", default="chatml-tools")
    p.add_argument("--threads", type=int, default=1, help="threads while generating")
    p.add_argument("--threads-batch", type=int, default=2, help="threads while reading the prompt")
    p.add_argument("--logits-all", action="store_true")
    p.add_argument("--extra", nargs="*", default=[], help="more serve.py arguments")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="wait up to this many seconds for other processes to go quiet first",
    )
    p.add_argument("--logdir", default="/tmp/realmodel-measure")
    args = p.parse_args()
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; known: {' '.join(SECTIONS)}")
    Path(args.logdir).mkdir(parents=True, exist_ok=True)
    print(
        f"load average {os.getloadavg()[0]:.2f}; chat format {args.chat_format}, threads {args.threads}"
    )
    server = None
    try:
        for name in args.sections:
            print(f"== {name}", flush=True)
            if args.wait_quiet:
                wait_quiet(args.wait_quiet)
            fn = globals()[f"s_{name}"]
            if name in ("start", "formats"):
                fn(args)
                continue
            if server is None or not server.alive():
                server = serve(args, extra_args=args.extra)
            fn(args, server)
            sys.stdout.flush()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
