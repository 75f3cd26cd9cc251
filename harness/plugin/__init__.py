"""pytest plugin: `pytest suites/` in any store collects one test item per fixture.

This module only wires pytest hooks to a `HarnessSession` (harness/session.py), which owns the
run. Nothing heavy is imported until a store's fixtures are actually collected, so the plugin
costs nothing in projects that merely have the package installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.plugin.session import HarnessSession

_SESSION = pytest.StashKey["HarnessSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "support-agent regression harness")
    group.addoption("--as-of", metavar="YYYY-MM-DD",
                    help="serve the KB as of this date (fixtures with their own as_of keep it)")
    group.addoption("--update-baseline", action="store_true",
                    help="record this run as the committed baseline of each suite it ran")
    group.addoption("--baseline-ref", metavar="REF",
                    help="read baselines from git at REF (e.g. origin/main) instead of the tree")
    group.addoption("--target", action="append", default=[], metavar="SUITE/ID",
                    help="a case this change means to fix: it must pass (repeatable)")
    group.addoption("--harness-report", metavar="PATH", help="write the run as JSON to PATH")
    group.addoption("--harness-markdown", metavar="PATH",
                    help="write the pull-request summary as Markdown to PATH")
    group.addoption("--harness-html", metavar="PATH",
                    help="write the run as one self-contained HTML page to PATH")
    group.addoption("--history", metavar="URL", nargs="?", const="store",
                    help="record the run in the history database (default: the store's"
                         " SQLite file; or any SQLAlchemy URL)")
    group.addoption("--concurrency", type=int, metavar="N",
                    help="model calls in flight at once (default: agent.yaml's, else 8)")
    group.addoption("--processes", type=int, metavar="N",
                    help="share model calls among N processes (default: one per core when"
                         " --concurrency is 16 or more and there are 200+ calls)")
    group.addoption("--cache", choices=("on", "off", "replay"), default="on",
                    help="response cache: on (call the provider on a miss), off, or replay"
                         " (never call a provider; a miss is an error)")
    group.addoption("--changed-since", metavar="REF",
                    help="run only the fixtures a change since git REF can affect")
    group.addoption("--repeat", type=int, default=1, metavar="K",
                    help="ask the model K times per case and grade pass rates")


class _Receiver:
    """Under pytest-xdist, hands each worker's graded case to the controller's session."""

    def __init__(self, session: HarnessSession) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.session.receive(report)


def pytest_configure(config: pytest.Config) -> None:
    from harness.plugin.session import HarnessSession

    session = config.stash[_SESSION] = HarnessSession.from_pytest(config)
    if session.role == "controller":
        config.pluginmanager.register(_Receiver(session), "harness-xdist-receiver")


def _session(config: pytest.Config) -> HarnessSession:
    return config.stash[_SESSION]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    session = _session(parent.config)
    if session.store_root_for(file_path) is None:
        return None
    from harness.plugin.items import CaseFile

    return CaseFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    _session(config).check_store()
    selected, skipped = _session(config).select(items)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = selected


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    if not session.config.option.collectonly:
        _session(session.config).run(session)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    _session(config).summarize(terminalreporter)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.exitstatus = _session(session.config).finish(session, exitstatus)
