"""A helpdesk's production export (FORMATS.md, "Production export"): one conversation a line.

It is read as a stream: `read_export` yields each conversation with its line number, or a
`BadLine` naming the line and what is wrong with it, and never holds more than one line.
Unknown keys are refused, as in every other format of the store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError, LoadError

__all__ = [
    "BadLine", "Conversation", "Message", "ToolCallRecord", "find_conversation", "parse_line",
    "read_export",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    role: Literal["customer", "ai", "agent"]  # agent: a human
    text: str
    at: dt.datetime | None = None


class ToolCallRecord(_Frozen):
    """A tool call the production agent made, and what the back end answered."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)  # an object or JSON text
    result: Any = None
    at: dt.datetime | None = None

    @property
    def args(self) -> dict[str, Any]:
        if isinstance(self.arguments, dict):
            return self.arguments
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class Conversation(_Frozen):
    id: str = Field(min_length=1)
    started_at: dt.datetime
    customer: str
    channel: str
    topic: str | None = None
    csat: int | None = Field(default=None, ge=1, le=5)
    escalated: bool | None = None
    messages: tuple[Message, ...]
    tool_calls: tuple[ToolCallRecord, ...] = ()  # the agent's back-end calls, if exported

    @property
    def started_utc(self) -> dt.datetime:
        """`started_at` as a naive UTC time (a time without zone is taken as UTC)."""
        moment = self.started_at
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment

    @property
    def day(self) -> dt.date:
        """The day whose KB the customer was served: the UTC date of `started_at`."""
        return self.started_utc.date()

    @property
    def human_joined(self) -> bool:
        """A person took over: a human `agent` message, or the helpdesk says escalated."""
        return bool(self.escalated) or any(m.role == "agent" for m in self.messages)


@dataclass(frozen=True)
class BadLine:
    """A line that is not a conversation; the rest of the export is still read."""

    error: LoadError

    @property
    def line(self) -> int:
        return self.error.line or 0


def _problem(exc: ValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return "unknown key; expected one of: " + ", ".join(Conversation.model_fields), key
    if first["type"] == "missing":
        return "missing required key", key
    return str(first["msg"]).removeprefix("Value error, "), key


def parse_line(text: str, path: Path | str, number: int) -> Conversation | BadLine:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return BadLine(LoadError(path, f"not valid JSON ({exc})", line=number))
    except RecursionError:
        return BadLine(LoadError(path, "JSON nested too deeply to be a conversation",
                                 line=number))
    if not isinstance(data, dict):
        return BadLine(LoadError(path, "expected one JSON object per line", line=number))
    try:
        return Conversation.model_validate(data)
    except ValidationError as exc:
        message, key = _problem(exc)
        return BadLine(LoadError(path, message, line=number, key=key))
    except RecursionError:
        return BadLine(LoadError(path, "JSON nested too deeply to be a conversation",
                                 line=number))


def read_export(
    path: Path, progress: Progress | None = None
) -> Iterator[tuple[int, Conversation | BadLine]]:
    """Each non-blank line as (line number, conversation or bad line), one at a time."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read the export ({exc.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if progress is not None:
                progress(len(raw))
            text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if text:
                yield number, parse_line(text, path, number)


def find_conversation(path: Path, conversation_id: str) -> Conversation:
    """The conversation with this id (the last one, if the export repeats it)."""
    found = None
    for _, item in read_export(path):
        if isinstance(item, Conversation) and item.id == conversation_id:
            found = item
    if found is None:
        raise HarnessError(f"{path}: no conversation with id {conversation_id!r}")
    return found


class Progress:
    """Bytes read so far, told on stderr every `every` conversations for a large export."""

    def __init__(self, total_bytes: int, write: Callable[[str], None], every: int = 10_000) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self.lines = 0
        self.every = every
        self._write = write

    def __call__(self, size: int) -> None:
        self.done += size
        self.lines += 1
        if self.lines % self.every == 0:
            share = 100 * self.done / self.total
            self._write(f"read {self.lines:,} lines ({share:.0f}% of the export)")
