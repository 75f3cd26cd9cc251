"""The response cache: model replies on disk, keyed by the full request.

SQLite in `<store>/.harness-cache/` (a folder that ignores itself in git), in WAL mode with a
busy timeout, so parallel pytest-xdist workers can share it. A reply is written in one
transaction: Ctrl-C leaves either the old state or the new row, never half of one. The key
is built from the request's model, messages, tools and parameters only: no API key or
header ever reaches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["CacheMode", "ResponseCache", "request_key"]

CacheMode = Literal["on", "off", "replay"]
FOLDER = ".harness-cache"
_SETUP_TRIES = 25


def request_key(request: Mapping[str, Any]) -> str:
    """A stable digest of a request (model, messages, tools, parameters, sample)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# written by the harness: the response cache stays out of git\n*\n")
        self.path = folder / "responses.sqlite3"
        self._lock = threading.Lock()
        self._connect()

    def _connect(self) -> None:
        self._pid = os.getpid()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=30000")
        # Two processes opening a new cache at once race on the switch to WAL, and SQLite
        # reports "database is locked" at once, without waiting: the loser tries again.
        for attempt in range(1, _SETUP_TRIES + 1):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT NOT"
                    " NULL, response TEXT NOT NULL, stored_at TEXT DEFAULT CURRENT_TIMESTAMP)"
                )
                return
            except sqlite3.OperationalError:
                if attempt == _SETUP_TRIES:
                    raise
                time.sleep(0.02 * attempt)

    def _connection(self) -> sqlite3.Connection:
        """This process's connection: a forked worker must not share its parent's."""
        if os.getpid() != self._pid:
            self._connect()
        return self._db

    @classmethod
    def for_store(cls, root: Path) -> ResponseCache:
        return cls(root / FOLDER)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            query = "SELECT response FROM responses WHERE key = ?"
            row = self._connection().execute(query, (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, response: Mapping[str, Any]) -> None:
        text = json.dumps(response, sort_keys=True, ensure_ascii=False)
        with self._lock:
            query = "INSERT OR REPLACE INTO responses (key, model, response) VALUES (?, ?, ?)"
            self._connection().execute(query, (key, model, text))

    def __len__(self) -> int:
        with self._lock:
            count = self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
