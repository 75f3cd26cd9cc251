"""What every `harness` subcommand shares: the --store option, dates, the run's settings."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.pipeline.pipeline import Pipeline
from harness.pipeline.settings import Settings, parse_date

if TYPE_CHECKING:
    from harness.history import History

__all__ = ["add_store", "date_type", "history_of", "pipeline_for"]


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="PATH",
                        help="the store's folder (default: the current one)")


def date_type(text: str) -> dt.date:
    """argparse's type for a YYYY-MM-DD option: a bad date is a usage error (exit 2)."""
    try:
        return parse_date(text)
    except HarnessError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD") from None


def pipeline_for(args: argparse.Namespace, **settings: Any) -> Pipeline:
    """The pipeline of a subcommand: today's date, the provider's base URL from the
    environment, and whatever of --as-of, --concurrency and --cache the command takes."""
    values = {"today": dt.date.today(),
              "api_base": os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL"),
              "as_of": getattr(args, "as_of", None),
              "concurrency": getattr(args, "concurrency", None),
              "cache": getattr(args, "cache", None) or "on", **settings}
    return Pipeline(Settings(**values))


def history_of(url: str | None, root: Path) -> History:
    """The history database, opened; a damaged file moved aside is said on stderr."""
    from harness.history import open_history  # SQLAlchemy: only for the commands that use it

    history = open_history(url, root)
    if history.warning:
        print(f"warning: {history.warning}", file=sys.stderr)
    return history
