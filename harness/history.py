"""The history store: scored production conversations and suite runs, kept between runs.

SQLAlchemy Core over any database URL: by default a SQLite file in the store
(`<store>/.harness-history.sqlite3`), or a team's shared server (`postgresql+psycopg://...`,
with its driver installed). Three tables, created on first use:

    harness_runs           one row per scoring run or suite run, with its provenance
                           (harness version, model, prompt and KB hashes)
    harness_conversations  one row per conversation id, upserted: scoring the same export
                           again replaces its rows instead of counting them twice
    harness_suite_cases    one row per case of a suite run

Conversation text is stored redacted (`harness.coach.redact`), for `harness promote`.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from harness.errors import HarnessError
from harness.regression.baseline import Provenance

__all__ = [
    "FILE_NAME", "ConversationRecord", "History", "default_url", "open_history",
    "record_suite_run",
]

FILE_NAME = ".harness-history.sqlite3"
DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
_VALUES = {"pass": 1.0, "partial": 0.5, "fail": 0.0}

metadata = sa.MetaData()

runs = sa.Table(
    "harness_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "score" or "suite"
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("harness", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt_hash", sa.String(64), nullable=False),
    sa.Column("kb_hash", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False, default=0),
    sa.Column("gate", sa.String(8), nullable=True),
)


def _dimension_columns() -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.Float, nullable=True) for name in DIMENSIONS]  # 1 / 0.5 / 0


conversations = sa.Table(
    "harness_conversations", metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("harness_runs.id"), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False, index=True),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("topic", sa.String(200), nullable=True),
    sa.Column("csat", sa.Integer, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("automated", sa.Boolean, nullable=False),
    sa.Column("handoff", sa.String(200), nullable=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("review", sa.Boolean, nullable=False),
    *_dimension_columns(),
    sa.Column("grades", sa.JSON, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("min_confidence", sa.Float, nullable=True),  # the weakest KB gap, if any
    sa.Column("gaps", sa.JSON, nullable=False),
    sa.Column("messages", sa.JSON, nullable=False),  # redacted
)

suite_cases = sa.Table(
    "harness_suite_cases", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("harness_runs.id"), primary_key=True),
    sa.Column("case_id", sa.String(300), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("review", sa.Boolean, nullable=False),
    *_dimension_columns(),
    sa.Column("grades", sa.JSON, nullable=False),
)


@dataclass(frozen=True)
class ConversationRecord:
    """A scored conversation as the history keeps it (text already redacted)."""

    id: str
    started_at: dt.datetime  # naive UTC
    customer: str
    channel: str
    topic: str | None
    csat: int | None
    outcome: str  # "resolve" or "escalate" (a person took over)
    automated: bool  # resolved by the AI alone, with no problem of resolution
    handoff: str | None
    score: float
    review: bool
    grades: Mapping[str, str]
    reasons: Mapping[str, str]
    gaps: tuple[Mapping[str, Any], ...] = ()  # {"question", "confidence", "article"}
    messages: tuple[Mapping[str, str], ...] = field(default=(), repr=False)  # {"role", "text"}

    def row(self, run_id: int) -> dict[str, Any]:
        """The table row. Field by field: `asdict` deep-copied every message and grade only
        for the copies below to replace them (most of the time the history took to record)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row.update(run_id=run_id, grades=dict(self.grades), reasons=dict(self.reasons),
                   gaps=[dict(g) for g in self.gaps], messages=[dict(m) for m in self.messages])
        row.update(_dimension_values(self.grades))
        confidences = [float(g["confidence"]) for g in self.gaps]
        row["min_confidence"] = min(confidences) if confidences else None
        return row


def _dimension_values(grades: Mapping[str, str]) -> dict[str, float | None]:
    return {name: _VALUES[grades[name]] if name in grades else None for name in DIMENSIONS}


def default_url(root: Path) -> str:
    return f"sqlite:///{(root / FILE_NAME).resolve()}"


def _ignore_in_git(root: Path, pattern: str = FILE_NAME, probe: str | None = None,
                   why: str = "the history of scored conversations (harness score)") -> None:
    """The store's history database holds scored customer conversations: keep it out of git.
    `pattern` is appended to the store's .gitignore unless git already ignores `probe` (a file
    it matches; the pattern itself by default), or it is not a repo."""
    ignore = root / ".gitignore"
    try:
        if ignore.is_file() and pattern in ignore.read_text(encoding="utf-8").split():
            return
        checked = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", probe or pattern],
                                 capture_output=True, check=False)
        if checked.returncode != 1:  # 0: ignored already; 128: not a git repository
            return
        with ignore.open("a", encoding="utf-8") as handle:
            handle.write(f"\n# {why}\n{pattern}\n")
    except OSError:
        return


