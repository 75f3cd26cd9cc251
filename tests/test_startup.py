"""Start-up: litellm's import (seconds of CPU) is paid only by a run that calls a model."""

from __future__ import annotations

import pytest
from storekit import case

SUITES = {"core": {f"q{n}": case(f"How many days do I have to return item {n}?")
                   for n in range(3)}}

# A plugin of the run under test: what it sees when collection has ended, before any model call.
PROBE = '''
import sys
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    with open("probe.txt", "w") as out:
        out.write(f"litellm={'litellm' in sys.modules}\\n")
'''


def _probe(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, str]:
    pytester.makepyfile(probe_plugin=PROBE)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-p",
                                           "probe_plugin", "--cache", "off", *args)
    return result, (pytester.path / "probe.txt").read_text().strip()


def test_collect_only_never_imports_litellm(make_store, pytester):
    make_store(root=pytester.path, suites=SUITES)
    result, seen = _probe(pytester, "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    assert seen == "litellm=False"


def test_a_run_prints_nothing_of_litellm_import(make_store, pytester):
    """litellm's import warns (pydantic on its TypedDicts); none of it may reach the output."""
    make_store(root=pytester.path, suites=SUITES)
    result, _ = _probe(pytester)
    assert result.ret == 0, result.stdout.str()
    output = result.stdout.str() + result.stderr.str()
    assert "UserWarning" not in output and "ReadOnly" not in output
