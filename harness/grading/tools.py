"""`expect.tools`: the calls a case must make, the calls it must not, and the actions done.

A required look-up the run skipped means the reply is not based on the record (accuracy); a
forbidden call (a refund the policy does not allow) is a wrong action (resolution); an action
the case requires that the back end carried out counts as the customer's request resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.agent.run import Run, ToolUse
from harness.store.schema import AgentConfig, Case
from harness.store.tools import ToolRef, is_error, key_of, parse_arguments

__all__ = ["ToolCheck", "actions_done", "check_tools", "describe"]


@dataclass(frozen=True)
class ToolCheck:
    missing: tuple[str, ...]  # required calls the run did not make
    forbidden: tuple[str, ...]  # calls the run made that the case forbids


def _made(ref: ToolRef, run: Run) -> list[ToolUse]:
    return [u for u in run.tools if ref.matches(u.name, parse_arguments(u.arguments) or {})]


def _escalated_by_tool(ref: ToolRef, run: Run) -> bool:
    return ref.name == "escalate_to_human" and run.decided_by == "model"


def describe(use: ToolUse, agent: AgentConfig) -> str:
    """A call as a coach reads it: `lookup_order(KC-10482)`."""
    spec = agent.tool(use.name)
    args = parse_arguments(use.arguments) or {}
    key = key_of(spec, args) if spec else ""
    return f"{use.name}({key})" if key else use.name


def check_tools(case: Case, run: Run) -> ToolCheck:
    expect = case.expect.tools
    missing = tuple(ref.label() for ref in expect.called
                    if not (_made(ref, run) or _escalated_by_tool(ref, run)))
    forbidden = tuple(ref.label() for ref in expect.not_called
                      if _made(ref, run) or _escalated_by_tool(ref, run))
    return ToolCheck(missing, forbidden)


def actions_done(case: Case, run: Run, agent: AgentConfig) -> list[str]:
    """Actions the case requires (`expect.tools.called`) that the back end carried out."""
    done = []
    for ref in case.expect.tools.called:
        spec = agent.tool(ref.name)
        if spec is None or spec.kind != "action":
            continue
        for use in _made(ref, run):
            try:
                result = json.loads(use.result)
            except ValueError:
                continue
            if not is_error(result):
                done.append(describe(use, agent))
    return list(dict.fromkeys(done))
