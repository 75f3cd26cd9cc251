"""The pytest collection tree of a store: one `CaseFile` per fixture, one `CaseItem` in each."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import HarnessError
from harness.plugin.session import Collected
from harness.plugin.stash import session_of

__all__ = ["CaseFile", "CaseItem"]


class CaseFile(pytest.File):
    def __init__(self, *, root: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root  # the store's folder, found once when the file was collected

    def collect(self) -> list[pytest.Item]:
        collected = session_of(self.config).collect(self.root, self.path)
        if collected is None:  # the store itself is broken: reported once, by the session
            return []
        name = collected.case.id if collected.case else self.path.stem
        return [CaseItem.from_parent(self, name=name, collected=collected)]


class CaseItem(pytest.Item):
    def __init__(self, *, collected: Collected, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.collected = collected
        if collected.case is not None:
            self.user_properties.append(("case", collected.case_id))

    @property
    def case_id(self) -> str:
        return self.collected.case_id

    def runtest(self) -> None:
        session_of(self.config).check(self.collected, self.user_properties)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, HarnessError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        error = self.collected.error
        line = error.line if error else None
        return self.path, (line - 1) if line else None, f"case {self.case_id}"
