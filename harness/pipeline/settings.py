"""Settings of one run, resolved once at the edge (pytest options or the CLI) and passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.providers.cache import CacheMode

__all__ = ["Settings", "parse_date", "settings_from_options"]


def parse_date(text: str, option: str = "--as-of") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HarnessError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


def settings_from_options(option: Any, environ: Mapping[str, str]) -> Settings:
    """The pytest options (and the provider's base URL from the environment), checked once."""
    as_of = parse_date(option.as_of) if option.as_of else None
    for name in ("concurrency", "repeat", "processes"):
        value = getattr(option, name)
        if value is not None and value < 1:
            raise HarnessError(f"--{name}: expected a whole number of 1 or more")
    if getattr(option, "accept_failing", False) and not option.update_baseline:
        raise HarnessError("--accept-failing only goes with --update-baseline: it lets new"
                           " cases that fail be recorded as known failures")
    if option.update_baseline and option.baseline_ref:
        raise HarnessError("--update-baseline writes the working tree's baseline; it cannot"
                           " be combined with --baseline-ref")

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    today = environ.get("HARNESS_TODAY")  # the day a run believes it is: to replay a CI day
    return Settings(
        today=parse_date(today, "HARNESS_TODAY") if today else dt.date.today(),
        as_of=as_of,
        concurrency=option.concurrency,
        processes=option.processes,
        cache=option.cache,
        repeat=option.repeat,
        api_base=environ.get("OPENAI_API_BASE") or environ.get("OPENAI_BASE_URL"),
        update_baseline=option.update_baseline,
        baseline_ref=option.baseline_ref,
        targets=tuple(option.target),
        changed_since=option.changed_since,
        report_path=path(option.harness_report),
        markdown_path=path(option.harness_markdown),
        html_path=path(option.harness_html),
        history=option.history,
        fail_on_calendar=getattr(option, "fail_on_calendar_drift", False),
        accept_failing=getattr(option, "accept_failing", False),
    )


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
    accept_failing: bool = False  # --update-baseline may record new cases that fail
    fail_on_calendar: bool = False  # a scheduled run: calendar changes fail, so the team re-records
