"""The committed baseline of a suite: one JSON file, `suites/<suite>/baseline.json`.

Stable key order and one entry per case, so a pull request shows exactly which cases moved.
It records what it was made with (model, prompt and KB hashes, harness version) so that a run
against a baseline made differently can say so. Only `--update-baseline` writes it, atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import BaselineError, HarnessError
from harness.regression.repeats import pass_hat_k
from harness.store.loading import Store

__all__ = [
    "SCHEMA_VERSION", "Baseline", "Entry", "Provenance", "baseline_path", "provenance_of",
    "read_baseline", "recover", "render_baseline", "write_all_atomic", "write_atomic",
]

SCHEMA_VERSION = 1
FILE_NAME = "baseline.json"


@dataclass(frozen=True, slots=True)
class Entry:
    """A case's graded result, as kept in a baseline (nothing volatile: no latency, no tokens)."""

    score: float
    passed: bool
    review: bool
    outcome: str | None
    grades: Mapping[str, str]
    reasons: Mapping[str, str]
    reply: str
    error: str | None = None
    samples: int = 1  # with --repeat K: K, and the pass rate of each dimension
    pass_rates: Mapping[str, float] = field(default_factory=dict)
    flaky: tuple[str, ...] = ()
    judge: Mapping[str, str] = field(default_factory=dict)  # the LLM judge's grades, if any
    retrieved: tuple[str, ...] = ()  # the articles retrieved: what impact selection keys on
    as_of: str | None = None  # the date the KB was served at (calendar drift is told by it)
    grade_counts: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)  # --repeat
    case_passes: int | None = None  # --repeat: samples passing every dimension

    def pass_hat(self, k: int) -> float | None:
        """pass^k of the whole case: the chance that k fresh samples all pass every dimension,
        from this entry's --repeat samples; None for a single sample or k above the samples."""
        if self.samples < 2 or self.case_passes is None or not 1 <= k <= self.samples:
            return None
        return pass_hat_k(self.case_passes, self.samples, k)

    def to_json(self) -> dict[str, Any]:
        data = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}
        if self.samples == 1:  # a single-sample baseline stays free of repeat fields
            for key in ("samples", "pass_rates", "flaky", "grade_counts", "case_passes"):
                data.pop(key)
        else:
            data["flaky"] = list(self.flaky)
            data["grade_counts"] = {n: list(c) for n, c in self.grade_counts.items()}
        if not self.judge:
            data.pop("judge")
        data["retrieved"] = list(self.retrieved)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        grades, error = dict(data.get("grades", {})), data.get("error")
        passed = data.get("passed", error is None and all(g == "pass" for g in grades.values()))
        return cls(
            score=float(data["score"]), passed=bool(passed), review=bool(data.get("review")),
            outcome=data.get("outcome"), grades=grades,
            reasons=dict(data.get("reasons", {})), reply=str(data.get("reply", "")),
            error=error, samples=int(data.get("samples") or 1),
            pass_rates=dict(data.get("pass_rates") or {}), flaky=tuple(data.get("flaky") or ()),
            judge=dict(data.get("judge") or {}), retrieved=tuple(data.get("retrieved") or ()),
            as_of=data.get("as_of"),
            grade_counts={n: tuple(c) for n, c in (data.get("grade_counts") or {}).items()},
            case_passes=data.get("case_passes"),
        )


@dataclass(frozen=True)
class Provenance:
    harness: str
    model: str
    prompt: str
    kb: str

    def differences(self, other: Provenance) -> list[str]:
        labels = {"harness": "harness version", "model": "model", "prompt": "prompt hash",
                  "kb": "KB hash"}
        mine, theirs = asdict(self), asdict(other)
        notes = {"prompt": " (expected when the change edits prompts/)",
                 "kb": " (expected when the change edits knowledge/)"}
        return [f"{labels[k]} {mine[k]} (baseline) vs {theirs[k]} (this run){notes.get(k, '')}"
                for k in labels if mine[k] != theirs[k]]


@dataclass(frozen=True)
class Baseline:
    suite: str
    made_with: Provenance | None = None
    entries: Mapping[str, Entry] = field(default_factory=dict)
    source: str = ""  # where it was read from, for messages


