"""An OpenAI-compatible chat server for benchmarks: fixed latency, canned reply, 127.0.0.1 only.

    python bench/server.py --port 8765 --latency 0.1

It runs in its own process (aiohttp, one event loop) so that its CPU is not the harness's.
GET /stats returns the request count; POST /reset zeroes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web

REPLY = ("You can return unused items within 30 days of delivery for a full refund."
         "\n\n- The Kettle & Crema team")


def make_app(latency: float) -> web.Application:
    state = {"requests": 0}

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        state["requests"] += 1
        if latency:
            await asyncio.sleep(latency)
        return web.json_response({
            "id": f"chatcmpl-{state['requests']}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", "bench"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": REPLY}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 20, "total_tokens": 140},
        })

    async def stats(_: web.Request) -> web.Response:
        return web.Response(text=json.dumps(state), content_type="application/json")

    async def reset(_: web.Request) -> web.Response:
        state["requests"] = 0
        return web.Response(text="{}", content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    web.run_app(make_app(args.latency), host="127.0.0.1", port=args.port, print=None,
                backlog=1024)


if __name__ == "__main__":
    main()
