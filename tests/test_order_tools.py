"""Back-end tools: agent.yaml `tools:`, fixture tool results, the loop, the reference model's
look-ups, grading against the results, and the real-provider path (a 127.0.0.1 server)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from exportkit import conversation, write_export
from fake_openai import FakeOpenAI, Reply, text
from storekit import REPO, case

from harness.agent.loop import Agent
from harness.agent.run import Run
from harness.agent.tools import execute
from harness.cli import main
from harness.coach.production import ProductionGrader
from harness.errors import LoadError
from harness.grading.fixture import grade_run
from harness.pipeline.record import _run_from_json, _run_json
from harness.providers.reference_tools import next_calls
from harness.store.conversations import parse_line, read_export
from harness.store.loading import StoreLoadError, load_case, load_store

TODAY = dt.date(2026, 12, 3)
TOOLS = yaml.safe_load((REPO / "prompts" / "agent.yaml").read_text())["tools"]
ORDERS = REPO / "suites" / "orders"


def sample_store():
    return load_store(REPO)


def run_offline(name: str, store=None) -> tuple[object, Run]:
    store = store or sample_store()
    fixture = load_case(ORDERS / f"{name}.yaml", store, {})
    return fixture, asyncio.run(Agent(store, today=TODAY).run(fixture))


# -- loading ---------------------------------------------------------------------------------


def order_tool(**change) -> dict:
    return {**TOOLS[0], **change}


@pytest.mark.parametrize(("tool", "message"), [
    (order_tool(parameters={"type": "objekt"}), "type: object"),
    (order_tool(parameters={"type": "object", "properties": {"n": {"type": "strin"}}}),
     "not valid JSON Schema"),
    (order_tool(parameters={"type": "object", "properties": {"n": {"pattern": "KC-("}}}),
     "does not compile"),
    (order_tool(name="escalate_to_human"), "harness's own tool"),
    (order_tool(key="order_id"), "key 'order_id' is not one of its parameters"),
    (order_tool(parameters={"type": "object", "properties": {"a": {}, "b": {}}}),
     "name the one its results are keyed by"),
    (order_tool(name="look up"), "expected 1-64 letters"),
])
def test_a_broken_tool_is_a_load_error_naming_it(make_store, tool, message):
    root = make_store(agent={"tools": [tool]})
    with pytest.raises(StoreLoadError) as raised:
        load_store(root)
    assert message in str(raised.value)
    assert "agent.yaml" in str(raised.value)


def test_duplicate_tool_names_are_refused(make_store):
    with pytest.raises(StoreLoadError, match="duplicate tool name"):
        load_store(make_store(agent={"tools": [TOOLS[0], copy.deepcopy(TOOLS[0])]}))


def test_fixture_tool_data_must_name_offered_tools(make_store):
    root = make_store(agent={"tools": TOOLS}, suites={"orders": {
        "a": case("Where is KC-10482?", tools={"lookup_orders": {"KC-10482": {}}}),
        "b": case("Where is KC-10482?", tools={"lookup_order": {"KC-10482": "shipped"}}),
        "c": case("Where is KC-10482?", expect={"outcome": "resolve",
                                                "tools": {"called": ["lookup_ordr"]}}),
    }})
    store = load_store(root)
    with pytest.raises(LoadError, match="names no tool: 'lookup_orders'") as a:
        load_case(root / "suites/orders/a.yaml", store)
    assert a.value.line is not None
    with pytest.raises(LoadError, match="order_number -> result"):
        load_case(root / "suites/orders/b.yaml", store)
    with pytest.raises(LoadError, match="names no tool: 'lookup_ordr'"):
        load_case(root / "suites/orders/c.yaml", store)


# -- the mock back end -----------------------------------------------------------------------


def test_results_are_picked_by_the_key_argument_and_unknown_keys_are_not_found():
    store = sample_store()
    fixture = load_case(ORDERS / "where-is-order-in-transit.yaml", store, {})
    found = execute(store.agent, fixture, "lookup_order", '{"order_number": "KC-10482"}')
    assert found["status"] == "in_transit" and found["carrier"] == "UPS"
    assert execute(store.agent, fixture, "lookup_order", '{"order_number": " KC-10482"}')[
        "error"] == "invalid_arguments"  # the parameter's pattern is the contract
    missing = execute(store.agent, fixture, "lookup_order", '{"order_number": "KC-10483"}')
    assert missing == {"error": "not_found", "message": "No order with that number exists."}
    bad = execute(store.agent, fixture, "lookup_order", '{"order_number": "10482"}')
    assert bad["error"] == "invalid_arguments" and "does not match" in bad["message"]
    assert execute(store.agent, fixture, "lookup_order", "{not json")["error"] == (
        "invalid_arguments")
    assert execute(store.agent, fixture, "get_customer", "{}")["customer_id"] == "C-2001"
    assert execute(store.agent, fixture, "reship", "{}")["error"] == "unknown_tool"


# -- the reference model, offline ------------------------------------------------------------


def test_the_reference_model_looks_the_order_up_then_follows_its_tracking_number():
    fixture, run = run_offline("where-is-order-in-transit")
    assert [(u.step, u.name) for u in run.tools] == [
        (1, "lookup_order"), (1, "get_customer"), (2, "track_shipment")]
    assert json.loads(run.tools[0].arguments) == {"order_number": "KC-10482"}
    assert "in transit" in run.reply and "December 5, 2026" in run.reply
    roles = [m["role"] for m in run.messages]
    assert roles.count("tool") == 3 and roles[-1] == "tool"
    graded = grade_run(fixture, run, sample_store())
    assert graded.score == 1.0, graded.grades


def test_the_reference_model_takes_an_action_only_when_asked_and_allowed():
    _, allowed = run_offline("cancel-allowed")
    assert "cancel_order" in [u.name for u in allowed.tools]
    _, refused = run_offline("cancel-too-late")  # the record says cancelable: false
    assert "cancel_order" not in [u.name for u in refused.tools]
    _, question = run_offline("refund-pending")  # "has my refund gone through?" is no request
    assert "issue_refund" not in [u.name for u in question.tools]


def test_another_customers_order_is_not_disclosed():
    fixture, run = run_offline("another-customers-order")
    assert "not on your account" in run.reply
    assert "1Z999AA10123452222" not in run.reply
    assert "track_shipment" not in [u.name for u in run.tools]
    assert grade_run(fixture, run, sample_store()).score == 1.0


def test_next_calls_reads_the_key_shape_from_a_description_when_there_is_no_pattern():
    tools = [{"type": "function", "function": {
        "name": "get_order", "description": "Get an order by number, e.g. AB-1234.",
        "parameters": {"type": "object", "properties": {"number": {"type": "string"}},
                       "required": ["number"]}}}]
    calls = next_calls([{"role": "user", "content": "Where is AB-7788? Not AB-77."}], tools)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_order", {"number": "AB-7788"})]
    assert next_calls([{"role": "user", "content": "Where is my order?"}], tools) == ()


# -- grading against the results -------------------------------------------------------------


def graded_with(name: str, reply: str) -> dict:
    fixture, run = run_offline(name)
    graded = grade_run(fixture, dataclasses.replace(run, reply=reply), sample_store())
    return {n: (d.grade, d.reason) for n, d in graded.grades.items()}


SIGN = "\n\n- The Kettle & Crema team"


@pytest.mark.parametrize(("reply", "field"), [
    ("Your order KC-10482 was delivered on December 2.", "status 'in_transit'"),
    ("Your order is in transit and should arrive on December 9.", "estimated_delivery"),
    ("Your order is in transit with FedEx.", "carrier 'UPS'"),
    ("Your order is in transit, tracking number 1Z999AA10123456700.", "tracking_number"),
    ("Your order total was $99.00 and it is in transit.", "total 129.95"),
    ("Your order of the Burr Grinder S2 is in transit.", "items Gooseneck Kettle Pro"),
])
def test_a_reply_the_order_record_contradicts_fails_accuracy_naming_record_and_field(
        reply, field):
    grades = graded_with("where-is-order-in-transit", reply + SIGN)
    grade, reason = grades["accuracy"]
    assert grade == "fail"
    assert "lookup_order KC-10482" in reason and field in reason


def test_a_reply_that_agrees_with_the_record_passes():
    reply = ("Your order KC-10482 is in transit with UPS (tracking number 1Z999AA10123456784)"
             " and should arrive on December 5. We email you when the order is delivered."
             " You placed it on November 28. Standard orders ship with USPS or UPS.")
    assert graded_with("where-is-order-in-transit", reply + SIGN)["accuracy"][0] == "pass"


def test_a_refund_status_is_checked_against_the_refund_not_the_order():
    grades = graded_with("refund-pending", "Good news: your refund went through and has been sent."
                         + SIGN)
    assert grades["accuracy"][0] == "fail"
    assert "refund.status 'pending'" in grades["accuracy"][1]
    fine = graded_with("refund-pending", "Your refund of $279.00 is pending. We email you"
                       " when the refund is processed." + SIGN)
    assert fine["accuracy"][0] == "pass", fine


def test_a_skipped_lookup_fails_accuracy_and_a_forbidden_action_fails_resolution():
    fixture, run = run_offline("cancel-too-late")
    store = sample_store()
    skipped = dataclasses.replace(run, tools=())
    grades = grade_run(fixture, skipped, store).grades
    assert grades["accuracy"].grade == "fail"
    assert "did not call lookup_order" in grades["accuracy"].reason
    done = execute(store.agent, fixture, "cancel_order", '{"order_number": "KC-10644"}')
    forbidden = dataclasses.replace(run, tools=(*run.tools, dataclasses.replace(
        run.tools[0], name="cancel_order", result=json.dumps(done))))
    grades = grade_run(fixture, forbidden, store).grades
    assert grades["resolution"].grade == "fail"
    assert "cancel_order" in grades["resolution"].reason and "not_called" in (
        grades["resolution"].reason)


def test_an_allowed_action_the_customer_asked_for_counts_as_resolved():
    fixture, run = run_offline("cancel-allowed")
    handed_off = dataclasses.replace(run, outcome="escalate", why="the model escalated: x")
    resolution = grade_run(fixture, handed_off, sample_store()).grades["resolution"]
    assert resolution.grade == "pass"
    assert "cancel_order(KC-10620)" in resolution.reason


def test_the_run_record_keeps_tool_calls_and_old_records_still_load():
    _, run = run_offline("where-is-order-in-transit")
    data = json.loads(json.dumps(_run_json(run)))
    assert [t["name"] for t in data["tools"]] == ["lookup_order", "get_customer",
                                                  "track_shipment"]
    assert _run_from_json(data).tools == run.tools
    del data["tools"]
    assert _run_from_json(data).tools == ()


# -- a real provider: a 127.0.0.1 OpenAI-compatible server -----------------------------------


def calls(*named: tuple[str, dict], prefix: str = "call") -> Reply:
    return Reply(tool_calls=tuple(
        {"id": f"{prefix}_{i}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(named)))


@pytest.fixture
def real_store(monkeypatch, fake_openai: FakeOpenAI):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456789")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    store = sample_store()
    agent = store.agent.model_copy(update={"model": "openai/gpt-4o-mini",
                                           "api_base": fake_openai.base_url, "retries": 0})
    return dataclasses.replace(store, agent=agent)


def test_a_real_model_calls_tools_in_parallel_over_several_steps(real_store, fake_openai):
    fake_openai.push(
        calls(("lookup_order", {"order_number": "KC-10482"}), ("get_customer", {})),
        calls(("track_shipment", {"tracking_number": "1Z999AA10123456784"}), prefix="b"),
        text("Your order KC-10482 is in transit with UPS and should arrive on December 5."
             + SIGN),
    )
    fixture = load_case(ORDERS / "where-is-order-in-transit.yaml", real_store, {})
    run = asyncio.run(Agent(real_store, today=TODAY).run(fixture))
    assert run.error is None and run.outcome == "resolve"
    assert [(u.step, u.name, u.call_id) for u in run.tools] == [
        (1, "lookup_order", "call_0"), (1, "get_customer", "call_1"),
        (2, "track_shipment", "b_0")]
    first = fake_openai.requests[0].body
    assert {t["function"]["name"] for t in first["tools"]} == {
        "escalate_to_human", "lookup_order", "track_shipment", "get_customer", "cancel_order",
        "issue_refund"}
    second = fake_openai.requests[1].messages
    assert second[-3]["role"] == "assistant" and len(second[-3]["tool_calls"]) == 2
    answers = [m for m in second if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in answers] == ["call_0", "call_1"]
    assert json.loads(answers[0]["content"])["tracking_number"] == "1Z999AA10123456784"
    third = fake_openai.requests[2].messages
    assert json.loads(third[-1]["content"])["events"][-1]["location"] == "Memphis TN"
    assert run.prompt_tokens == 33  # three calls of 11 prompt tokens each
    assert grade_run(fixture, run, real_store).score == 1.0


def test_a_real_reply_giving_the_wrong_date_fails_naming_the_record(real_store, fake_openai):
    fake_openai.push(calls(("lookup_order", {"order_number": "KC-10482"})),
                     text("Your order is in transit and arrives on December 8." + SIGN))
    fixture = load_case(ORDERS / "where-is-order-in-transit.yaml", real_store, {})
    run = asyncio.run(Agent(real_store, today=TODAY).run(fixture))
    accuracy = grade_run(fixture, run, real_store).grades["accuracy"]
    assert accuracy.grade == "fail"
    assert "did not call track_shipment" in accuracy.reason  # required, and skipped


def test_a_model_still_calling_tools_after_the_limit_is_handed_off(real_store, fake_openai):
    agent = real_store.agent.model_copy(update={"max_tool_steps": 2})
    store = dataclasses.replace(real_store, agent=agent)
    again = calls(("lookup_order", {"order_number": "KC-10482"}))
    fake_openai.push(again, again, again)
    fixture = load_case(ORDERS / "where-is-order-in-transit.yaml", store, {})
    run = asyncio.run(Agent(store, today=TODAY).run(fixture))
    assert fake_openai.calls == 3 and len(run.tools) == 2
    assert run.outcome == "escalate" and run.decided_by == "max_tool_steps"
    assert "max_tool_steps (2)" in run.why


def test_an_escalation_beside_a_lookup_wins(real_store, fake_openai):
    fake_openai.push(calls(("lookup_order", {"order_number": "KC-10482"}),
                           ("escalate_to_human", {"topic": "other", "reason": "unsure"})))
    fixture = load_case(ORDERS / "where-is-order-in-transit.yaml", real_store, {})
    run = asyncio.run(Agent(real_store, today=TODAY).run(fixture))
    assert run.outcome == "escalate" and fake_openai.calls == 1



# -- every report shows the calls ------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_tracking(tmp_path_factory):
    """The sample store's orders suite after an edit that breaks the tracking tool's pattern:
    the order is still looked up, the required tracking look-up no longer happens."""
    root = tmp_path_factory.mktemp("orders-store")
    for part in ("knowledge", "prompts"):
        shutil.copytree(REPO / part, root / part)
    shutil.copytree(ORDERS, root / "suites" / "orders")
    agent = root / "prompts" / "agent.yaml"
    agent.write_text(agent.read_text().replace("1Z[0-9A-Z]{16}", "1Z[0-9A-Z]{17}"))
    out = root / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-v",
         f"--harness-report={out / 'run.json'}", f"--harness-markdown={out / 'run.md'}",
         f"--harness-html={out / 'run.html'}", f"--junitxml={out / 'junit.xml'}"],
        cwd=root, capture_output=True, text=True, check=False)
    return done, out


def test_every_report_shows_the_tool_calls_and_results(broken_tracking):
    done, out = broken_tracking
    assert done.returncode != 0, done.stdout
    call = "lookup_order(order_number=KC-10482)"
    assert "did not call track_shipment" in done.stdout and call in done.stdout
    assert call in (out / "run.md").read_text()
    page = (out / "run.html").read_text()
    assert "lookup_order(order_number=KC-10482)" in page and "in_transit" in page
    report = json.loads((out / "run.json").read_text())
    case_json = next(c for c in report["cases"] if c["id"] == "orders/where-is-order-in-transit")
    assert [t["name"] for t in case_json["runs"][0]["tools"]] == ["lookup_order", "get_customer"]
    junit = ET.parse(out / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert any(v.startswith(f"step 1: {call} -> ") for k, v in props.items()
               if k.startswith("harness.tool."))


# -- production: exports with tool calls, and promote --------------------------------------


ORDER_CALLS = [
    {"name": "lookup_order", "arguments": {"order_number": "KC-10482"},
     "result": {"status": "in_transit", "carrier": "UPS", "tracking_number": "1Z999AA10123456784",
                "estimated_delivery": "2026-12-05", "email": "maya@example.com",
                "shipping_address": "12 Oak Street, Portland OR 97201"}},
    {"name": "track_shipment", "arguments": '{"tracking_number": "1Z999AA10123456784"}',
     "result": {"events": [{"date": "2026-12-02", "location": "Memphis TN"}]}},
    {"name": "loyalty_points", "arguments": {}, "result": {"points": 120}},
    {"name": "lookup_order", "arguments": {"order_number": "KC-10999"},
     "result": {"error": "not_found"}},
]


def order_export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export.jsonl", conversation(
        "zd-77", "2026-12-03T10:00",
        ("customer", "Hi, I'm Maya (maya@example.com). Where is my order KC-10482?"),
        ("ai", "Your order KC-10482 was delivered on December 1."),
        topic="orders", tool_calls=ORDER_CALLS))


def test_an_export_line_may_carry_tool_calls_and_old_lines_still_load(tmp_path):
    export = order_export(tmp_path)
    (_, found), = list(read_export(export))
    assert [c.name for c in found.tool_calls][:2] == ["lookup_order", "track_shipment"]
    assert found.tool_calls[1].args == {"tracking_number": "1Z999AA10123456784"}
    old = conversation("zd-1", "2026-12-03T10:00", ("customer", "hi"), ("ai", "hello"))
    assert parse_line(json.dumps(old), "x", 1).tool_calls == ()


def promote_orders(tmp_path: Path, *more: str) -> dict:
    root = tmp_path / "store"
    for part in ("knowledge", "prompts"):
        shutil.copytree(REPO / part, root / part)
    (root / "suites").mkdir()
    assert main(["promote", "zd-77", "--suite", "production", "--store", str(root), "--from",
                 str(order_export(tmp_path)), *more]) == 0
    path = root / "suites" / "production" / "zd-77.yaml"
    load_case(path, load_store(root))  # it loads, tool data included
    return {"text": path.read_text(), **yaml.safe_load(path.read_text())}


def test_promote_keeps_the_tool_results_redacted_with_consistent_surrogate_keys(tmp_path):
    data = promote_orders(tmp_path)
    asked = data["conversation"][0]["customer"]
    (key,) = data["tools"]["lookup_order"]  # the not-found call adds nothing
    assert key != "KC-10482" and re.fullmatch(r"KC-\d{5}", key) and key in asked
    record = data["tools"]["lookup_order"][key]
    assert record["status"] == "in_transit" and record["estimated_delivery"] == "2026-12-05"
    assert record["email"] == "[email]" and record["shipping_address"] == "[shipping_address]"
    tracking = record["tracking_number"]
    assert tracking != "1Z999AA10123456784" and tracking.startswith("1Z")
    assert list(data["tools"]["track_shipment"]) == [tracking]
    assert "maya@example.com" not in data["text"] and "10482" not in data["text"]
    assert "loyalty_points, which" in data["text"]  # not offered: left out, and said so


def test_promote_no_redact_keeps_the_tool_data_as_it_was(tmp_path):
    data = promote_orders(tmp_path, "--no-redact")
    assert data["tools"]["lookup_order"]["KC-10482"]["email"] == "maya@example.com"


def test_scoring_a_production_reply_checks_it_against_the_exported_tool_results(tmp_path):
    (_, found), = list(read_export(order_export(tmp_path)))
    scored = ProductionGrader(sample_store()).grade(found)
    accuracy = scored.grades["accuracy"]
    assert accuracy.grade == "fail"
    assert "lookup_order KC-10482 has status 'in_transit'" in accuracy.reason