def _digest(paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def provenance_of(store: Store) -> Provenance:
    prompt_files = [store.root / "prompts" / "agent.yaml", store.template_path]
    knowledge = store.root / "knowledge"
    kb_files = [*sorted(knowledge.rglob("*.md")), knowledge / "catalog.yaml"]
    return Provenance(
        harness=__version__,
        model=store.agent.model_name,
        prompt=_digest([p for p in prompt_files if p.exists()]),
        kb=_digest([p for p in kb_files if p.exists()]),
    )


def baseline_path(root: Path, suite: str) -> Path:
    return root / "suites" / suite / FILE_NAME


def _parse(text: str, suite: str, source: str) -> Baseline:
    try:
        data = json.loads(text)
        if data.get("schema") != SCHEMA_VERSION:
            raise BaselineError(f"{source}: schema {data.get('schema')!r}, expected "
                                f"{SCHEMA_VERSION}; re-record it with --update-baseline")
        made = data.get("made_with")
        return Baseline(
            suite=suite,
            made_with=Provenance(**made) if made else None,
            entries={cid: Entry.from_json(e) for cid, e in data.get("cases", {}).items()},
            source=source,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"{source}: not a readable baseline ({exc}); restore it from git"
                            " or re-record it with --update-baseline") from None


def read_baseline(root: Path, suite: str, ref: str | None = None) -> Baseline:
    """The suite's baseline from the working tree, or from git at `ref`; empty if none."""
    path = baseline_path(root, suite)
    if ref is None:
        recover(root)
        if not path.exists():
            return Baseline(suite, source=str(path))
        return _parse(path.read_text(encoding="utf-8"), suite, str(path))
    text = _git_show(root, ref, path)
    return _parse(text, suite, f"{ref}:{path.name}") if text is not None else Baseline(suite)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=False)


def _git_show(root: Path, ref: str, path: Path) -> str | None:
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise BaselineError(f"--baseline-ref {ref}: no such commit in the git repository at"
                            f" {root} (in CI, fetch the target branch first)")
    top = _git(root, "rev-parse", "--show-toplevel").stdout.strip()
    relative = path.resolve().relative_to(Path(top).resolve()).as_posix()
    shown = _git(root, "show", f"{ref}:{relative}")
    return shown.stdout if shown.returncode == 0 else None


def render_baseline(suite: str, made_with: Provenance, entries: Mapping[str, Entry]) -> str:
    document = {
        "schema": SCHEMA_VERSION,
        "suite": suite,
        "made_with": asdict(made_with),
        "cases": {cid: entries[cid].to_json() for cid in sorted(entries)},
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _temporary(path: Path, text: str | Iterable[str]) -> Path:
    """`text` (or its pieces, written as they come) flushed to disk in a temporary file beside
    `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_file():
        raise HarnessError(f"{path}: not a regular file; give the path of a file to write")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; the file keeps its mode, or follows the umask
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write through a temporary file and rename: a reader never sees half a file, and a
    directory or device in the way is refused rather than replaced."""
    temporary = _temporary(path, text)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


PENDING = ".harness-baselines.pending.json"  # in the store: renames still to do


def write_all_atomic(files: Mapping[Path, str]) -> None:
    """Several baselines, all or none: every one is written to a temporary file first; a
    journal in the store lists the renames; then they are made and the journal removed. A run
    killed before the journal is complete leaves every old baseline; killed after, the next
    run finishes the renames (`recover`) before it reads any baseline."""
    temporaries: dict[Path, Path] = {}
    try:
        for path, text in files.items():
            temporaries[path] = _temporary(path, text)
    except BaseException:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        raise
    by_root: dict[Path, dict[Path, Path]] = {}
    for path, temporary in temporaries.items():
        by_root.setdefault(path.parent.parent.parent, {})[path] = temporary
    for root, pairs in by_root.items():
        journal = {str(p): str(tmp) for p, tmp in pairs.items()}
        write_atomic(root / PENDING, json.dumps(journal, indent=1) + "\n")
    for root, pairs in by_root.items():
        for path, temporary in pairs.items():
            os.replace(temporary, path)
        (root / PENDING).unlink(missing_ok=True)


def recover(root: Path) -> None:
    """Finish a baseline update that a kill interrupted after its journal was complete; drop
    the temporary files of one interrupted before."""
    journal = root / PENDING
    pending: dict[str, str] = {}
    if journal.is_file():
        try:
            pending = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pending = {}  # a journal cut short: the renames never began
        for path, temporary in (pending.items() if isinstance(pending, dict) else ()):
            if _journaled(root, path, temporary) and Path(temporary).is_file():
                os.replace(temporary, path)
        journal.unlink(missing_ok=True)
    strays = [*(root / "suites").glob(f"*/.{FILE_NAME}.*.tmp"), *root.glob(f".{PENDING}.*.tmp")]
    for stray in strays:
        stray.unlink(missing_ok=True)


def _journaled(root: Path, path: object, temporary: object) -> bool:
    """A rename the harness itself would journal: a suite's baseline, from its own temporary
    file beside it. A journal committed by a pull request can move nothing else."""
    if not isinstance(path, str) or not isinstance(temporary, str):
        return False
    target, source = Path(path), Path(temporary)
    suites = (root / "suites").resolve()
    return (target.name == FILE_NAME and target.parent.resolve().parent == suites
            and not target.parent.is_symlink() and source.parent == target.parent
            and source.name.startswith(f".{FILE_NAME}.") and source.name.endswith(".tmp"))
