"""promptfoo interop: the export runs and grades every fixture as the rubric does, the import
maps promptfoo asserts to fixtures, and the real promptfoo (npm) agrees case by case.

The real-promptfoo test skips unless promptfoo is found: PROMPTFOO_BIN, or
`<cache>/node_modules/.bin/promptfoo` with <cache> = HARNESS_PROMPTFOO_DIR (default
~/.cache/harness-promptfoo). HARNESS_TEST_PROMPTFOO=1 installs it there first with npm.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI, text
from storekit import REPO, case

from harness.agent.loop import Agent
from harness.cli import main
from harness.grading.fixture import grade_run
from harness.grading.rubric import Graded
from harness.interop.promptfoo import close_workers, find_case
from harness.store.loading import Store, load_case, load_store, load_suites
from harness.text.matching import phrase_in

RETURNS_Q = "How many days do I have to return an item?"
SMALL = {"core": {  # two cases pass and two fail on the reference model
    "returns-window": case(RETURNS_Q, expect={"outcome": "resolve", "facts": ["30 days"],
                                              "articles": ["returns-policy"]}),
    "express-cost": case("How much does express shipping cost?",
                         expect={"outcome": "resolve", "facts": ["$14.95"],
                                 "articles": ["shipping"]}),
    "wrong-window": case(RETURNS_Q, expect={"outcome": "resolve", "facts": ["60 days"]}),
    "chargeback": case("I will file a chargeback if the refund does not arrive.",
                       expect={"outcome": "resolve"}),
}}
OFF = {"config": {"cache": "off"}}


@pytest.fixture(autouse=True)
def fresh_workers() -> Iterator[None]:
    """Each test's provider calls start from nothing, as a new promptfoo worker does."""
    yield
    close_workers()


def export(store: Path, out: Path) -> Path:
    assert main(["export", "promptfoo", "--store", str(store), "--out", str(out)]) == 0
    return out


def load_module(path: Path) -> ModuleType:
    """Import a generated file the way promptfoo's Python wrapper does: by path."""
    name = f"pf_{path.stem}_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rubric(store: Store, case_id: str) -> Graded:
    """What `pytest suites/` grades for the case, without promptfoo."""
    fixture = find_case(store, case_id)
    run = asyncio.run(Agent(store, today=dt.date.today()).run(fixture))
    return grade_run(fixture, run, store)


def through_promptfoo_functions(out: Path, case_id: str, question: str = "") -> dict[str, Any]:
    """call_api then get_assert, with the arguments promptfoo passes them."""
    provider = load_module(out / "harness_provider.py")
    assertion = load_module(out / "harness_assert.py")
    vars_ = {"case_id": case_id, "question": question}
    response = provider.call_api(question, OFF, {"vars": vars_})
    assert "error" not in response, response
    return assertion.get_assert(response["output"], {
        "vars": vars_, "metadata": response["metadata"], "providerResponse": response})


# -- export --------------------------------------------------------------------------------


def test_export_writes_a_promptfoo_config_with_one_test_per_fixture(tmp_path):
    out = export(REPO, tmp_path / "pf")

    config = yaml.safe_load((out / "promptfooconfig.yaml").read_text())
    cases, _ = load_suites(load_store(REPO))
    assert [t["vars"]["case_id"] for t in config["tests"]] == [c.case_id for c in cases]
    first = config["tests"][0]["vars"]
    assert first["question"] == cases[0].last_customer_text
    assert config["prompts"] == ["{{question}}"]
    assert config["providers"][0]["id"] == "file://harness_provider.py"
    assert config["defaultTest"]["assert"] == [{"type": "python",
                                                "value": "file://harness_assert.py"}]
    for name, function in (("harness_provider.py", "call_api"), ("harness_assert.py",
                                                                 "get_assert")):
        source = (out / name).read_text()
        compile(source, name, "exec")
        assert callable(getattr(load_module(out / name), function))


def test_export_defaults_to_the_store_promptfoo_folder_and_rewrites_its_own_files(make_store):
    store = make_store(suites=SMALL)
    assert main(["export", "promptfoo", "--store", str(store)]) == 0
    assert main(["export", "promptfoo", "--store", str(store)]) == 0  # its own files: rewritten
    assert len(yaml.safe_load((store / "promptfoo" / "promptfooconfig.yaml").read_text())
               ["tests"]) == 4


