"""The harness's exceptions: few, and each written for the person who must fix the input.

    HarnessError                 base; the CLI and the pytest plugin catch only this
    +-- LoadError                a store file breaks FORMATS.md (file, line, key, what was expected)
    +-- TemplateError            prompts/system.md.j2 cannot be rendered (file and line)
    +-- ModelError               the model call failed (provider error, bad tool call)
    +-- BaselineError            a baseline cannot be read (bad JSON, unknown git ref)
    +-- CaseFailed               the gate's verdict on one case, written for a person
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BaselineError", "CaseFailed", "HarnessError", "LoadError", "ModelError", "TemplateError",
]


class HarnessError(Exception):
    """Base of every error the harness reports to a person."""


def _shown(path: Path | str) -> str:
    """A path as the user typed it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _where(path: Path | str, line: int | None) -> str:
    return f"{_shown(path)}, line {line}" if line else _shown(path)


class LoadError(HarnessError):
    """A file of the store does not follow FORMATS.md."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, key: str | None = None,
        also: tuple[LoadError, ...] = (),
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.key = key
        self.detail = message
        self.also = also  # the file's other problems, so one run shows them all
        at_key = f" at `{key}`" if key else ""
        more = "".join(f"\n  also: {other}" for other in also)
        super().__init__(f"{_where(path, line)}{at_key}: {message}{more}")


class TemplateError(HarnessError):
    """The system prompt template is broken."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        super().__init__(f"{_where(path, line)}: template error: {message}")


class ModelError(HarnessError):
    """The model could not produce a usable reply."""


class BaselineError(HarnessError):
    """A committed baseline cannot be read."""


class CaseFailed(HarnessError):
    """The gate's verdict on one case, already written for a person."""
