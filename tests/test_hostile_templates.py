"""Template runtime errors and symlinks out of prompts/ (issue 15, item 3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.agent.prompt import render_system_prompt
from harness.cli import main
from harness.errors import TemplateError
from harness.store.loading import load_store

BROKEN = {
    "zero": "{{ 1 // 0 }}",
    "types": "{{ 'a' + 1 }}",
    "recursive": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
}


def _render(root: Path) -> str:
    store = load_store(root)
    return render_system_prompt(store.template_path, tone=store.agent.tone,
                                articles=store.articles, conversation=(),
                                catalog=store.catalog)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_runtime_error_is_a_template_error_naming_the_file(make_store, name):
    root = make_store(template=f"Hello\n{BROKEN[name]}\n")
    with pytest.raises(TemplateError) as caught:
        _render(root)
    assert "system.md.j2" in str(caught.value)
    assert caught.value.line == 2 or name == "recursive"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_renders_the_template_and_reports_it(make_store, capsys, name):
    root = make_store(template=f"Hello\n{BROKEN[name]}\n")
    assert main(["check", "--store", str(root)]) == 1
    err = capsys.readouterr().err
    assert "system.md.j2" in err and "template error" in err and "Traceback" not in err


def test_a_symlink_out_of_prompts_is_refused(make_store, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET-CONTENT-OUTSIDE", encoding="utf-8")
    root = make_store(template='{% include "extra.txt" %}\n')
    os.symlink(outside, root / "prompts" / "extra.txt")
    with pytest.raises(TemplateError, match="leads outside prompts/"):
        _render(root)


def test_a_symlinked_template_itself_is_refused(make_store, tmp_path):
    outside = tmp_path / "elsewhere.j2"
    outside.write_text("hello", encoding="utf-8")
    root = make_store()
    (root / "prompts" / "system.md.j2").unlink()
    os.symlink(outside, root / "prompts" / "system.md.j2")
    with pytest.raises(TemplateError, match="leads outside"):
        _render(root)


def test_an_include_inside_prompts_still_works(make_store):
    root = make_store(template='{% include "part.txt" %}\n')
    (root / "prompts" / "part.txt").write_text("a shared part", encoding="utf-8")
    assert "a shared part" in _render(root)
