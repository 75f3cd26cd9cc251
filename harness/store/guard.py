"""Limits a hostile store file cannot pass: size, encoding, YAML aliases and nesting depth.

A KB pull request is untrusted input. Every store file is read through `read_text`, which
refuses files that are too large, not regular files, binary or not UTF-8 (naming the line of the
first bad byte), and drops a byte order mark. Every YAML document is first scanned event by event
by `check_yaml`, before any node is built: an alias (`*name`) is refused, so neither a recursive
alias nor an alias bomb can be expanded, and nesting deeper than `MAX_DEPTH` is refused.
"""

from __future__ import annotations

import stat
from pathlib import Path

import yaml

from harness.errors import LoadError

__all__ = [
    "ARTICLE_LIMIT", "DATA_LIMIT", "FIXTURE_LIMIT", "MAX_DEPTH", "check_yaml", "read_text",
    "yaml_error",
]

ARTICLE_LIMIT = 512 * 1024  # a KB article: far above any real one, far below a slow run
FIXTURE_LIMIT = 256 * 1024  # a golden conversation
DATA_LIMIT = 4 * 1024 * 1024  # catalog, agent.yaml, labels, promptfoo configs
MAX_DEPTH = 64  # nesting of YAML collections; the formats need fewer than 8

_Parser: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _size(amount: int) -> str:
    return f"{amount / 1024 / 1024:.1f} MB" if amount >= 1024 * 1024 else f"{amount // 1024} KB"


def read_text(path: Path, limit: int, what: str = "file") -> str:
    """The file as text, or a LoadError naming it: too large, not a file, binary, not UTF-8."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(path, f"is not a regular file; expected a {what}")
        if info.st_size > limit:
            raise LoadError(path, f"is {_size(info.st_size)}; a {what} may be at most"
                                  f" {_size(limit)} (split it, or remove what is not needed)")
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise LoadError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > limit:  # grew between stat and read
        raise LoadError(path, f"is over {_size(limit)}; a {what} may be at most {_size(limit)}")
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise LoadError(path, f"holds a NUL byte: a binary file, expected a {what} as UTF-8 text",
                        line=line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start:exc.start + 1].hex()
        raise LoadError(path, f"is not UTF-8 text (byte 0x{bad}); save it as UTF-8",
                        line=line) from None


def check_yaml(text: str, path: Path | str, first_line: int = 1) -> None:
    """Refuse aliases and deep nesting before a node is built: no expansion can blow up."""
    parser = _Parser(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.AliasEvent):
                raise LoadError(path, "YAML aliases (*name) are not allowed in store files;"
                                      " write the value out in full",
                                line=event.start_mark.line + first_line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LoadError(path, f"nested more than {MAX_DEPTH} levels deep",
                                    line=event.start_mark.line + first_line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path, first_line) from None
    finally:
        parser.dispose()


def yaml_error(exc: yaml.YAMLError, path: Path | str, first_line: int = 1) -> LoadError:
    """PyYAML's error as a LoadError naming the file and, where YAML marks one, the line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        return LoadError(path, f"invalid YAML: {exc.problem or exc}", line=line)
    return LoadError(path, f"invalid YAML: {exc}")
