"""Run llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (executed by `.venv-llm`'s Python).

    .venv-llm/bin/python tests/realmodel/serve.py --model FILE.gguf --port 8765 [--chat-format NAME]

It is `python -m llama_cpp.server` with these differences:

* OpenAI's `response_format` type "json_schema" is accepted (as llama-cpp-python's
  `json_object` + `schema`), and so is an assistant turn with `"content": null` (one that only
  called tools); the stock server answers both with HTTP 500.
* A streamed reply is not cut short when another request arrives (the stock server's
  `interrupt_requests` is on by default and leaves the client a broken stream); --interrupt
  turns it back on.
* It binds 127.0.0.1 only, and shuts down within a few seconds of SIGTERM/SIGINT even while a
  request is generating (uvicorn would otherwise wait for it).
* It registers the chat format `chatml-tools` (the default here): llama-cpp-python's
  `chatml-function-calling` (same prompt, same grammars) with its gaps closed, so that an
  OpenAI-style client gets OpenAI semantics (NOTES.md says what the stock format does):
    - `tools` without `tool_choice` means `tool_choice="auto"` (the stock format ignores the
      tools unless tool_choice is sent, and litellm sends none by itself);
    - under `auto`, when the model decides to answer in words, the stock format returns an empty
      message; here the words are generated again as a plain turn, honouring `max_tokens`;
    - tool arguments and the number of calls are bounded (the stock format generates them with
      no token limit: a runaway JSON string fills the context, minutes on 2 cores), and a call
      cut short by the budget reports finish_reason "length";
    - a request without max_tokens gets --default-max-tokens (512), not "until the context is
      full";
    - `seed` is honoured (the stock format drops it); `tool_choice="required"` with one tool
      forces that tool (the stock format answers HTTP 500), with several it acts as `auto`.

Only the standard library, llama_cpp and uvicorn are used: this file runs inside .venv-llm, not
inside the project's own venv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading


class _Bounded:
    """Stands in for the Llama inside the stock handler and bounds what it generates.

    The stock `chatml-function-calling` generates tool arguments with max_tokens=None (a JSON
    string may then run on to the end of the context: minutes on 2 cores) and keeps adding tool
    calls for as long as the model asks. Here the arguments share the request's token budget,
    at most `max_calls` calls are made, and the discarded text of its "message" branch costs one
    token instead of about ten."""

    def __init__(self, llama, budget: int, max_calls: int) -> None:
        self._llama = llama
        self.budget = budget
        self.max_calls = max_calls
        self.calls = 0
        self.truncated = False

    def __getattr__(self, name: str):
        return getattr(self._llama, name)

    def create_completion(self, prompt, **kwargs):
        last_line = prompt.rstrip("\n").rsplit("\n", 1)[-1] if isinstance(prompt, str) else ""
        if isinstance(prompt, str) and prompt.endswith("message:\n"):
            kwargs["max_tokens"] = 1  # the stock "message" branch: its text is thrown away
            return self._llama.create_completion(prompt, **kwargs)
        if (
            isinstance(prompt, str)
            and prompt.endswith(":\n")
            and last_line.startswith("functions.")
        ):
            self.calls += 1  # the arguments of one tool call
            kwargs["max_tokens"] = max(1, self.budget)
            done = self._llama.create_completion(prompt, **kwargs)
            self.budget -= done["usage"]["completion_tokens"]
            if done["choices"][0]["finish_reason"] == "length":
                self.truncated = True
            return done
        if kwargs.get("stop") == [":"]:
            return self._llama.create_completion(prompt, **kwargs)  # the first choice: short
        # the choice between one more call and the end of the turn
        more = self.calls < self.max_calls and self.budget > 0
        kwargs["max_tokens"] = 48 if more else 1
        return self._llama.create_completion(prompt, **kwargs)


def register_chatml_tools(default_max_tokens: int = 512, max_tool_calls: int = 4) -> None:
    import llama_cpp.llama_chat_format as fmt

    stock = fmt.get_chat_completion_handler("chatml-function-calling")

    @fmt.register_chat_completion_handler("chatml-tools")
    def chatml_tools(
        *,
        llama,
        messages,
        tools=None,
        tool_choice=None,
        functions=None,
        function_call=None,
        max_tokens=None,
        seed=None,
        stream=False,
        **kwargs,
    ):
        if seed is not None:
            # create_completion derives each sampling seed from the Llama's seed when the request
            # has none, which is what the stock handler passes: setting it makes `seed` count.
            llama.set_seed(int(seed) & 0xFFFFFFFF)
        if max_tokens is None or max_tokens <= 0:
            max_tokens = default_max_tokens
        if functions and not tools:
            tools = [{"type": "function", "function": f} for f in functions]
            if function_call is not None and tool_choice is None:
                tool_choice = (
                    function_call
                    if isinstance(function_call, str)
                    else {"type": "function", "function": {"name": function_call["name"]}}
                )
        common = dict(messages=messages, stream=stream, **kwargs)

        def plain():
            return stock(llama=llama, tools=None, tool_choice=None, max_tokens=max_tokens, **common)

        if not tools or tool_choice == "none":
            return plain()
        if tool_choice is None:
            tool_choice = "auto"
        if tool_choice == "required":
            tool_choice = (
                {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
                if len(tools) == 1
                else "auto"
            )
        if stream:
            # The stock handler cannot stream an automatic tool choice: a streamed request with
            # tools gets a plain streamed answer (a forced tool still streams as a tool call).
            if isinstance(tool_choice, dict):
                return stock(
                    llama=llama,
                    tools=tools,
                    tool_choice=tool_choice,
                    max_tokens=max_tokens,
                    **common,
                )
            return plain()
        bounded = _Bounded(llama, max_tokens, max_tool_calls)
        result = stock(
            llama=bounded, tools=tools, tool_choice=tool_choice, max_tokens=max_tokens, **common
        )
        choice = result["choices"][0]
        if choice["message"].get("tool_calls") or choice["message"].get("function_call"):
            if bounded.truncated:
                choice["finish_reason"] = "length"
            return result
        # The model chose to answer in words: the stock handler's text is constrained to nothing
        # (it comes back empty), so generate the answer again as a plain chat turn.
        return plain()


def _openai_to_llama_cpp(data: dict) -> bool:
    """Rewrite, in place, the parts of an OpenAI request body that the stock server's request
    model refuses with HTTP 500; True when something changed."""
    changed = False
    rf = data.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        # {"type": "json_schema", "json_schema": {"schema": S}}
        #   -> {"type": "json_object", "schema": S}
        schema = (rf.get("json_schema") or {}).get("schema")
        data["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
        changed = True
    for message in data.get("messages") or []:
        # OpenAI sends `"content": null` on an assistant turn that only calls tools
        if (
            isinstance(message, dict)
            and message.get("role") == "assistant"
            and message.get("content") is None
        ):
            message["content"] = ""
            changed = True
    return changed


def openai_json_schema(app):
    """ASGI wrapper: the server takes two OpenAI shapes it refuses (_openai_to_llama_cpp)."""

    async def wrapped(scope, receive, send):
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not scope.get("path", "").endswith("/chat/completions")
        ):
            return await app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before its body arrived
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            data = json.loads(body)
            if isinstance(data, dict) and _openai_to_llama_cpp(data):
                body = json.dumps(data).encode()
        except ValueError:
            pass  # let the server report the bad JSON
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # afterwards: the client's disconnect, if it comes

        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return await app({**scope, "headers": headers}, replay, send)

    return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the GGUF file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default="smollm2", help="the model name clients send")
    parser.add_argument(
        "--chat-format",
        default="chatml-tools",
        help="chatml-tools (default), chatml-function-calling, chatml, functionary,"
        " or none (the GGUF's own template)",
    )
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument(
        "--n-threads",
        type=int,
        default=1,
        help="threads while generating (1 was ~3.5x faster than 2 here: NOTES.md)",
    )
    parser.add_argument(
        "--n-threads-batch", type=int, default=2, help="threads while reading the prompt"
    )
    parser.add_argument("--n-batch", type=int, default=512)
    parser.add_argument(
        "--seed", type=int, default=None, help="the server's seed (default: llama.cpp's)"
    )
    parser.add_argument(
        "--logits-all",
        action="store_true",
        help="keep logits of every prompt token (needed only for logprobs; slower)",
    )
    parser.add_argument(
        "--interrupt",
        action="store_true",
        help="cut a streamed reply short when another request is waiting (the"
        " stock server's default; the client sees a broken stream)",
    )
    parser.add_argument(
        "--default-max-tokens",
        type=int,
        default=512,
        help="chatml-tools: the reply budget of a request that sets no max_tokens",
    )
    parser.add_argument(
        "--max-tool-calls",
        type=int,
        default=4,
        help="chatml-tools: at most this many tool calls in one reply",
    )
    parser.add_argument("--quiet", action="store_true", help="no llama.cpp timings in the log")
    parser.add_argument("--extra", default="{}", help="JSON of further ModelSettings fields")
    args = parser.parse_args(argv)

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    register_chatml_tools(args.default_max_tokens, args.max_tool_calls)
    model = dict(
        model=args.model,
        model_alias=args.alias,
        chat_format=None if args.chat_format == "none" else args.chat_format,
        n_ctx=args.n_ctx,
        n_batch=args.n_batch,
        n_ubatch=args.n_batch,
        n_threads=args.n_threads,
        n_threads_batch=args.n_threads_batch,
        logits_all=args.logits_all,
        verbose=not args.quiet,
    )
    if args.seed is not None:
        model["seed"] = args.seed
    model.update(json.loads(args.extra))
    server = ServerSettings(host="127.0.0.1", port=args.port, interrupt_requests=args.interrupt)
    app = create_app(server_settings=server, model_settings=[ModelSettings(**model)])

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):  # type: ignore[no-untyped-def]
            # uvicorn stops accepting at once, then waits for requests in flight; one that is
            # generating holds a worker thread that llama.cpp does not give back early, so
            # leave 5 s for the graceful stop, then exit regardless.
            timer = threading.Timer(5.0, os._exit, args=(0,))
            timer.daemon = True
            timer.start()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        openai_json_schema(app),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    userver = Server(config)
    print(
        f"serving {args.alias} ({args.chat_format}) on http://127.0.0.1:{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    userver.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
