"""The tool calls of a case and what the back end answered, as every report shows them.

One line per call: `step 1: lookup_order(order_number=KC-10482) -> {"status": "in_transit",
...}`. The result is cut to a width a reader can take in; the JSON report keeps it whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.agent.run import ToolUse
from harness.pipeline.record import CaseResult

__all__ = ["ToolLine", "tool_lines"]

_RESULT_WIDTH = 160


@dataclass(frozen=True)
class ToolLine:
    step: int
    call: str  # lookup_order(order_number=KC-10482)
    result: str  # the JSON answer, cut to a width
    error: bool  # the back end answered an error (not found, refused, invalid)

    def __str__(self) -> str:
        mark = " (error)" if self.error else ""
        return f"step {self.step}: {self.call} -> {self.result}{mark}"


def _call(use: ToolUse) -> str:
    try:
        args = json.loads(use.arguments or "{}")
    except ValueError:
        return f"{use.name}({use.arguments[:80]})"
    if not isinstance(args, dict):
        return f"{use.name}({use.arguments[:80]})"
    return f"{use.name}({', '.join(f'{k}={v}' for k, v in args.items())})"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def tool_lines(result: CaseResult, width: int = _RESULT_WIDTH) -> list[ToolLine]:
    """The first sample's tool calls (the one the reports show), in order."""
    run = result.run
    lines = []
    for use in run.tools if run else ():
        try:
            answer = json.loads(use.result)
        except ValueError:
            answer = None
        error = isinstance(answer, dict) and "error" in answer
        lines.append(ToolLine(use.step, _call(use), _cut(use.result, width), error))
    return lines
