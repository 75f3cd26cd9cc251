"""`harness score EXPORT.jsonl`: grade real conversations of a helpdesk export, streaming.

    read_export (a line at a time) -> ProductionGrader.grade -> RepeatContacts
        -> summary and table, --json list (`score_output`), history store (in batches)

Memory does not grow with the export. A repeat contact (the same customer back within 24
hours on the same topic) fails the resolution of the *earlier* conversation, so each scored
conversation is held until 24 hours of export time have passed after it: what is held is the
last day of conversations, and the per-customer map of last contacts covers only them. This
needs the export in rough time order (as helpdesks write it): a conversation that arrives
more than 24 hours out of place is not matched with the one before it. Repeat contacts are
found within one export, not across exports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.coach.production import ProductionGrader, Scored, with_repeat
from harness.coach.redact import redact
from harness.coach.score_output import JsonList, Tally
from harness.errors import HarnessError
from harness.history import ConversationRecord, History, open_history
from harness.regression.baseline import provenance_of
from harness.store.conversations import BadLine, Conversation, Progress, read_export
from harness.store.loading import open_store

__all__ = ["RepeatContacts", "register", "score_export", "to_record"]

WINDOW = dt.timedelta(hours=24)
BAD_LINES_SHOWN = 20
BATCH = 500
PROGRESS_EVERY = 10_000  # lines between progress notes on stderr


class RepeatContacts:
    """Holds scored conversations for `window` of export time, to see who comes back."""

    def __init__(self, weights: Mapping[str, float], window: dt.timedelta = WINDOW) -> None:
        self.weights = weights
        self.window = window
        self._pending: dict[int, Scored] = {}  # in export order
        self._last: dict[str, int] = {}  # customer -> their latest pending conversation
        self._seq = 0

    def add(self, scored: Scored) -> list[Scored]:
        """Take a conversation; return those that are now final."""
        done = self._release(scored.started_at - self.window)
        seq = self._last.get(scored.customer, -1)
        last = self._pending.get(seq)
        if last is not None and _same_issue(last, scored, self.window):
            if scored.started_at >= last.started_at:
                self._pending[seq] = with_repeat(last, scored, self.weights)
            else:  # out of order: this one is the earlier contact
                scored = with_repeat(scored, last, self.weights)
        self._seq += 1
        self._pending[self._seq] = scored
        if last is None or scored.started_at >= last.started_at:
            self._last[scored.customer] = self._seq
        return done

    def finish(self) -> list[Scored]:
        return self._release(None)

    def _release(self, before: dt.datetime | None) -> list[Scored]:
        done = []
        while self._pending:
            seq = next(iter(self._pending))
            if before is not None and self._pending[seq].started_at >= before:
                break
            scored = self._pending.pop(seq)
            if self._last.get(scored.customer) == seq:
                del self._last[scored.customer]
            done.append(scored)
        return done


def _same_issue(earlier: Scored, later: Scored, window: dt.timedelta) -> bool:
    return (earlier.topic is not None and earlier.topic == later.topic
            and abs(later.started_at - earlier.started_at) <= window)


def score_export(
    path: Path, grader: ProductionGrader, *, on_bad: Callable[[BadLine], None],
    keep_text: bool = False, progress: Progress | None = None,
) -> Iterator[Scored]:
    """Every conversation of the export, graded, in export order (held 24 h, see above)."""
    repeats = RepeatContacts(grader.weights)
    for _, item in read_export(path, progress):
        if isinstance(item, BadLine):
            on_bad(item)
            continue
        scored = grader.grade(item)
        if keep_text:
            scored = replace(scored, messages=_redacted(item))
        yield from repeats.add(scored)
    yield from repeats.finish()


def _redacted(conversation: Conversation) -> tuple[dict[str, str], ...]:
    return tuple({"role": m.role, "text": redact(m.text)} for m in conversation.messages)


def to_record(scored: Scored) -> ConversationRecord:
    """A scored conversation as the history keeps it (questions and text redacted)."""
    return ConversationRecord(
        id=scored.id, started_at=scored.started_at, customer=scored.customer,
        channel=scored.channel, topic=scored.topic, csat=scored.csat, outcome=scored.outcome,
        automated=scored.automated, handoff=scored.handoff, score=scored.score,
        review=scored.review, grades={n: d.grade for n, d in scored.grades.items()},
        reasons=scored.reasons, messages=scored.messages,
        gaps=tuple({"question": redact(g.question), "confidence": g.confidence,
                    "article": g.article} for g in scored.gaps),
    )


class _Recorder:
    """Upserts scored conversations into the history, BATCH at a time."""

    def __init__(self, history: History, run_id: int) -> None:
        self.history, self.run_id = history, run_id
        self._batch: list[ConversationRecord] = []
        self.count = 0

    def add(self, scored: Scored) -> None:
        self._batch.append(to_record(scored))
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.history.record_conversations(self.run_id, self._batch)
        self.count += len(self._batch)
        self._batch = []


def cmd_score(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    export = Path(args.export)
    if not export.is_file():
        raise HarnessError(f"{export}: no such export file (JSONL, one conversation a line)")
    history = None if args.no_history else open_history(args.history, store.root)
    bad: list[BadLine] = []

    def on_bad(item: BadLine) -> None:
        bad.append(item)
        if len(bad) <= BAD_LINES_SHOWN:
            print(f"skipped: {item.error}", file=sys.stderr)

    tally = Tally(worst_n=args.worst)
    output = JsonList(Path(args.json)) if args.json else None
    recorder = None
    if history is not None:
        run_id = history.start_run("score", str(export), provenance_of(store))
        recorder = _Recorder(history, run_id)
    progress = Progress(export.stat().st_size, lambda text: print(text, file=sys.stderr),
                        every=PROGRESS_EVERY)
    try:
        grader = ProductionGrader(store)
        for scored in score_export(export, grader, on_bad=on_bad, keep_text=recorder is not None,
                                   progress=progress):
            tally.add(scored)
            if output:
                output.add(scored.to_json())
            if recorder:
                recorder.add(scored)
    except BaseException:
        if output:
            output.abort()
        raise
    if output:
        output.close()
    if len(bad) > BAD_LINES_SHOWN:
        print(f"skipped: ... and {len(bad) - BAD_LINES_SHOWN} more malformed line(s)",
              file=sys.stderr)
    print("\n".join(tally.lines(str(export), len(bad))))
    if recorder and history:
        recorder.flush()
        history.finish_run(recorder.run_id, recorder.count)
        print(f"\nrecorded in the history ({history.shown}), run {recorder.run_id}")
    if output:
        print(f"wrote {output.path}")
    return 1 if bad else 0


def register(commands: Any) -> None:
    """Add `harness score` to the CLI's subcommands."""
    score = commands.add_parser(
        "score", help="grade real conversations of a helpdesk export (JSONL) with the rubric")
    score.add_argument("export", help="the export: one conversation per line (FORMATS.md)")
    score.add_argument("--store", help="the store's folder (default: the current one)")
    score.add_argument("--json", metavar="PATH", help="write every conversation's grades as"
                       " a JSON list (the shape of the run report's cases)")
    where = score.add_mutually_exclusive_group()
    where.add_argument("--history", metavar="URL", help="the history database (an SQLAlchemy"
                       " URL; default: .harness-history.sqlite3 in the store)")
    where.add_argument("--no-history", action="store_true", help="record nothing")
    score.add_argument("--worst", type=int, default=10, metavar="N",
                       help="rows shown for a large export: its N worst (default 10)")
    score.set_defaults(func=cmd_score)