def open_history(url: str | None, root: Path) -> History:
    """The history at `url` (default: the SQLite file of the store at `root`), tables made.

    A SQLite file that is not a database, or fails SQLite's quick check (CI restores it between
    runs, and a restore can be cut short), is moved aside, kept as it was, and a new history is
    started: the history is a record of runs, and one damaged file must not stop the next run
    nor be overwritten. `History.warning` says where it went."""
    if url is None:
        _ignore_in_git(root)
    url = url or default_url(root)
    try:
        engine = sa.create_engine(url)
        shown = engine.url.render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise _bad_url(exc) from None
    warning = None
    try:
        try:
            _prepare(engine)
        except (sa.exc.DatabaseError, _Damaged) as exc:
            path = _sqlite_file(engine)
            if path is None or not _is_damage(exc):
                raise
            engine.dispose()  # no pooled connection may keep the damaged file open
            aside = _move_aside(path)
            if url == default_url(root):  # the kept copy holds conversations too: not for git
                _ignore_in_git(root, f"{FILE_NAME}.corrupt-*", aside.name,
                               "damaged history databases moved aside, kept for a person")
            detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
            warning = (f"history database {path} could not be read ({detail}); moved aside to"
                       f" {aside.name}, and a new history was started")
            _prepare(engine)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise _bad_url(exc) from None
    except (sa.exc.SQLAlchemyError, _Damaged) as exc:
        raise HarnessError(f"history database {_safe(url)}: {exc.__class__.__name__}:"
                           f" {str(getattr(exc, 'orig', None) or exc).strip()}") from None
    return History(engine, shown, warning)


def _bad_url(exc: Exception) -> HarnessError:
    return HarnessError(f"--history: cannot use the database URL ({exc}); expected an"
                        " SQLAlchemy URL such as postgresql+psycopg://user@host/db, with"
                        " its driver installed")


class _Damaged(Exception):
    """SQLite's quick check found damage that reading the schema did not."""


def _prepare(engine: sa.Engine) -> None:
    """Make the tables; on SQLite, check the file's pages too (a file cut short or with a
    page of noise opens, and fails only at the first write that reaches the damage)."""
    metadata.create_all(engine)
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        found = conn.exec_driver_sql("PRAGMA quick_check(1)").scalar()
    if found != "ok":
        raise _Damaged(f"quick check: {found}")


