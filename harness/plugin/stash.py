"""Where a pytest run keeps its `HarnessSession`: the one thing the hooks and items share.

The session (and everything it imports) is made only when a store's fixture is collected, so
the plugin costs nothing in a project that merely has the package installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.pipeline.settings import Settings
    from harness.plugin.session import HarnessSession, Role

__all__ = ["ROOTS", "SESSION", "SETTINGS", "existing_session", "session_of"]

SETTINGS = pytest.StashKey[tuple["Settings", "Role"]]()
SESSION = pytest.StashKey["HarnessSession"]()
# suite folder -> its store's root (None: not a store's suite), found once per folder and
# shared by every fixture collected there (10,000 fixtures would otherwise hold 10,000 paths)
ROOTS = pytest.StashKey[dict[Path, "Path | None"]]()


def session_of(config: pytest.Config) -> HarnessSession:
    """The run's session, made on first use from the settings read at configure time."""
    if SESSION not in config.stash:
        from harness.plugin.session import HarnessSession

        settings, role = config.stash[SETTINGS]
        config.stash[SESSION] = HarnessSession(settings, role)
    return config.stash[SESSION]


def existing_session(config: pytest.Config) -> HarnessSession | None:
    """The session if a store's fixture was collected (or results received), else None."""
    return config.stash.get(SESSION, None)
