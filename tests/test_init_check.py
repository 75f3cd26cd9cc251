"""`harness init` writes a store that passes offline; `harness check` warns when the prompt
drops what the model needs; `harness run --show-prompt` prints the messages sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.store.starter import STARTER_FILES


def _init(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    assert main(["init", str(root)]) == 0
    return root


def test_init_writes_a_store_that_passes_offline(tmp_path, capsys):
    root = _init(tmp_path)
    for relative in STARTER_FILES:
        assert (root / relative).is_file(), relative
    assert (root / ".github" / "workflows" / "kb-gate.yml").is_file()
    env = {**os.environ, "LITELLM_OFFLINE_MODE": "true", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/", "-q", "-p",
                           "no:cacheprovider"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "GATE PASS" in done.stdout


def test_init_refuses_a_folder_that_holds_a_store(tmp_path, capsys):
    root = _init(tmp_path)
    assert main(["init", str(root)]) == 1
    assert "already holds" in capsys.readouterr().err


def test_check_finds_nothing_wrong_with_the_starter(tmp_path, capsys):
    root = _init(tmp_path)
    capsys.readouterr()
    assert main(["check", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning" not in out
    assert "reference model understood" in out
    assert "word limit 110" in out and "Happy brewing, the Leaf & Kettle team" in out


@pytest.mark.parametrize(("old", "new", "warning"), [
    ("{{ a.body }}", "(see the help centre)", "its body never reaches the model"),
    ("Sign every reply with: {{ tone.sign_off }}", "Be kind.", "sign-off"),
    ('- {{ p.name }}: {{ "%.2f" | format(p.price) }} {{ currency }}', "- {{ p.sku }}",
     "its record never reaches the model"),
    ("under {{ tone.max_words }} words", "short", "word limit (110)"),
])
def test_check_warns_when_the_prompt_drops_what_the_model_needs(tmp_path, capsys, old, new,
                                                                  warning):
    root = _init(tmp_path)
    template = root / "prompts" / "system.md.j2"
    text = template.read_text(encoding="utf-8")
    assert old in text
    template.write_text(text.replace(old, new), encoding="utf-8")
    capsys.readouterr()
    main(["check", "--store", str(root)])
    out = capsys.readouterr().out
    assert "warning" in out and warning in out, out


def test_run_show_prompt_prints_the_messages_and_the_reply(tmp_path, capsys):
    root = _init(tmp_path)
    capsys.readouterr()
    assert main(["run", "core/shipping-cost", "--store", str(root), "--show-prompt"]) == 0
    out = capsys.readouterr().out
    assert "-- messages sent to reference/kb-grounded --" in out
    assert "[system]" in out and "### Shipping costs and delivery times (shipping)" in out
    assert "[user]" in out and "How much is standard shipping" in out
    assert "-- the model's reply --" in out and "$4.95" in out


def test_run_show_prompt_says_when_no_model_was_called(tmp_path, capsys):
    root = _init(tmp_path)
    capsys.readouterr()
    main(["run", "escalation/chargeback", "--store", str(root), "--show-prompt"])
    assert "(no model call: topic:payment-dispute" in capsys.readouterr().out


def test_check_quotes_the_prompt_line_the_reference_model_could_not_read(tmp_path, capsys):
    root = _init(tmp_path)
    template = root / "prompts" / "system.md.j2"
    text = template.read_text(encoding="utf-8")
    old = "Sign every reply with: {{ tone.sign_off }}"
    # a wording the reader does not know: the warning shows where the prompt says it
    template.write_text(text.replace(old, "Our crew's motto, {{ tone.sign_off }}, goes last."),
                        encoding="utf-8")
    capsys.readouterr()
    main(["check", "--store", str(root)])
    out = capsys.readouterr().out
    assert "read the sign-off as None" in out
    assert "the prompt says: \"Our crew's motto, Happy brewing" in out, out
