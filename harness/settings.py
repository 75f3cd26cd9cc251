"""Settings of one run, resolved once at the edge (pytest options or the CLI) and passed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from harness.cache import CacheMode
from harness.errors import HarnessError

__all__ = ["Settings", "parse_date"]


def parse_date(text: str, option: str = "--as-of") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HarnessError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class Settings:
    today: dt.date
    as_of: dt.date | None = None  # --as-of: the KB date for every case without its own as_of
    concurrency: int | None = None  # --concurrency; else agent.yaml's; else 8
    processes: int | None = None  # --processes; None: decided from concurrency and size
    cache: CacheMode = "on"
    repeat: int = 1
    api_base: str | None = None  # where an OpenAI-compatible provider is (for the cache key)
    changed_since: str | None = None  # run only the fixtures a change since this ref affects
    update_baseline: bool = False
    baseline_ref: str | None = None
    targets: tuple[str, ...] = ()
    report_path: Path | None = None
    markdown_path: Path | None = None
    html_path: Path | None = None
    history: str | None = None  # "store" (the store's SQLite file) or a database URL
