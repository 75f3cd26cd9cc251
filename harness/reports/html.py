"""The run as ONE self-contained HTML page: a CI artifact a support coach can open anywhere.

Inline CSS and a small inline script (filters by change and grade), no URL at all. Every
conversation, reply, reason and KB id is input and goes through `html.escape`; as a second
guard the page's Content-Security-Policy allows no network and only the page's own script
(by hash), so a `<script>` that slipped through could not run.

The page renders from the run's record at the end of a run (`render_html`), or later from the
JSON report (`render_html_from_report`): `harness report run.json --html run.html`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from harness.grading.rubric import DIMENSIONS, VALUES
from harness.pipeline.record import CaseResult, RunRecord
from harness.regression.baseline import Entry
from harness.reports.common import (
    blocking_kinds,
    gate_headline,
    latency,
    pass_hats,
    suite_scores,
)
from harness.reports.tool_calls import ToolLine, tool_lines

__all__ = ["CaseView", "render_html", "render_html_from_report", "word_diff"]

TITLE = "Support agent regression run"
CHANGES = ("worse", "better", "new", "removed", "same")
_ROLES = {"user": "customer", "assistant": "agent"}
_WORDS = re.compile(r"\s+|\S+\s*")
_MARKS = ("\u2714", "\u2716")  # check and cross marks: in common fonts, unlike emoji


@dataclass(frozen=True)
class CaseView:
    """One case as the page shows it, whether it comes from a CaseResult or a JSON report."""

    case_id: str
    suite: str
    change: str
    new: Entry | None
    old: Entry | None
    status: str | None = None  # the gate's verdict: ok, fail, known-failure
    verdict_why: str = ""
    target: bool = False
    why: str = ""  # why the agent resolved or escalated
    as_of: str = ""
    retrieved: tuple[tuple[str, float | None], ...] = ()  # article id, confidence
    served: tuple[str, ...] = ()
    turns: tuple[tuple[str, str], ...] = ()  # (customer | agent, text), no system prompt
    latency_s: float = 0.0
    finish_reason: str = ""
    tools: tuple[ToolLine, ...] = ()  # the back end's tool calls and answers


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _view(result: CaseResult) -> CaseView:
    run, verdict = result.run, result.verdict
    turns = tuple((_ROLES.get(m.get("role"), str(m.get("role"))), _text(m.get("content")))
                  for m in (run.messages if run else ())
                  if m.get("role") in _ROLES and _text(m.get("content")))  # tools: below
    return CaseView(
        result.case_id, result.suite, result.comparison.change, result.comparison.new,
        result.comparison.old, verdict.status if verdict else None,
        verdict.why if verdict else "", bool(verdict and verdict.target),
        run.why if run else "", run.as_of.isoformat() if run else "",
        tuple((r.id, r.confidence) for r in run.retrieved) if run else (),
        run.served if run else (), turns, latency(result),
        run.finish_reason if run else "", tuple(tool_lines(result, 600)))


def _e(text: object) -> str:
    return html.escape(str(text))


def _worst(entry: Entry | None) -> str:
    if entry is None:
        return "none"
    if entry.error:
        return "error"
    return min(entry.grades.values(), key=lambda g: VALUES[g], default="none")


def word_diff(old: str, new: str) -> tuple[str, str]:
    """Both replies as escaped HTML: words only in the old in <del>, only in the new in <ins>."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(_e("".join(a[i1:i2])))
            right.append(_e("".join(b[j1:j2])))
            continue
        left.append(_mark("del", "".join(a[i1:i2])))
        right.append(_mark("ins", "".join(b[j1:j2])))
    return "".join(left), "".join(right)


def _mark(tag: str, text: str) -> str:
    """Changed words in `tag`; the whitespace after them stays outside, unmarked."""
    words = text.rstrip()
    return (f"<{tag}>{_e(words)}</{tag}>" if words else "") + _e(text[len(words):])


def _grade(entry: Entry | None, name: str) -> str:
    if entry is None or name not in entry.grades:
        return "<td>-</td>"
    grade = entry.grades[name]
    rate = entry.pass_rates.get(name)
    shown = f"{grade} ({rate:.0%} pass)" if rate is not None and entry.samples > 1 else grade
    return f'<td class="g-{_e(grade)}">{_e(shown)}</td>'


def _grades(view: CaseView) -> str:
    shown = view.new or view.old
    if shown is not None and shown.error:
        return f'<p class="error">cannot run: {_e(shown.error)}</p>'
    rows = []
    for name in DIMENSIONS:
        old, new = (e.grades.get(name) if e else None for e in (view.old, view.new))
        drop = " class=drop" if old and new and VALUES[new] < VALUES[old] else ""
        reason = shown.reasons.get(name, "") if shown else ""
        rows.append(f"<tr{drop}><th>{name}</th>{_grade(view.old, name)}{_grade(view.new, name)}"
                    f"<td>{_e(reason)}</td></tr>")
    hats = [f"{label}: {_e(pass_hats(e))}" for label, e in (("baseline", view.old),
                                                             ("now", view.new)) if pass_hats(e)]
    return ("<table class=grades><tr><th>dimension</th><th>baseline</th><th>now</th>"
            f"<th>reason</th></tr>{''.join(rows)}</table>"
            + (f"<p class=hats>{'; '.join(hats)}</p>" if hats else ""))


