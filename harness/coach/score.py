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

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from harness.coach.handover import REPEAT_WINDOW, is_repeat_contact
from harness.coach.production import ProductionGrader, Scored, with_repeat
from harness.coach.redact import redact
from harness.coach.score_output import JsonList, Tally
from harness.errors import HarnessError, LoadError
from harness.history import ConversationRecord, History
from harness.regression.baseline import provenance_of
from harness.store.conversations import BadLine, Conversation, Progress, read_export
from harness.store.loading import Store
from harness.text.matching import PatternTimeout

__all__ = [
    "BAD_LINES_SHOWN", "RepeatContacts", "ScoreRun", "score_export", "score_file", "to_record",
]

WINDOW = REPEAT_WINDOW
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
    return is_repeat_contact(earlier.topic, earlier.started_at, later.topic, later.started_at,
                             window)


def score_export(
    path: Path, grader: ProductionGrader, *, on_bad: Callable[[BadLine], None],
    keep_text: bool = False, progress: Progress | None = None,
) -> Iterator[Scored]:
    """Every conversation of the export, graded, in export order (held 24 h, see above)."""
    repeats = RepeatContacts(grader.weights)
    for number, item in read_export(path, progress):
        if isinstance(item, BadLine):
            on_bad(item)
            continue
        try:
            scored = grader.grade(item)
        except PatternTimeout as error:  # one customer's words, not the export: skip the line
            on_bad(BadLine(LoadError(path, f"conversation {item.id!r} not scored: {error}"
                                           " (a pattern of prompts/agent.yaml)", line=number)))
            continue
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

    def interrupted(self) -> None:
        """Ctrl-C mid-export: keep what was scored, under a run that says how many and that
        it stopped; a run that recorded nothing is removed, so no review can cite it."""
        with contextlib.suppress(Exception):
            self.flush()
        if self.count:
            self.history.finish_run(self.run_id, self.count, gate="interrupted")
        else:
            self.history.delete_run(self.run_id)


@dataclass(frozen=True)
class ScoreRun:
    """What `harness score` did: the tally to print, where it recorded and wrote."""

    tally: Tally
    bad: tuple[BadLine, ...]
    recorded: str | None = None  # "the history (URL), run N", when recorded
    wrote: Path | None = None


def score_file(store: Store, export: Path, *, history: History | None, json_path: Path | None,
               worst: int, on_bad: Callable[[BadLine], None],
               on_progress: Callable[[str], None]) -> ScoreRun:
    """Grade every conversation of an export; record them and write the JSON list if asked."""
    if not export.is_file():
        raise HarnessError(f"{export}: no such export file (JSONL, one conversation a line)")
    bad: list[BadLine] = []

    def bad_line(item: BadLine) -> None:
        bad.append(item)
        on_bad(item)

    tally = Tally(worst_n=worst)
    output = JsonList(json_path) if json_path else None
    recorder = None
    if history is not None:
        recorder = _Recorder(history, history.start_run("score", str(export),
                                                        provenance_of(store)))
    progress = Progress(export.stat().st_size, on_progress, every=PROGRESS_EVERY)
    try:
        grader = ProductionGrader(store)
        for scored in score_export(export, grader, on_bad=bad_line,
                                   keep_text=recorder is not None, progress=progress):
            tally.add(scored)
            if output:
                output.add(scored.to_json())
            if recorder:
                recorder.add(scored)
    except BaseException:
        if output:
            output.abort()
        if recorder:
            recorder.interrupted()
        raise
    if output:
        output.close()
    recorded = None
    if recorder and history:
        recorder.flush()
        history.finish_run(recorder.run_id, recorder.count)
        recorded = f"the history ({history.shown}), run {recorder.run_id}"
    return ScoreRun(tally, tuple(bad), recorded, output.path if output else None)
