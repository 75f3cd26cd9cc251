"""Write small production exports (FORMATS.md, "Production export") for tests.

`conversation(...)` is one line's dict; `write_export(path, *lines)` writes dicts as JSON lines
and strings as they are (for malformed lines). AI turns get the test store's sign-off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SIGN_OFF = "- Test Roasters team"


def conversation(cid: str, at: str, *turns: tuple[str, str], customer: str = "c-1",
                 topic: str | None = None, sign: bool = True, **extra: Any) -> dict[str, Any]:
    """`turns` are (role, text): role customer, ai or agent; `at` like 2026-11-20T10:00."""
    messages = []
    for role, text in turns:
        if role == "ai" and sign:
            text = f"{text}\n\n{SIGN_OFF}"
        messages.append({"role": role, "text": text})
    row: dict[str, Any] = {"id": cid, "started_at": f"{at}:00Z", "customer": customer,
                           "channel": "chat", "messages": messages, **extra}
    if topic:
        row["topic"] = topic
    return row


def write_export(path: Path, *lines: dict[str, Any] | str) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


RETURNS_Q = ("customer", "How many days do I have to return an item?")
RETURNS_A = ("ai", "You can return most items within 30 days of delivery for a full refund.")
