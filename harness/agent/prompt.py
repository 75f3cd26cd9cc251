"""Render `prompts/system.md.j2` in Jinja2's sandbox.

KB and customer text are passed as values, never as template source, so an article that
contains `{{ 7*7 }}` reaches the model literally. Errors name the template file and line; a
runtime error (`{{ 1 // 0 }}`, `'a' + 1`, a macro that calls itself) is a `TemplateError` too,
so it fails its case instead of the run. The template may include only the files of its own
folder: a symlink that leads out of `prompts/` (to `/proc/self/environ`, say) is refused.
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
from harness.text.secrets import redact_secrets

__all__ = ["render_system_prompt"]


TEMPLATE_LIMIT = 256 * 1024  # a system prompt template and each file it includes


class _StoreLoader(jinja2.FileSystemLoader):
    """Only regular files whose real path is inside the template's folder, of sane size."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder.resolve()

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not real.is_relative_to(self.folder) or not real.is_file():
            raise jinja2.TemplateError(f"{template!r} leads outside {self.folder.name}/ (to"
                                       f" {real}); a template may include only its own folder")
        if len(source) > TEMPLATE_LIMIT:
            raise jinja2.TemplateError(f"{template!r} is over {TEMPLATE_LIMIT // 1024} KB")
        return source, filename, uptodate


@lru_cache(maxsize=16)
def _template(path: Path, mtime: float) -> jinja2.Template:
    env = SandboxedEnvironment(
        loader=_StoreLoader(path.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # the cache key holds the file's mtime: no stat per render
    )
    try:
        return env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(path, exc.message or str(exc), line=exc.lineno) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(path, exc.message or str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(path, f"cannot be read: {exc}") from None


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
    try:
        template = _template(path, path.stat().st_mtime)
    except OSError as exc:
        raise TemplateError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return redact_secrets(template.render(context))
    except jinja2.TemplateError as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise TemplateError(path, message, line=_template_line(exc, path)) from None
    except RecursionError as exc:
        raise TemplateError(path, "a macro or include calls itself without end",
                            line=_template_line(exc, path)) from None
    except Exception as exc:  # {{ 1 // 0 }}, 'a' + 1: the template's bug, shown on its case
        message = redact_secrets(f"{type(exc).__name__}: {exc}")
        raise TemplateError(path, message, line=_template_line(exc, path)) from None