def _sqlite_file(engine: sa.Engine) -> Path | None:
    """The file of a SQLite URL; None for another database or one held in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or (
            database.startswith("file:")):
        return None
    path = Path(database)
    return path if path.is_file() else None


def _is_damage(exc: Exception) -> bool:
    """A file that is not a database or is malformed, as against one that is locked, read-only
    or cannot be opened (sqlite3's OperationalError): only damage is moved aside."""
    if isinstance(exc, _Damaged):
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(orig, sqlite3.DatabaseError) and not isinstance(
        orig, sqlite3.OperationalError)


def _move_aside(path: Path) -> Path:
    """Rename the damaged file (and its journal and write-ahead log) to a name of its own."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{aside}{suffix}")
    return aside


def _safe(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unreadable URL)"


def _upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, replacing those with the same primary key."""
    keys = [c.name for c in table.primary_key.columns]
    rows = list({tuple(r[k] for k in keys): r for r in rows}.values())  # last one wins
    if not rows:
        return
    statement = upsert_statement(table, conn.dialect.name)
    if statement is None:  # any other database: delete, then insert, in one transaction
        for row in rows:
            conn.execute(table.delete().where(*[table.c[k] == row[k] for k in keys]))
        conn.execute(table.insert(), rows)
        return
    conn.execute(statement, rows)


def upsert_statement(table: sa.Table, dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE, for SQLite and PostgreSQL; else None."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if dialect is None:
        return None
    keys = [c.name for c in table.primary_key.columns]
    statement = dialect.insert(table)
    update = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=update)


class History:
    """Reads and writes the history database."""

    def __init__(self, engine: sa.Engine, shown: str = "", warning: str | None = None) -> None:
        self.engine = engine
        self.shown = shown or engine.url.render_as_string(hide_password=True)
        self.warning = warning  # set when a damaged database was moved aside

    def start_run(self, kind: str, source: str, made_with: Provenance) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(runs.insert().values(
                kind=kind, source=source, recorded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                harness=made_with.harness, model=made_with.model, prompt_hash=made_with.prompt,
                kb_hash=made_with.kb, count=0,
            ))
            return int(result.inserted_primary_key[0])

    def finish_run(self, run_id: int, count: int, gate: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(count=count, gate=gate))

    def delete_run(self, run_id: int) -> None:
        """Remove a run that recorded nothing (an interrupted `harness score`)."""
        with self.engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.id == run_id))

    def record_conversations(self, run_id: int, records: Iterable[ConversationRecord]) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, conversations, [r.row(run_id) for r in records])

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(conversations).where(
                conversations.c.id == conversation_id)).mappings().first()
            return dict(row) if row else None

    def run(self, run_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
            return dict(row) if row else None

    def count(self, start: dt.datetime | None = None, end: dt.datetime | None = None) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(conversations)
            return int(conn.execute(query.where(*_between(start, end))).scalar_one())

    def week_totals(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """Counts and averages of the conversations started in [start, end)."""
        c = conversations.c
        columns = [
            sa.func.count().label("count"),
            sa.func.sum(sa.case((c.automated, 1), else_=0)).label("automated"),
            sa.func.sum(sa.case((c.outcome == "escalate", 1), else_=0)).label("escalated"),
            sa.func.sum(sa.case((c.review, 1), else_=0)).label("review"),
            sa.func.avg(c.score).label("score"),
            *[sa.func.avg(c[name]).label(name) for name in DIMENSIONS],  # NULL: not judged
        ]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*columns).where(*_between(start, end))).mappings().one()
        totals = dict(row)
        for name in ("count", "automated", "escalated", "review"):
            totals[name] = int(totals[name] or 0)
        return totals

    def escalations(self, start: dt.datetime, end: dt.datetime) -> list[tuple[str, str, int]]:
        """(topic, why a person took over, conversations), most first."""
        c = conversations.c
        topic = sa.func.coalesce(c.topic, "(no topic)")
        handoff = sa.func.coalesce(c.handoff, "(unknown)")
        query = (sa.select(topic, handoff, sa.func.count())
                 .where(c.outcome == "escalate", *_between(start, end))
                 .group_by(topic, handoff))
        with self.engine.connect() as conn:
            found = [(str(t), str(h), int(n)) for t, h, n in conn.execute(query)]
        return sorted(found, key=lambda row: (-row[2], row[0], row[1]))

    def worst(self, start: dt.datetime, end: dt.datetime, limit: int = 10) -> list[dict[str, Any]]:
        """The lowest-scored conversations below a perfect score, lowest CSAT first on ties."""
        c = conversations.c
        query = (sa.select(c.id, c.started_at, c.topic, c.csat, c.outcome, c.score, c.grades,
                           c.reasons, c.messages)
                 .where(c.score < 1, *_between(start, end))
                 .order_by(c.score, sa.func.coalesce(c.csat, 6), c.started_at, c.id).limit(limit))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def gaps(self, start: dt.datetime, end: dt.datetime, limit: int = 20
             ) -> tuple[int, list[dict[str, Any]]]:
        """Conversations with a question the KB could not ground: how many, and the weakest."""
        c = conversations.c
        where = [c.min_confidence.is_not(None), *_between(start, end)]
        query = (sa.select(c.id, c.started_at, c.gaps).where(*where)
                 .order_by(c.min_confidence, c.started_at, c.id).limit(limit))
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(conversations)
                                 .where(*where)).scalar_one()
            return int(total), [dict(row) for row in conn.execute(query).mappings()]

    def runs_between(self, start: dt.datetime, end: dt.datetime, kind: str = "score"
                     ) -> Iterator[dict[str, Any]]:
        query = (sa.select(runs).where(runs.c.kind == kind, runs.c.recorded_at >= start,
                                       runs.c.recorded_at < end).order_by(runs.c.id))
        with self.engine.connect() as conn:
            yield from (dict(row) for row in conn.execute(query).mappings())

    def provenance_of_week(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any] | None:
        """The run that scored the week's latest-recorded conversations."""
        query = (sa.select(runs).join(conversations, conversations.c.run_id == runs.c.id)
                 .where(*_between(start, end)).order_by(runs.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None


def _between(start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    c = conversations.c
    return [clause for clause in (start is not None and c.started_at >= start,
                                  end is not None and c.started_at < end) if clause is not False]


def _suite_row(run_id: int, result: Mapping[str, Any]) -> dict[str, Any]:
    case_id = result.get("id")
    grades = result.get("grades")
    if not isinstance(case_id, str) or not isinstance(grades, Mapping) or any(
        g not in _VALUES for g in grades.values()
    ):
        raise HarnessError(f"record_suite_run: {case_id!r}: expected a dict with id (text),"
                           " grades ({dimension: pass|partial|fail}), score and review")
    return {"run_id": run_id, "case_id": case_id, "score": float(result.get("score", 0.0)),
            "review": bool(result.get("review", False)), "grades": dict(grades),
            **_dimension_values(grades)}


def record_suite_run(
    history: History,
    results: Iterable[Mapping[str, Any]],
    made_with: Provenance,
    *,
    source: str = "pytest suites/",
    gate: str | None = None,
) -> int:
    """Record one suite run: `results` are dicts with id, grades, score and review (as in the
    JSON report's cases); returns the run's id."""
    rows = [_suite_row(0, result) for result in results]  # checked before anything is written
    run_id = history.start_run("suite", source, made_with)
    with history.engine.begin() as conn:
        _upsert(conn, suite_cases, [{**row, "run_id": run_id} for row in rows])
    history.finish_run(run_id, len(rows), gate)
    return run_id
