"""The design as a test: the import graph flows one way, and only harness/cli/ talks to a
person on the command line (argparse, print). ARCHITECTURE.md draws the layers."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter import cli as importlinter_cli

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def test_the_layering_contract_of_pyproject_holds():
    """import-linter's `layers` contract (pyproject.toml [tool.importlinter])."""
    config = str(HARNESS.parent / "pyproject.toml")
    status = importlinter_cli.lint_imports(config_filename=config)
    assert status == importlinter_cli.EXIT_STATUS_SUCCESS


def _domain_modules() -> list[Path]:
    return [p for p in HARNESS.rglob("*.py") if "cli" not in p.relative_to(HARNESS).parts]


def test_no_domain_module_parses_arguments_or_prints():
    offenders = []
    for path in _domain_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]
                if "argparse" in names:
                    offenders.append(f"{path.relative_to(HARNESS)}: imports argparse")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                offenders.append(f"{path.relative_to(HARNESS)}:{node.lineno}: print()")
    assert offenders == []
