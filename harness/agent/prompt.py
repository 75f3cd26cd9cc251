"""Render `prompts/system.md.j2` in Jinja2's sandbox.

KB and customer text are passed as values, never as template source, so an article that
contains `{{ 7*7 }}` reaches the model literally. Errors name the template file and line.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from harness.errors import TemplateError
from harness.store.schema import Article, Catalog, Product, Tone, Turn

__all__ = ["render_system_prompt"]


@lru_cache(maxsize=16)
def _template(path: Path, mtime: float) -> jinja2.Template:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(path.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # the cache key holds the file's mtime: no stat per render
    )
    try:
        return env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(path, exc.message or str(exc), line=exc.lineno) from None


def _template_line(exc: BaseException, path: Path) -> int | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def render_system_prompt(
    path: Path,
    *,
    tone: Tone,
    articles: Sequence[Article],
    conversation: Sequence[Turn],
    products: Sequence[Product] = (),
    catalog: Catalog | None = None,
) -> str:
    context: dict[str, Any] = {
        "tone": tone.model_dump(),
        "articles": [
            {"id": a.id, "title": a.title, "topic": a.topic, "body": a.body} for a in articles
        ],
        "conversation": [{"role": t.role, "text": t.text} for t in conversation],
        "products": [p.model_dump() for p in products],
        "currency": catalog.currency if catalog else "USD",
    }
    template = _template(path, path.stat().st_mtime)
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise TemplateError(path, message, line=_template_line(exc, path)) from None
