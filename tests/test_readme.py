"""README.md's commands work as written after the Quick start (issue 11).

A newcomer copies commands from the README top to bottom. This reads every command line of its
shell blocks and checks what can be checked without running the whole tour: the README says to
activate the environment before the first bare `pytest` or `harness`; every `harness`
subcommand exists and takes the options shown; every `pytest` option shown is one the plugin
registers. (The commands themselves are exercised by the tests of each feature.)
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _command_lines() -> list[tuple[int, str]]:
    """(line number, command) of every ```sh block and 4-space indented command block."""
    lines, inside, found = README.splitlines(), False, []
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            inside = line.strip() == "```sh" if not inside else False
            continue
        text = line if inside else (line[4:] if line.startswith("    ") else "")
        for part in re.split(r"&&|;|\|", text.split(" #", 1)[0]):
            part = part.strip()
            if re.match(r"(\.venv/bin/)?(pytest|harness) ", part + " ") and "[" not in part:
                found.append((number, part))
    return found


COMMANDS = _command_lines()
QUICK_START_END = README.index("## A store")


def test_the_readme_shows_commands():
    assert len([c for _, c in COMMANDS if c.startswith("harness")]) >= 8
    assert len([c for _, c in COMMANDS if c.startswith("pytest")]) >= 5


def test_activation_comes_before_the_first_bare_command():
    activate = README[:README.index(". .venv/bin/activate")].count("\n") + 1
    assert activate < README[:QUICK_START_END].count("\n") + 1
    first_bare = min(line for line, c in COMMANDS if not c.startswith(".venv/"))
    assert activate < first_bare


def _words(command: str) -> list[str]:
    return shlex.split(command)


@pytest.mark.parametrize(("line", "command"),
                         [c for c in COMMANDS if re.match(r"(\.venv/bin/)?harness ", c[1])],
                         ids=lambda value: str(value) if isinstance(value, int) else None)
def test_each_harness_command_parses(line: int, command: str, capsys):
    words = _words(command)[1:]
    with pytest.raises(SystemExit) as stopped:
        main([*words, "--help"])
    assert stopped.value.code == 0, f"README.md:{line}: `{command}` is not a harness command"


@pytest.fixture(scope="module")
def pytest_options() -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    return done.stdout


def test_each_pytest_option_is_registered(pytest_options: str):
    unknown = [(line, word) for line, command in COMMANDS if command.startswith(("pytest",
               ".venv/bin/pytest"))
               for word in _words(command) if word.startswith("--")
               if word.split("=")[0] not in pytest_options]
    assert unknown == [], f"README.md options pytest does not know: {unknown}"
