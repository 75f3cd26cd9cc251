"""Fuzzing every loader (issue 15, item 9): whatever the bytes, only a clear error comes out.

Each loader gets random bytes, random text, and valid files of its format mutated with the
tokens hostile files use (aliases, tags, deep brackets, NUL, BOM, huge and infinite numbers,
stray front-matter fences). A loader may accept the input or raise a `HarnessError` subclass
(which names the file); any other exception is a bug. Bounded: a fixed number of examples,
no deadline, so it runs the same on a slow CI machine.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import AGENT, CATALOG, write_store

from harness.coach.calibrate import Labels
from harness.errors import HarnessError
from harness.interop.promptfoo_import import load_tests
from harness.store.conversations import BadLine, Conversation, parse_line
from harness.store.loading import (
    load_agent,
    load_article,
    load_case,
    load_catalog,
    load_store,
    load_yaml_file,
)

EXAMPLES = 120
_ROOT = Path(tempfile.mkdtemp(prefix="harness-fuzz-"))
_STORE = load_store(write_store(_ROOT / "store"))

TOKENS = ["&a ", "*a", "&a [*a]", "!!python/object:os.system ", "!!binary ", "[" * 80,
          "{" * 80, "\x00", "\ufeff", "1e400", ".nan", "-.inf", "~", "---\n", "\n---\n",
          "? ", ": ", "- ", "'", '"', "\\", "\t", "%YAML 1.1\n", "<<: *a\n", "9" * 400,
          "\udcff", "é", "\r\n", "#", "|", ">", "@", "`", "{{ 1 // 0 }}", "/(a|a)+$/"]

VALID = {
    "fixture": yaml.safe_dump({"topic": "returns", "conversation": [
        {"customer": "How many days do I have to return an item?"}],
        "expect": {"outcome": "resolve", "facts": ["30 days"], "articles": ["returns-policy"]}}),
    "article": "---\nid: returns-policy\ntitle: Returns\ntopic: returns\nstatus: active\n---\n"
               "You can return most items within 30 days.\n",
    "catalog": yaml.safe_dump(CATALOG),
    "agent": yaml.safe_dump(AGENT),
    "labels": "labels:\n  - {id: core/returns-window, accuracy: pass, tone: fail}\n",
    "promptfoo": yaml.safe_dump({"tests": [{"vars": {"question": "How long to return?"},
                                            "assert": [{"type": "contains", "value": "30"}]}]}),
    "export": json.dumps({"id": "c1", "started_at": "2026-01-05T10:00:00", "customer": "x",
                          "channel": "chat", "messages": [{"role": "customer", "text": "Hi"}]}),
}


@st.composite
def _mutated(draw: Any, valid: str) -> bytes:
    text = valid
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 12)))
        piece = draw(st.sampled_from(TOKENS) | st.text(max_size=8))
        text = text[:at] + piece + text[end:]
    return text.encode("utf-8", errors="replace")


HOSTILE_VALUES = ["&a [*a]", "&b {k: *b}", "!!python/object/apply:os.system [echo]", "1e400",
                  ".nan", "-.inf", "[" * 200 + "]" * 200, "{a: " * 100 + "1" + "}" * 100,
                  "!!binary AAAA", "!!set {a, b}", "!!timestamp 2026-13-45", "0x" + "f" * 64,
                  "[&x [1, 2, 3], *x, *x, *x]", "'" + "x" * 2000 + "'", "2026-02-30", "null",
                  "{{ 1 // 0 }}", "'/(a|a)+$/'", "[]", "{}", "''", "-1", "99999999999999999999"]
BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9 if i else ['x'] * 9)}]\n"
               for i in range(9))


@st.composite
def _hostile_value(draw: Any, valid: str) -> bytes:
    """A valid file with one of its values (or a new key) replaced by a hostile value."""
    lines = valid.splitlines()
    spots = [i for i, line in enumerate(lines) if ": " in line or line.lstrip().startswith("- ")]
    value = draw(st.sampled_from(HOSTILE_VALUES))
    if spots and draw(st.booleans()):
        at = draw(st.sampled_from(spots))
        head, sep, _ = lines[at].partition(": ")
        lines[at] = f"{head}{sep}{value}" if sep else f"{lines[at].split('- ')[0]}- {value}"
    elif draw(st.booleans()):
        lines.append(f"zz: {value}")
    else:
        lines.insert(draw(st.integers(0, len(lines))), BOMB.rstrip())
    return ("\n".join(lines) + "\n").encode("utf-8")


def _inputs(kind: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), st.text(max_size=300).map(
        lambda t: t.encode("utf-8", errors="replace")), _mutated(VALID[kind]),
        _hostile_value(VALID[kind]))


def _file(name: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(dir=_ROOT))
    path = folder / name
    path.write_bytes(data)
    return path


def _only_clear_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except HarnessError as error:
        assert str(error)  # names the file (and line): never an empty message


LOADERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "fixture": ("case.yaml", lambda p: load_case(p, _STORE)),
    "article": ("returns-policy.md", load_article),
    "catalog": ("catalog.yaml", load_catalog),
    "agent": ("agent.yaml", load_agent),
    "labels": ("labels.yaml", lambda p: load_yaml_file(p, Labels)),
    "promptfoo": ("promptfooconfig.yaml", load_tests),
}


def _fixture_path(data: bytes) -> Path:
    path = _ROOT / "store" / "suites" / "fuzz" / "case.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_loader_raises_only_clear_errors(kind):
    name, load = LOADERS[kind]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=_inputs(kind))
    def check(data: bytes) -> None:
        path = _fixture_path(data) if kind == "fixture" else _file(name, data)
        _only_clear_errors(lambda: load(path))

    check()


@settings(max_examples=EXAMPLES * 2, deadline=None, database=None)
@given(data=_inputs("export"))
def test_an_export_line_is_a_conversation_or_a_bad_line(data):
    text = data.decode("utf-8", errors="replace").strip()
    result = parse_line(text, "export.jsonl", 7)
    assert isinstance(result, Conversation | BadLine)
    if isinstance(result, BadLine):
        assert result.line == 7 and "export.jsonl" in str(result.error)
