"""One pytest run of a store: collect cases, run them, and report (the plugin's state)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from harness.agent import Agent, Run
from harness.errors import HarnessError
from harness.loading import Store, StoreLoadError, find_store_root, load_case, load_store
from harness.pytest_items import CaseFailed, CaseItem
from harness.runner import run_cases
from harness.schema import Case
from harness.settings import Settings, parse_date

__all__ = ["HarnessSession"]


class HarnessSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stores: dict[Path, Store | StoreLoadError] = {}
        self.taken_ids: dict[Path, dict[str, Path]] = {}
        self.runs: dict[str, Run] = {}
        self.items: list[CaseItem] = []

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> HarnessSession:
        option = config.option
        try:
            as_of = parse_date(option.as_of) if option.as_of else None
        except HarnessError as error:
            raise pytest.UsageError(str(error)) from None
        if option.concurrency is not None and option.concurrency < 1:
            raise pytest.UsageError("--concurrency: expected a whole number of 1 or more")
        return cls(Settings(
            today=dt.date.today(),
            as_of=as_of,
            concurrency=option.concurrency or 8,
            update_baseline=option.update_baseline,
            baseline_ref=option.baseline_ref,
            targets=tuple(option.target),
            report_path=Path(option.harness_report) if option.harness_report else None,
        ))

    # -- collection ----------------------------------------------------------------------

    def store_root_for(self, path: Path) -> Path | None:
        """The store whose `suites/<suite>/` holds `path`, if any."""
        if path.parent.parent.name != "suites":
            return None
        root = find_store_root(path.parent.parent.parent)
        return root if root == path.parent.parent.parent else None

    def store(self, root: Path) -> Store | None:
        if root not in self.stores:
            try:
                self.stores[root] = load_store(root)
            except StoreLoadError as error:
                self.stores[root] = error
        loaded = self.stores[root]
        return loaded if isinstance(loaded, Store) else None

    def load_case(self, path: Path) -> Case | None:
        root = self.store_root_for(path)
        store = self.store(root) if root else None
        if store is None:
            return None
        return load_case(path, store, self.taken_ids.setdefault(root, {}))

    def check_store(self) -> None:
        """A broken article, catalog or agent.yaml stops the run before any model call."""
        broken = [str(e) for e in self.stores.values() if isinstance(e, StoreLoadError)]
        if broken:
            raise pytest.UsageError("\n".join(broken))

    # -- running -------------------------------------------------------------------------

    def run(self, session: pytest.Session) -> None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return  # pytest stops on collection errors: no model is called
        items = session.items
        self.items = [i for i in items if isinstance(i, CaseItem)]
        by_store: dict[Path, list[Case]] = {}
        for item in self.items:
            if item.case is not None:
                by_store.setdefault(self.store_root_for(item.path), []).append(item.case)
        for root, cases in by_store.items():
            store = self.store(root)
            assert store is not None  # check_store stopped the run otherwise
            agent = Agent(store, as_of=self.settings.as_of, today=self.settings.today)
            self.runs.update(run_cases(agent, cases, concurrency=self.settings.concurrency))

    def check_item(self, item: CaseItem) -> None:
        run = self.runs.get(item.case_id)
        if run is None:
            raise CaseFailed(f"{item.case_id}: the case was not run")
        if run.error:
            raise CaseFailed(f"{item.case_id}: error: {run.error}")

    # -- reporting -----------------------------------------------------------------------

    def summarize(self, reporter: Any) -> None:
        if not self.runs:
            return
        verbose = reporter.config.option.verbose > 0
        reporter.write_sep("=", "harness: replies")
        for case_id, run in self.runs.items():
            outcome = run.outcome or "error"
            reporter.write_line(f"{case_id}  [{outcome}] {run.why or run.error}")
            reply = run.reply if verbose else _excerpt(run.reply, 160)
            for line in reply.splitlines() or [""]:
                if line.strip():
                    reporter.write_line(f"    {line}")

    def finish(self, session: pytest.Session, exitstatus: int) -> int:
        return exitstatus


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