def test_export_never_overwrites_a_hand_written_config(make_store, tmp_path, capsys):
    (tmp_path / "promptfooconfig.yaml").write_text("prompts: [mine]\n")
    assert main(["export", "promptfoo", "--store", str(make_store()),
                 "--out", str(tmp_path)]) == 1
    assert "not written by `harness export promptfoo`" in capsys.readouterr().err
    assert (tmp_path / "promptfooconfig.yaml").read_text() == "prompts: [mine]\n"


# -- provider + assertion == the rubric -------------------------------------------------------


@pytest.mark.parametrize("case_id", [
    "core/returns-window", "core/free-shipping-threshold", "core/price-crema-one-plus",
    "escalation/chargeback-threat", "escalation/lookalike-paypal-declined",
    "seasonal/black-friday-end-time",
])
def test_sample_store_cases_pass_or_fail_in_promptfoo_as_the_rubric_says(tmp_path, case_id):
    out = export(REPO, tmp_path / "pf")
    expected = rubric(load_store(REPO), case_id)

    result = through_promptfoo_functions(out, case_id)

    assert (result["pass"], result["score"]) == (expected.passed, expected.score)
    assert result["namedScores"] == {n: {"pass": 1.0, "partial": 0.5, "fail": 0.0}[d.grade]
                                     for n, d in expected.grades.items()}


def test_a_failing_case_fails_with_the_rubric_reason(make_store, tmp_path):
    store = make_store(suites=SMALL)
    out = export(store, tmp_path / "pf")

    for case_id in ("core/returns-window", "core/express-cost"):
        assert through_promptfoo_functions(out, case_id)["pass"] is True
    wrong = through_promptfoo_functions(out, "core/wrong-window")
    assert wrong["pass"] is False and wrong["score"] == 0.6
    assert wrong["reason"].startswith("accuracy fail: missing 1 of 1 facts: '60 days'")
    chargeback = through_promptfoo_functions(out, "core/chargeback")
    assert chargeback["pass"] is False and "resolution fail" in chargeback["reason"]


def test_each_promptfoo_repeat_is_a_sample_of_its_own(make_store, tmp_path):
    provider = load_module(export(make_store(), tmp_path / "pf") / "harness_provider.py")
    vars_ = {"case_id": "core/returns-window", "__repeatIndex": 2}
    assert provider.call_api("", OFF, {"vars": vars_})["metadata"]["runs"][0]["sample"] == 2


