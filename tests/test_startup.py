"""Start-up: litellm's import (seconds of CPU) starts while pytest still collects the store's
fixtures, in a thread the model client waits for, and never in a run that calls no model."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from storekit import case

SUITES = {"core": {f"q{n}": case(f"How many days do I have to return item {n}?")
                   for n in range(3)}}

# A plugin of the run under test: what it sees when collection has ended, before any model call.
PROBE = '''
import sys, threading
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    names = [t.name for t in threading.enumerate()]
    with open("probe.txt", "w") as out:
        out.write(f"thread={'harness-litellm-import' in names} "
                  f"litellm={'litellm' in sys.modules}\\n")
'''


def _probe(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(probe_plugin=PROBE)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-p",
                                           "probe_plugin", "--cache", "off", *args)
    assert result.ret in (0, 1), result.stdout.str()
    return (pytester.path / "probe.txt").read_text()


def test_the_import_starts_during_collection(make_store, pytester):
    make_store(root=pytester.path, suites=SUITES)
    seen = _probe(pytester)
    # started by the first fixture: by the end of collection it is running or done
    assert "thread=True" in seen or "litellm=True" in seen, seen


def test_collect_only_never_imports_litellm(make_store, pytester):
    make_store(root=pytester.path, suites=SUITES)
    pytester.makepyfile(probe_plugin=PROBE)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-p",
                                           "probe_plugin", "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "probe.txt").read_text().strip() == "thread=False litellm=False"


def test_the_client_waits_for_the_background_import():
    """In a fresh interpreter: one thread, started once; the module the client gets is the one
    the thread imported, whole (the thread has ended)."""
    script = textwrap.dedent('''
        import sys
        from harness.providers import client
        assert "litellm" not in sys.modules
        assert client.import_in_background() is True
        assert client.import_in_background() is False
        thread = client._IMPORTING["thread"]
        module = client.litellm_module()
        assert not thread.is_alive()
        assert module is sys.modules["litellm"]
        assert module.suppress_debug_info is True and hasattr(module, "acompletion")
        print("ok")
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
