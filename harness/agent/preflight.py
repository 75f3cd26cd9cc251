"""What `harness check` finds before any model call: dangerous patterns, a template that breaks.

Loading a file proves its shape, not that it is safe to run. A `/.../` phrase can compile and
still backtrack for minutes; a template can parse and still divide by zero or include itself.
`check_patterns` probes every pattern of the fixtures and agent.yaml with a short time limit,
and `check_template` renders the system prompt once for every fixture, as a run would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.agent.prompt import render_system_prompt
from harness.errors import HarnessError, LoadError, TemplateError
from harness.kb.catalog import find_products
from harness.store.loading import Store
from harness.store.schema import Case
from harness.text.matching import slow_pattern

__all__ = ["check_patterns", "check_template"]


def _strings(value: Any, at: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a dumped model, with its dotted key."""
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, BaseModel):
        for key in type(value).model_fields:
            yield from _strings(getattr(value, key), f"{at}.{key}" if at else key)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{at}.{key}" if at else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{at}.{index}")


def _slow(path: Path, dumped: object, lines: dict[str, int]) -> Iterator[LoadError]:
    for key, text in _strings(dumped):
        why = slow_pattern(text)
        if why:
            yield LoadError(path, why, line=lines.get(key), key=key)


def check_patterns(store: Store, cases: Sequence[Case]) -> list[LoadError]:
    """Each `/.../` phrase that exceeds a short time limit on a probe text, by file and key."""
    agent_path = store.agent.path or store.root / "prompts" / "agent.yaml"
    found = list(_slow(agent_path, store.agent, {}))
    for case in cases:
        dumped = {"expect": case.expect}
        found += _slow(case.path or store.root, dumped, case.lines)
    return found


def check_template(store: Store, cases: Sequence[Case]) -> list[TemplateError]:
    """Render the system prompt for each fixture (its articles, products and turns) and
    return each distinct error, so a runtime error is found before a run is started."""
    errors: dict[str, TemplateError] = {}
    for case in cases or [None]:
        conversation = case.conversation if case else ()
        text = "\n".join(t.text for t in conversation)
        wanted = set(case.expect.articles) if case else set()
        articles = [a for a in store.articles if a.id in wanted] or list(store.articles[:3])
        try:
            render_system_prompt(
                store.template_path, tone=store.agent.tone, articles=articles,
                conversation=conversation, catalog=store.catalog,
                products=[m.product for m in find_products(text, store.catalog)]
                or list(store.catalog.products[:3]),
            )
        except TemplateError as error:
            errors.setdefault(str(error), error)
        except HarnessError as error:
            errors.setdefault(str(error), TemplateError(store.template_path, str(error)))
    return list(errors.values())
