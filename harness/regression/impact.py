"""Impact selection: which fixtures a change since a git ref can affect (`--changed-since`).

A case runs when the prompt or catalog changed (that reaches every case), when its fixture
changed or is new, when it is a target or has no baseline entry, or when an article changed
since REF (added, edited, removed, or with a changed validity) is among the articles it
retrieved in the baseline, retrieves now, or expects. Because retrieval is re-done for every
case (cheap: no model call), a case whose retrieved articles differ from the baseline's runs
too: an edit that reshuffles retrieval elsewhere is not missed.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.regression.baseline import Entry
from harness.store.schema import Case

__all__ = ["Change", "changes_since", "selection_note", "why_run"]


@dataclass(frozen=True)
class Change:
    """What changed in a store since a git ref."""

    ref: str
    articles: frozenset[str]
    fixtures: frozenset[Path]
    everything: str | None  # why every case is affected (prompt or catalog changed), if so


def _git_lines(root: Path, *args: str) -> list[str]:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise HarnessError(f"--changed-since: git {' '.join(args)} failed in {root}:"
                           f" {done.stderr.strip() or done.returncode}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def changes_since(root: Path, ref: str) -> Change:
    """Files changed between `ref` and the working tree (committed or not, new included)."""
    top = Path(_git_lines(root, "rev-parse", "--show-toplevel")[0]).resolve()
    known = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet",
                            f"{ref}^{{commit}}"], capture_output=True, check=False)
    if known.returncode != 0:
        raise HarnessError(f"--changed-since {ref}: no such commit (in CI, fetch it first)")
    names = _git_lines(root, "diff", "--name-only", ref, "--", ".")
    names += _git_lines(root, "ls-files", "--others", "--exclude-standard", "--", ".")
    paths = [(top / name).resolve() for name in names]
    store = root.resolve()
    relative = [p.relative_to(store) for p in paths if p.is_relative_to(store)]
    articles = frozenset(p.stem for p in relative
                         if p.parts[:2] == ("knowledge", "articles") and p.suffix == ".md")
    fixtures = frozenset(store / p for p in relative if p.parts[:1] == ("suites",)
                         and p.suffix in (".yaml", ".yml"))
    shared = sorted(str(p) for p in relative
                    if p.parts[:1] == ("prompts",) or p == Path("knowledge/catalog.yaml"))
    everything = f"{', '.join(shared)} changed" if shared else None
    return Change(ref, articles, fixtures, everything)


def why_run(case: Case, change: Change, old: Entry | None, retrieved: Iterable[str],
            targeted: bool) -> str | None:
    """Why this case must run after `change`, or None if it cannot be affected."""
    now = set(retrieved)
    if change.everything:
        return change.everything
    if case.path is not None and case.path.resolve() in change.fixtures:
        return "its fixture changed"
    if targeted:
        return "it is a target"
    if old is None:
        return "it has no baseline entry"
    for label, ids in (("retrieved", old.retrieved), ("retrieves", now),
                       ("expects", case.expect.articles)):
        hit = sorted(change.articles.intersection(ids))
        if hit:
            return f"it {label} changed article {', '.join(hit)}"
    if set(old.retrieved) != now:
        return "its retrieved articles differ from the baseline's"
    return None


def selection_note(ref: str, ran: int, skipped: int, reasons: Counter[str]) -> str:
    """One line for the run's output: how many cases ran, how many were skipped, and why."""
    why = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()
                    if reason != "unaffected")
    skip = ("no article they retrieve or expect changed, prompt and catalog unchanged"
            if skipped else "the change can reach every case")
    return (f"--changed-since {ref}: running {ran} of {ran + skipped} cases, skipped {skipped}"
            f" ({skip}); why the others run: {why or 'none'}")
