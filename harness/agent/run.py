"""What the agent did on one case: the raw material of grading and of every report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Outcome", "Retrieved", "Run", "ToolUse"]

Outcome = Literal["resolve", "escalate"]


@dataclass(frozen=True, slots=True)
class Retrieved:
    id: str
    confidence: float
    score: float


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One tool call of the model and what the fixture's back end answered (JSON text)."""

    name: str
    arguments: str  # as the model wrote them
    result: str  # the JSON sent back to the model
    step: int = 1  # which round of tool calls (parallel calls share a step)
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """What the agent did on one case: the raw material of grading."""

    case_id: str
    as_of: dt.date
    model: str
    sample: int = 0  # which of --repeat K samples this is
    retrieved: tuple[Retrieved, ...] = ()
    served: tuple[str, ...] = ()
    reply: str = ""
    outcome: Outcome | None = None
    decided_by: str = ""  # "model", "on_request", "topic:<name>" or "min_confidence"
    why: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    latency_s: float = 0.0
    finish_reason: str = ""  # "length": the reply was cut off at agent.yaml's max_tokens
    cached: bool = False
    error: str | None = None
    tools: tuple[ToolUse, ...] = ()  # every tool call and its result, in order
    messages: tuple[dict[str, Any], ...] = field(default=(), repr=False, compare=False)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"