def _facts(view: CaseView) -> str:
    entry = view.new or view.old
    outcome = entry.outcome if entry and entry.outcome else "no outcome"
    verdict = f"{view.status}{': ' + view.verdict_why if view.verdict_why else ''}"
    hits = ", ".join(_e(a) + (f" ({c:.2f})" if c is not None else "") for a, c in view.retrieved)
    served = (f"<details><summary>served as of {_e(view.as_of)}: {len(view.served)} articles"
              f"</summary>{_e(', '.join(view.served))}</details>" if view.served else "")
    return (f"<p><b>gate:</b> {_e(verdict)}{' (target)' if view.target else ''}"
            f" &middot; <b>outcome:</b> {_e(outcome)}{': ' + _e(view.why) if view.why else ''}"
            f" &middot; <b>as of</b> {_e(view.as_of or '-')}"
            f" &middot; <b>latency</b> {view.latency_s:.2f} s"
            + (" &middot; <b>cut off at max_tokens</b>" if view.finish_reason == "length" else "")
            + "</p>"
            f"<p><b>retrieved:</b> {hits or 'none'}</p>{served}{_tools(view)}")


def _tools(view: CaseView) -> str:
    if not view.tools:
        return ""
    rows = "".join(f"<tr{' class=g-fail' if t.error else ''}><td>{t.step}</td>"
                   f"<td><code>{_e(t.call)}</code></td><td><code>{_e(t.result)}</code></td></tr>"
                   for t in view.tools)
    return (f"<table class=tools><tr><th>step</th><th>tool call</th><th>result</th></tr>"
            f"{rows}</table>")


def _reply(view: CaseView) -> str:
    old, new = view.old, view.new
    if old is not None and new is not None and old.reply != new.reply:
        before, now = word_diff(old.reply, new.reply)
        return ('<div class=diff><div><h4>baseline reply</h4><div class="turn agent">'
                f'{before}</div></div><div><h4>reply now</h4><div class="turn agent">{now}'
                "</div></div></div>")
    label, entry = ("reply", new) if new is not None else ("baseline reply", old)
    text = entry.reply if entry else ""
    return f'<h4>{label}</h4><div class="turn agent">{_e(text) or "<i>no reply</i>"}</div>'


def _card(view: CaseView) -> str:
    entry = view.new or view.old
    worst, review = _worst(view.new), int(bool(view.new and view.new.review))
    score = f"{view.new.score:.2f}" if view.new else "-"
    if view.old is not None and view.new is not None and view.old.score != view.new.score:
        score += f" (was {view.old.score:.2f})"
    chips = "".join(f'<span class="chip g-{_e(entry.grades[d])}" title="{d}">{d[:3]}</span>'
                    for d in DIMENSIONS if entry and d in entry.grades)
    turns = "".join(f'<div class="turn {_e(role)}"><b>{_e(role)}:</b> {_e(text)}</div>'
                    for role, text in view.turns)
    opened = " open" if view.change == "worse" or worst == "error" else ""
    return (f'<details class=case data-change="{_e(view.change)}" data-grade="{_e(worst)}"'
            f' data-review="{review}"{opened}><summary><code>{_e(view.case_id)}</code>'
            f' <span class="badge c-{_e(view.change)}">{_e(view.change)}</span>'
            f' <span class="badge v-{_e(view.status or "none")}">{_e(view.status or "-")}</span>'
            f" score {score} {chips}</summary>{_grades(view)}{_facts(view)}{turns}"
            f"{_reply(view)}</details>")


def _cell(now: float | None, before: float | None) -> str:
    if now is None:
        return "<td>-</td>"
    if before is None:
        return f"<td>{now:.1f}</td>"
    moved = " class=down" if now < before else " class=up" if now > before else ""
    return f"<td{moved}>{now:.1f} <small>({before:.1f})</small></td>"


def _scores(record: RunRecord) -> str:
    rows = [f"<tr><th>{_e(s.suite)}</th><td>{s.cases}</td><td>{s.passed}</td>"
            + "".join(_cell(s.now[k], s.before[k]) for k in s.now) + "</tr>"
            for s in suite_scores(record.cases)]
    head = "".join(f"<th>{k}</th>" for k in ("suite", "cases", "passed", "score", *DIMENSIONS))
    return (f"<h2>Scores now (baseline), %</h2><table class=scores><tr>{head}</tr>"
            f"{''.join(rows)}</table>")


