"""The response cache: model replies on disk, keyed by the full request.

SQLite in `<store>/.harness-cache/` (a folder that ignores itself in git), in WAL mode with a
busy timeout, so parallel pytest-xdist workers can share it. A reply is written in one
transaction: Ctrl-C leaves either the old state or the new row, never half of one. The key
is built from the request's model, messages, tools and parameters only: no API key or
header ever reaches it.

The cache only saves calls, so it never stops a run: a file that is not a database (CI restores
it between runs, and a restore can be cut short) is moved aside with a warning and a new one is
made; an unreadable row is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
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


@contextlib.contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (a file beside the cache) while it is held; none where the
    system has no fcntl."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# written by the harness: the response cache stays out of git\n*\n")
        self.path = folder / "responses.sqlite3"
        self._lock = threading.Lock()
        self.warning: str | None = None  # set when a corrupt cache was moved aside
        self._open()

    def _open(self) -> None:
        """Connect; a file that is not a database is moved aside and a new one made. One
        process at a time: pytest-xdist's workers open the cache at the same moment, and a
        second one to find the damage would move the first one's new cache away after it."""
        with _setup_lock(self.path.with_name("responses.lock")):
            try:
                self._connect()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise
                self._move_aside(exc)
                self._connect()

    def _move_aside(self, exc: sqlite3.DatabaseError) -> None:
        """Keep the broken file for a person to look at, and start an empty cache."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._db.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        number = 1
        while aside.exists():  # an earlier damaged copy keeps its own name
            number += 1
            aside = aside.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
                                    f"-{number}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                os.replace(source, f"{aside}{suffix}")
        self.warning = (f"response cache {self.path} could not be read ({exc}); moved aside to"
                        f" {aside.name}, and this run starts an empty cache")

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
            self._open()
        return self._db

    @classmethod
    def for_store(cls, root: Path) -> ResponseCache:
        return cls(root / FOLDER)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            query = "SELECT response FROM responses WHERE key = ?"
            try:
                row = self._connection().execute(query, (key,)).fetchone()
            except sqlite3.DatabaseError as exc:
                if "locked" in str(exc):
                    raise
                return None  # a damaged page: a miss, the provider is asked
        try:
            found = json.loads(row[0]) if row else None
        except (ValueError, TypeError, RecursionError):
            return None
        return found if isinstance(found, dict) else None

    def put(self, key: str, model: str, response: Mapping[str, Any]) -> None:
        text = json.dumps(response, sort_keys=True, ensure_ascii=False)
        with self._lock:
            query = "INSERT OR REPLACE INTO responses (key, model, response) VALUES (?, ?, ?)"
            try:
                self._connection().execute(query, (key, model, text))
            except sqlite3.DatabaseError as exc:
                if "locked" in str(exc):
                    raise
                self.warning = self.warning or f"response cache {self.path}: {exc}; not saved"

    def __len__(self) -> int:
        with self._lock:
            count = self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