def test_the_provider_reports_an_unknown_case_and_a_model_failure_as_errors(
        make_store, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    store = make_store(suites=SMALL, agent={"model": "openai/gpt-4o-mini", "retries": 0,
                                            "timeout": 5, "api_base": "http://127.0.0.1:9/v1"})
    provider = load_module(export(store, tmp_path / "pf") / "harness_provider.py")

    missing = provider.call_api("", OFF, {"vars": {"case_id": "core/nope"}})
    assert "no fixture 'core/nope'" in missing["error"]
    assert "vars.case_id" in provider.call_api("", OFF, {"vars": {"question": "hi"}})["error"]
    failed = provider.call_api("", OFF, {"vars": {"case_id": "core/returns-window"}})
    assert failed["output"] == "" and "InternalServerError" in failed["error"]


def test_an_output_without_a_harness_run_is_unscored_never_a_pass(make_store, tmp_path):
    assertion = load_module(export(make_store(), tmp_path / "pf") / "harness_assert.py")
    result = assertion.get_assert("You have 30 days.", {"vars": {"case_id": "core/returns-window"}})
    assert result["pass"] is False and result["reason"].startswith("unscored")


def test_the_llm_judge_runs_in_the_provider_and_can_only_lower_the_grade(
        make_store, tmp_path, monkeypatch, fake_openai: FakeOpenAI):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    verdicts = {n: {"grade": "pass", "reason": "fine"} for n in ("accuracy", "relevance",
                                                                 "resolution")}
    fake_openai.push(text(json.dumps({**verdicts, "tone": {"grade": "fail",
                                                           "reason": "curt"}})))
    store = make_store(suites=SMALL, agent={"judge": {"model": "openai/judge-model"}})

    result = through_promptfoo_functions(export(store, tmp_path / "pf"), "core/returns-window")

    assert result["pass"] is False and "judge: fail: curt" in result["reason"]
    assert len(fake_openai.requests) == 1


# -- import --------------------------------------------------------------------------------


PROMPTFOO_TESTS: dict[str, Any] = {
    "prompts": ["Answer the customer: {{question}}"],
    "providers": ["openai:gpt-4o-mini"],
    "defaultTest": {"assert": [{"type": "not-icontains", "value": "as an AI"}]},
    "tests": [
        {"description": "Return window", "vars": {"question": RETURNS_Q}, "assert": [
            {"type": "contains", "value": "30 days"},
            {"type": "icontains", "value": "Refund"},
            {"type": "regex", "value": r"\d+ days"},
            {"type": "not-contains", "value": "60 days"},
            {"type": "not-regex", "value": "store credit|voucher"},
            {"type": "llm-rubric", "value": "Says the item must be unused"},
            {"type": "javascript", "value": "output.length < 500"},
        ]},
        {"vars": {"query": "How much is express shipping?", "tone": "friendly"}, "assert": [
            {"type": "contains-any", "value": ["$14.95", "14.95 USD"]},
            {"type": "icontains-all", "value": "express, business days"},
            {"type": "not-contains-any", "value": ["free", "overnight"]},
            {"type": "equals", "value": "Express costs $14.95."},
            {"type": "contains", "value": "{{tone}}"},
            {"type": "similar", "value": "Express costs $14.95", "threshold": 0.8},
        ]},
        {"vars": {"input": "Do you sell gift cards?"}, "assert": [
            {"type": "not-icontains", "value": "we do not"},
            {"type": "not-equals", "value": "No."}]},
        {"vars": {"customer_text": "Can I cancel my order?"}},
        {"vars": {"language": "en", "persona": "rushed"}},
    ],
}


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_import_maps_every_supported_assert_type_and_reports_the_rest(
        make_store, tmp_path, capsys):
    store = make_store()
    config = write_config(tmp_path, PROMPTFOO_TESTS)

    status = main(["import", "promptfoo", str(config), "--suite", "pf", "--store", str(store)])

    err = capsys.readouterr().err
    assert status == 1  # something was not mapped
    assert "assert type 'javascript' has no fixture equivalent" in err
    assert "assert type 'similar' has no fixture equivalent" in err
    assert "test 5: no var named question/query/input/message and not exactly one var" in err
    assert "defaultTest: 1 assert(s) applied to every test" in err
    assert "test 2: vars not kept (only the customer turn is): tone" in err
    loaded = load_store(store)
    folder = store / "suites" / "pf"
    assert sorted(p.name for p in folder.glob("*.yaml")) == [
        "can-i-cancel-my-order.yaml", "do-you-sell-gift-cards.yaml",
        "how-much-is-express-shipping.yaml", "return-window.yaml"]
    window = load_case(folder / "return-window.yaml", loaded)
    assert window.last_customer_text == RETURNS_Q and window.expect.outcome == "resolve"
    assert window.expect.facts == ("30 days", "Refund", r"/\d+ days/")
    assert window.expect.forbidden == ("60 days", "/store credit|voucher/", "as an AI")
    assert window.expect.criteria == ("Says the item must be unused",)
    express = load_case(folder / "how-much-is-express-shipping.yaml", loaded).expect
    assert express.facts[1:3] == ("express", "business days") and express.facts[4] == "friendly"
    assert express.forbidden == ("free", "overnight", "as an AI")
    any_price, equals = express.facts[0], express.facts[3]
    assert phrase_in(any_price, "It is 14.95 USD.") and not phrase_in(any_price, "It is $15.")
    assert phrase_in(equals, "  Express costs   $14.95. ")
    assert not phrase_in(equals, "Express costs $14.95. Anything else?")
    gift = load_case(folder / "do-you-sell-gift-cards.yaml", loaded).expect
    assert gift.forbidden[0] == "we do not" and phrase_in(gift.forbidden[1], "No.")
    only_var = load_case(folder / "can-i-cancel-my-order.yaml", loaded)
    assert only_var.last_customer_text == "Can I cancel my order?"


def test_import_never_overwrites_and_every_written_fixture_loads(make_store, tmp_path, capsys):
    store = make_store()
    config = write_config(tmp_path, {"tests": [
        {"description": "Return window, imported", "vars": {"question": RETURNS_Q},
         "assert": [{"type": "icontains", "value": "30 days"}]}]})
    args = ["import", "promptfoo", str(config), "--suite", "pf", "--store", str(store)]
    assert main(args) == 0
    written = store / "suites" / "pf" / "return-window-imported.yaml"
    before = written.read_text()
    written.write_text(before + "# edited by a coach\n")

    assert main(args) == 1

    assert "already exists; never overwritten" in capsys.readouterr().err
    assert written.read_text() == before + "# edited by a coach\n"
    cases, broken = load_suites(load_store(store))
    assert not broken and "pf/return-window-imported" in {c.case_id for c in cases}


def test_import_clashing_with_an_id_of_another_suite_gets_a_free_id(make_store, tmp_path,
                                                                    capsys):
    store = make_store()  # has core/returns-window
    config = write_config(tmp_path, {"tests": [{"description": "Returns window",
                                                "vars": {"question": RETURNS_Q}}]})
    assert main(["import", "promptfoo", str(config), "--store", str(store)]) == 0
    assert "returns-window-2: named so, as" in capsys.readouterr().err
    cases, broken = load_suites(load_store(store))
    assert not broken
    assert {"core/returns-window", "promptfoo/returns-window-2"} <= {c.case_id for c in cases}


def test_import_reports_an_assert_it_cannot_express_as_a_phrase(make_store, tmp_path, capsys):
    store = make_store()
    config = write_config(tmp_path, {"tests": [{"vars": {"question": RETURNS_Q}, "assert": [
        {"type": "regex", "value": "(?<year>\\d{4})"},  # JavaScript's named group
        {"type": "contains", "value": "file://expected.txt"},
        {"type": "equals", "value": {"json": True}}]}]})
    assert main(["import", "promptfoo", str(config), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "invalid regular expression" in err and "file:// value" in err
    assert "expected a string or a number" in err
    fixture = load_case(store / "suites" / "promptfoo" / "how-many-days-do-i-have-to-return-an"
                        "-item.yaml", load_store(store))
    assert fixture.expect.facts == ()


# -- the real promptfoo --------------------------------------------------------------------


PROMPTFOO_DIR = Path(os.environ.get("HARNESS_PROMPTFOO_DIR")
                     or Path.home() / ".cache" / "harness-promptfoo")
OFFLINE = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_DISABLE_SHARING": "1", "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost"}


@pytest.fixture(scope="session")
def promptfoo_bin() -> Path:
    """The promptfoo CLI from npm, or a skip that says how to get it."""
    if os.environ.get("PROMPTFOO_BIN"):
        return Path(os.environ["PROMPTFOO_BIN"])
    found = PROMPTFOO_DIR / "node_modules" / ".bin" / "promptfoo"
    if found.exists():
        return found
    how = (f"promptfoo not found: set PROMPTFOO_BIN, or HARNESS_TEST_PROMPTFOO=1 to run"
           f" `npm install --prefix {PROMPTFOO_DIR} promptfoo` (~1.4 GB, ~1 min)")
    if os.environ.get("HARNESS_TEST_PROMPTFOO") != "1":
        pytest.skip(how)
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("HARNESS_TEST_PROMPTFOO=1 but node/npm are not installed")
    done = subprocess.run([npm, "install", "--prefix", str(PROMPTFOO_DIR), "promptfoo",
                           "--no-audit", "--no-fund"], capture_output=True, text=True,
                          timeout=1200)
    if done.returncode != 0 or not found.exists():
        pytest.skip(f"npm install promptfoo failed: {done.stderr[-500:]}")
    return found


def test_real_promptfoo_eval_passes_and_fails_each_case_as_the_rubric(
        promptfoo_bin, make_store, tmp_path):
    root = make_store(suites=SMALL)
    out = export(root, tmp_path / "pf")
    store = load_store(root)
    expected = {f"core/{name}": rubric(store, f"core/{name}").passed for name in SMALL["core"]}
    env = {**os.environ, **OFFLINE, "PROMPTFOO_PYTHON": sys.executable,
           "PROMPTFOO_CONFIG_DIR": str(tmp_path / "promptfoo-home")}

    done = subprocess.run(
        [str(promptfoo_bin), "eval", "-c", str(out / "promptfooconfig.yaml"), "--no-cache",
         "--no-table", "-j", "2", "-o", str(tmp_path / "out.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert (tmp_path / "out.json").exists(), done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "out.json").read_text())["results"]["results"]
    got = {r["vars"]["case_id"]: r["success"] for r in results}
    why = {r["vars"]["case_id"]: r.get("error") or (r.get("gradingResult") or {}).get("reason")
           for r in results}
    assert got == expected, why
    assert sorted(expected.values()) == [False, False, True, True]
    assert done.returncode != 0  # promptfoo's exit status says some tests failed
