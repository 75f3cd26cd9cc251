"""Shared fixtures: `make_store` writes a small store from Python values (tests/storekit.py);
`fake_openai` serves scripted chat completions on 127.0.0.1 (tests/fake_openai.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Before anything imports litellm: never fetch its price list (see harness/providers/client.py).
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from storekit import write_store

pytest_plugins = ["pytester", "fake_openai"]

# The test stores are data: their fixtures run in tests that copy them, not as test items here.
collect_ignore = ["stores"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_model: needs SmolLM2 served from .venv-llm (tests/realmodel/setup.sh);"
        " deselect with -m 'not real_model'")


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Path]:
    """`make_store(**parts)` writes a store (see `write_store`) and returns its root.

    Each call makes a new store under tmp_path unless `root=` says where."""
    made = itertools.count()

    def make(*, root: Path | None = None, **parts: Any) -> Path:
        return write_store(root or tmp_path / f"store{next(made)}", **parts)

    return make
