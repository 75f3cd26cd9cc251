"""pytest plugin: `pytest suites/` in any store collects one test item per fixture.

This module only wires pytest hooks to a `HarnessSession` (plugin/session.py), which hands the
collected fixtures to the pipeline. Nothing heavy is imported until a store's fixtures are
actually collected, so the plugin costs nothing in projects that merely have it installed.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from harness.plugin.stash import ROOTS, SETTINGS, existing_session, session_of


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "support-agent regression harness")
    group.addoption("--as-of", metavar="YYYY-MM-DD",
                    help="serve the KB as of this date (fixtures with their own as_of keep it)")
    group.addoption("--update-baseline", action="store_true",
                    help="record this run as the committed baseline of each suite it ran")
    group.addoption("--accept-failing", action="store_true",
                    help="with --update-baseline: record new cases that fail as known failures"
                         " (without it they are listed and nothing is written)")
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
    group.addoption("--fail-on-calendar-drift", action="store_true",
                    help="fail on cases that are worse only because a dated article entered or"
                         " left its window since the baseline (for a scheduled run)")
    group.addoption("--repeat", type=int, default=1, metavar="K",
                    help="ask the model K times per case and grade pass rates")


class _Receiver:
    """Under pytest-xdist, hands each worker's graded case to the controller's session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if any(name == "harness-result" for name, _ in report.user_properties):
            report.user_properties = session_of(self.config).receive(
                list(report.user_properties), report.when)


class _LightReports:
    """Lightens the passing reports of the store's items once every hook has read them.

    pytest's terminal reporter keeps each item's three reports to the end of the run (their
    durations and sections serve --durations and -rP), and each holds its own copy of the
    item's keywords and user properties, which nothing reads after the report is logged
    (JUnit XML, xdist and the cache read them in the hook itself): about a kilobyte per case,
    10 MB at 10,000 fixtures. Failed and skipped reports are left whole."""

    def __init__(self) -> None:
        self.made: set[int] = set()  # ids of the store's reports not yet logged

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        from harness.plugin.items import CaseItem

        report = yield
        if isinstance(item, CaseItem):
            self.made.add(id(report))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Any:
        try:
            return (yield)
        finally:
            if id(report) in self.made:
                self.made.discard(id(report))
                if report.passed:
                    report.keywords = _NO_KEYWORDS
                    report.user_properties = []


_NO_KEYWORDS: Any = MappingProxyType({})


def pytest_configure(config: pytest.Config) -> None:
    import os

    from harness.errors import HarnessError
    from harness.pipeline.settings import settings_from_options

    try:
        settings = settings_from_options(config.option, os.environ)
    except HarnessError as error:
        raise pytest.UsageError(str(error)) from None
    distributed = getattr(config.option, "dist", "no") not in ("no", None)  # xdist's -n
    role = "worker" if hasattr(config, "workerinput") else (
        "controller" if distributed else "solo")
    config.stash[SETTINGS] = (settings, role)
    config.pluginmanager.register(_LightReports(), "harness-light-reports")
    if role == "controller":
        config.pluginmanager.register(_Receiver(config), "harness-xdist-receiver")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    roots = parent.config.stash.setdefault(ROOTS, {})
    folder = file_path.parent
    if folder not in roots:  # one look per suite folder, one root object for all its files
        from harness.store.loading import store_root_for

        found = store_root_for(file_path)
        roots[folder] = next((r for r in roots.values() if r == found), found)
    root = roots[folder]
    if root is None:
        return None
    from harness.plugin.items import CaseFile

    return CaseFile.from_parent(parent, path=file_path, root=root)


def _collected(items: list[pytest.Item]) -> list[Any]:
    from harness.plugin.items import CaseItem

    return [item.collected if isinstance(item, CaseItem) else None for item in items]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    from harness.errors import HarnessError

    harness = existing_session(config)
    if harness is None:
        return
    try:
        harness.check_stores()
        keep = harness.select(_collected(items))
    except HarnessError as error:
        raise pytest.UsageError(str(error)) from None
    skipped = [item for item, kept in zip(items, keep, strict=True) if not kept]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item, kept in zip(items, keep, strict=True) if kept]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    if session.config.option.collectonly:
        return None
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return None  # pytest stops on collection errors: no model is called
    from harness.reports.terminal import Progress

    harness = existing_session(session.config)
    if harness is None:
        return None
    collected = [c for c in _collected(session.items) if c is not None]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    harness.run(collected, Progress(reporter))
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    harness = existing_session(config)
    if harness is None:
        return
    lines = harness.summary(verbose=config.option.verbose > 0,
                            width=terminalreporter._tw.fullwidth,
                            colour=terminalreporter._tw.hasmarkup)
    if lines:
        terminalreporter.write_sep("=", "harness summary")
    for line in lines:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from harness.errors import HarnessError

    harness = existing_session(session.config)
    if harness is None:
        return
    try:
        passed = harness.finish()
    except HarnessError as error:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"harness: {error}")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    if passed is False and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
