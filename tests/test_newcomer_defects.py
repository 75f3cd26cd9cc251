"""Small defects a newcomer met in the first hour, each fixed and kept fixed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness.cli import main
from harness.store.loading import load_store, load_suites

REPO = Path(__file__).resolve().parent.parent
HARNESS = str(Path(sys.executable).with_name("harness"))


def sample_store(where: Path) -> Path:
    for part in ("knowledge", "prompts", "suites"):
        shutil.copytree(REPO / part, where / part)
    return where


def test_harness_run_into_head_prints_no_broken_pipe_traceback(tmp_path):
    store = sample_store(tmp_path)
    done = subprocess.run(f"'{HARNESS}' run --store '{store}' | head -1", shell=True,
                          capture_output=True, text=True, check=False)
    assert done.stdout.startswith("== ")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_history_is_announced_and_kept_out_of_git(tmp_path):
    store = sample_store(tmp_path)
    subprocess.run(["git", "init", "-q", str(store)], check=True)
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/core", "-p",
                           "no:cacheprovider", "--history"], cwd=store, capture_output=True,
                          text=True, check=False)
    assert "recorded 28 cases in the history" in done.stdout
    assert ".harness-history.sqlite3" in (store / ".gitignore").read_text().split()
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=store,
                            capture_output=True, text=True, check=True).stdout
    assert "!! .harness-history.sqlite3" in status


def test_check_shows_every_problem_of_a_fixture(tmp_path, capsys):
    store = sample_store(tmp_path)
    (store / "suites" / "core" / "broken.yaml").write_text(
        "priority: high\nconversation:\n  - customer: hi\nexpect:\n  outcome: maybe\n"
        "  colour: red\n", encoding="utf-8")
    assert main(["check", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "at `priority`: unknown key" in err
    assert "also:" in err and "expect.outcome" in err and "expect.colour" in err
    _, broken = load_suites(load_store(store))
    assert len(broken) == 1 and len(broken[0].also) == 2
