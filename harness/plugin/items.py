"""The pytest collection tree of a store: one `CaseFile` per fixture, one `CaseItem` in each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError, LoadError
from harness.store.schema import Case

if TYPE_CHECKING:
    from harness.plugin.session import HarnessSession

__all__ = ["CaseFailed", "CaseFile", "CaseItem"]


class CaseFailed(HarnessError):
    """The gate's verdict on one case, already written for a person."""


def harness_session(node: pytest.Node) -> HarnessSession:
    from harness.plugin import _session

    return _session(node.config)


class CaseFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        session = harness_session(self)
        try:
            case = session.load_case(self.path)
        except LoadError as error:
            return [CaseItem.from_parent(self, name=self.path.stem, case=None, error=error)]
        if case is None:  # the store itself is broken: reported once, by the session
            return []
        return [CaseItem.from_parent(self, name=case.id, case=case, error=None)]


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case | None, error: LoadError | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.load_error = error
        if case is not None:
            self.user_properties.append(("case", case.case_id))

    @property
    def case_id(self) -> str:
        if self.case is not None:
            return self.case.case_id
        return f"{self.path.parent.name}/{self.path.stem}"

    def runtest(self) -> None:
        harness_session(self).check_item(self)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, HarnessError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.load_error.line if self.load_error else None
        return self.path, (line - 1) if line else None, f"case {self.case_id}"