def _filters(views: Sequence[CaseView]) -> str:
    count = Counter(v.change for v in views)
    boxes = "".join(f'<label><input type=checkbox name=change value="{c}" checked> {c}'
                    f" ({count[c]})</label>" for c in CHANGES)
    grades = "".join(f'<option value="{v}">{label}</option>' for v, label in (
        ("any", "any"), ("fail", "a dimension fails"), ("partial", "partial, none fails"),
        ("pass", "every dimension passes"), ("error", "cannot run")))
    return (f"<form id=filters><fieldset><legend>change</legend>{boxes}</fieldset>"
            f"<label>worst grade <select name=grade>{grades}</select></label>"
            "<label><input type=checkbox name=review> review queue only</label>"
            f"<span><output id=shown>{len(views)}</output> of {len(views)} cases shown</span>"
            "</form>")


_SCRIPT = """(function () {
  var form = document.getElementById("filters");
  var cases = document.querySelectorAll("details.case");
  function apply() {
    var changes = {};
    form.querySelectorAll("input[name=change]").forEach(function (box) {
      changes[box.value] = box.checked;
    });
    var grade = form.elements.grade.value, review = form.elements.review.checked, shown = 0;
    cases.forEach(function (card) {
      var d = card.dataset;
      var keep = changes[d.change] && (grade === "any" || d.grade === grade) &&
                 (!review || d.review === "1");
      card.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    document.getElementById("shown").textContent = shown;
  }
  form.addEventListener("change", apply);
  apply();
})();"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}';"
        " img-src data:")
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:0 1em;color:#222}
header{padding:.6em 1em;margin:1em 0;border-radius:6px}header.pass{background:#e6f4ea}
header.fail{background:#fde8e8}header h1{font-size:1.2em;margin:0}.headline{font-size:1.5em;
font-weight:700;margin:.2em 0}table{border-collapse:collapse;margin:.4em 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.scores td{text-align:right}small{color:#666}.down{background:#fde8e8}.up{background:#e6f4ea}
form{display:flex;flex-wrap:wrap;gap:1em;align-items:center;position:sticky;top:0;
background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}fieldset{border:0;padding:0}
fieldset label{margin-right:.6em}details.case{border:1px solid #ddd;border-radius:6px;
margin:.4em 0;padding:.3em .7em}details.case[open]{background:#fcfcfc}
[hidden]{display:none!important}
summary{cursor:pointer}.badge,.chip{display:inline-block;padding:0 6px;border-radius:9px;
font-size:.85em;background:#eee;margin-left:2px}.c-worse,.v-fail,.g-fail{background:#f8c9c9}
.c-better,.g-pass{background:#cdeccd}.c-new{background:#cfe0fb}.c-removed{background:#ddd}
.g-partial,.v-known-failure{background:#fbe7b5}.drop th{color:#a00}.error{color:#a00}
.turn{white-space:pre-wrap;padding:.3em .6em;margin:.3em 0;border-radius:6px}
.customer{background:#eef3fb}.agent{background:#f3f3f3}h4{margin:.5em 0 .1em}
.diff{display:grid;grid-template-columns:1fr 1fr;gap:1em}del{background:#f8c9c9}
ins{background:#cdeccd;text-decoration:none}
"""


def _page(record: RunRecord, title: str) -> str:
    views, passed = [_view(c) for c in record.cases], record.passed
    kinds = blocking_kinds(record.cases)
    moved = Counter(v.change for v in views)
    counts = ", ".join(f"{moved[c]} {c}" for c in CHANGES)
    cards = "\n".join(_card(v) for v in sorted(views, key=lambda v: (
        CHANGES.index(v.change) if v.change in CHANGES else 9, v.case_id)))
    return (f'<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name=viewport content="width=device-width"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n"
            f'<header class="{"pass" if passed else "fail"}"><h1>{_e(title)}</h1>'
            f"<p class=headline>{_e(gate_headline(passed, kinds, _MARKS))}</p>"
            f"<p>{len(views)} cases: {counts}</p></header>\n{_scores(record)}\n"
            f"<h2>Cases</h2>{_filters(views)}\n<div id=cases>\n{cards}\n</div>\n"
            f"<script>{_SCRIPT}</script></body></html>\n")


def render_html(record: RunRecord, *, title: str = TITLE) -> str:
    """The page at the end of a run, with the conversations and the retrieved articles."""
    return _page(record, title)


def render_html_from_report(
    document: Mapping[str, Any], *, baselines: Mapping[str, Entry] | None = None,
    title: str = TITLE,
) -> str:
    """The page from a `--harness-report` document; `baselines` (case id -> entry) fills in the
    baseline of a case that a document of an older version does not carry."""
    old = baselines or {}
    cases = []
    for case in document["cases"]:
        if not case.get("baseline") and case["id"] in old:
            case = {**case, "baseline": old[case["id"]].to_json()}
        cases.append(case)
    return _page(RunRecord.from_json({**document, "cases": cases}), title)
