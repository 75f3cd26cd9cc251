"""The weekly review as Markdown and as one self-contained HTML page (charts inline, base64 PNG).

Conversation text is customer input: it is escaped everywhere it is shown (`html.escape` in
the page; in Markdown too, since many viewers render raw HTML), and table cells are kept on
one line. Charts use matplotlib's Agg canvas directly (no pyplot, no display).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from typing import Any

from harness.coach.review import DIMENSION_DROP, RESOLUTION_DROP, ROLLING_WEEKS, Trend, WeeklyReview
from harness.text.matching import excerpt

__all__ = ["render_html", "render_markdown"]

_EXCERPT = 160


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|~<>])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?=@)")


def _md(text: object, limit: int | None = None) -> str:
    """Customer text as inert Markdown: HTML escaped, every Markdown mark backslash-escaped
    (no link, image, emphasis or heading), and a zero-width space where a viewer would make
    a bare URL, `www.` or e-mail address into a live link."""
    flat = html.escape(excerpt(text, limit), quote=False)
    return _MARKDOWN.sub(r"\\\1", _AUTOLINK.sub("\u200b", flat))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _change(trend: Trend) -> str:
    return "-" if trend.change is None else f"{trend.change:+.1f}"


def _dates(review: WeeklyReview) -> str:
    return f"{review.monday:%b %d} - {review.sunday:%b %d, %Y}"


def _provenance(review: WeeklyReview) -> str:
    run = review.made_with
    if not run:
        return ""
    stopped = ", interrupted" if run.get("gate") == "interrupted" else ""
    return (f"Scored by harness {run['harness']} (run {run['id']}{stopped},"
            f" {run['recorded_at']:%Y-%m-%d})"
            f" with KB {run['kb_hash']} and prompt {run['prompt_hash']}, model {run['model']}.")


def _resolution_line(review: WeeklyReview) -> str:
    trend = review.resolution
    line = (f"{_pct(trend.now)} of conversations resolved by the AI alone ({review.automated}"
            f" of {review.count})")
    if trend.before is None:
        return line + "; no conversation of last week to compare with."
    return line + f", vs {_pct(trend.before)} last week: {_change(trend)} points."


def _alert(trend: Trend) -> str:
    if trend is None or not trend.alert:
        return ""
    if trend.limit == RESOLUTION_DROP:
        return (f"ALERT: automated resolution dropped {-trend.change:.1f} points (more than"
                f" {RESOLUTION_DROP:g}): find what changed this week.")
    return (f"ALERT: {trend.name} is {-trend.change:.1f} points below its {ROLLING_WEEKS}-week"
            f" average (more than {DIMENSION_DROP:g}): investigate it in this review.")


def _average_label(trend: Trend) -> str:
    if trend.before is None:
        return "- (no earlier data)"
    weeks = f" ({trend.weeks} week{'s' if trend.weeks != 1 else ''})" if trend.weeks < 4 else ""
    return f"{_pct(trend.before)}{weeks}"


def render_markdown(review: WeeklyReview) -> str:
    lines = [f"# Weekly AI review: {review.week} ({_dates(review)})", "",
             f"{review.count} conversations scored. {_provenance(review)}".strip(), "",
             "## 1. Automated resolution", "", _resolution_line(review)]
    if review.resolution.alert:
        lines += ["", f"> **{_alert(review.resolution)}**"]
    lines += ["", "## 2. Escalations", "",
              f"{review.escalated} of {review.count} conversations went to a person.", ""]
    if review.escalations:
        lines += ["| topic | escalations | why |", "| --- | ---: | --- |"]
        lines += [f"| {_md(e.topic)} | {e.count} | "
                  + _md(", ".join(f"{r}: {n}" for r, n in e.reasons.items())) + " |"
                  for e in review.escalations]
    lines += ["", f"## 3. The {len(review.worst)} worst conversations", ""]
    if not review.worst:
        lines.append("Every conversation scored 1.00.")
    for rank, row in enumerate(review.worst, start=1):
        csat = f", CSAT {row['csat']}" if row.get("csat") else ""
        lines += [f"{rank}. **{_md(row['id'])}** ({row['started_at']:%Y-%m-%d}, "
                  f"{_md(row['topic'] or 'no topic')}, score {row['score']:.2f}{csat}):"
                  f" {_md(row['why'] or 'no dimension below pass')}",
                  f"   > customer: {_md(row['asked'], _EXCERPT)}"]
    lines += ["", "## 4. KB gaps", "",
              f"{review.gaps_total} conversation(s) had a question that no served article"
              f" covered well (retrieval confidence below {review.gap_below:.2f}).", ""]
    if review.gaps:
        lines += ["| question | confidence | best article | conversation |",
                  "| --- | ---: | --- | --- |"]
        lines += [f"| {_md(g['question'], _EXCERPT)} | {g['confidence']:.2f} |"
                  f" {_md(g.get('article') or '-')} | {_md(g['conversation'])} |"
                  for g in review.gaps]
    lines += ["", f"## 5. Rubric vs the {ROLLING_WEEKS}-week average", "",
              f"| dimension | {review.week} | {ROLLING_WEEKS}-week average | change | |",
              "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {t.name} | {_pct(t.now)} | {_average_label(t)} | {_change(t)} |"
              f" {'**ALERT**' if t.alert else ''} |" for t in review.dimensions]
    alerts = [f"- **{_alert(t)}**" for t in review.dimensions if t.alert]
    lines += ["", *alerts] if alerts else []
    lines += ["", "## 6. Changes we decided on (3-5)", "",
              "Knowledge base, prompt or escalation rules; each to ship before next week's"
              " review.", ""]
    lines += [f"{n}. {_md(item)}".rstrip() for n, item in enumerate(review.changes, start=1)]
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.n{text-align:right}.alert{background:#fde8e8;color:#8a1111;
padding:6px 10px;border-left:4px solid #c00;font-weight:600}
blockquote{margin:.3em 0 .8em 1em;color:#555;border-left:3px solid #ccc;padding-left:.6em}
.muted{color:#666}ol.changes li{min-height:1.6em;border-bottom:1px dotted #aaa}
"""


def _e(text: object, limit: int | None = None) -> str:
    return html.escape(excerpt(text, limit))


def _rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(review: WeeklyReview) -> str:
    parts = [f"<h1>Weekly AI review: {_e(review.week)} ({_e(_dates(review))})</h1>",
             f"<p class=muted>{review.count} conversations scored. {_e(_provenance(review))}</p>",
             "<h2>1. Automated resolution</h2>", f"<p>{_e(_resolution_line(review))}</p>"]
    if review.resolution.alert:
        parts.append(f"<p class=alert>{_e(_alert(review.resolution))}</p>")
    parts += ["<h2>2. Escalations</h2>",
              f"<p>{review.escalated} of {review.count} conversations went to a person.</p>"]
    if review.escalations:
        parts.append(_rows(["topic", "escalations", "why"], [
            [_e(e.topic), str(e.count), _e(", ".join(f"{r}: {n}" for r, n in e.reasons.items()))]
            for e in review.escalations]))
        parts.append(_image(escalation_chart(review), "escalations by topic"))
    parts.append(f"<h2>3. The {len(review.worst)} worst conversations</h2><ol>")
    for row in review.worst:
        csat = f", CSAT {row['csat']}" if row.get("csat") else ""
        parts.append(f"<li><b>{_e(row['id'])}</b> ({row['started_at']:%Y-%m-%d},"
                     f" {_e(row['topic'] or 'no topic')}, score {row['score']:.2f}{csat}):"
                     f" {_e(row['why'] or 'no dimension below pass')}"
                     f"<blockquote>customer: {_e(row['asked'], _EXCERPT)}</blockquote></li>")
    parts += ["</ol>", "<h2>4. KB gaps</h2>",
              f"<p>{review.gaps_total} conversation(s) had a question that no served article"
              f" covered well (retrieval confidence below {review.gap_below:.2f}).</p>"]
    if review.gaps:
        parts.append(_rows(["question", "confidence", "best article", "conversation"], [
            [_e(g["question"], _EXCERPT), f"{g['confidence']:.2f}", _e(g.get("article") or "-"),
             _e(g["conversation"])] for g in review.gaps]))
    parts += [f"<h2>5. Rubric vs the {ROLLING_WEEKS}-week average</h2>",
              _rows(["dimension", _e(review.week), f"{ROLLING_WEEKS}-week average", "change", ""],
                    [[t.name, _pct(t.now), _e(_average_label(t)), _change(t),
                      "<b>ALERT</b>" if t.alert else ""] for t in review.dimensions])]
    parts += [f"<p class=alert>{_e(_alert(t))}</p>" for t in review.dimensions if t.alert]
    parts.append(_image(trend_chart(review), "rubric dimensions and automated resolution by week"))
    parts += ["<h2>6. Changes we decided on (3-5)</h2>",
              "<p class=muted>Knowledge base, prompt or escalation rules; each to ship before"
              " next week's review.</p><ol class=changes>"]
    parts += [f"<li>{_e(item)}</li>" for item in review.changes]
    parts.append("</ol>")
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>Weekly AI review {_e(review.week)}</title><style>{_STYLE}</style></head>"
            "<body>\n" + "\n".join(parts) + "\n</body></html>\n")


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _label(text: str) -> str:
    """Text as matplotlib shows it literally: `$` would start mathtext."""
    return text.replace("$", r"\$")


def trend_chart(review: WeeklyReview) -> bytes:
    figure = _figure(7.5, 3.2)
    axes = figure.add_subplot()
    for name, values in review.series.items():
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if points:
            axes.plot([i for i, _ in points], [v for _, v in points], marker="o",
                      label="automated resolution" if name == "automated" else name)
    axes.set_xticks(range(len(review.weeks)), [w.split("-")[-1] for w in review.weeks])
    axes.set_ylim(0, 105)
    axes.set_ylabel("% (pass = 100)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    return _png(figure)


def escalation_chart(review: WeeklyReview) -> bytes:
    topics = review.escalations[:12]
    figure = _figure(7.5, 0.35 * len(topics) + 0.8)
    axes = figure.add_subplot()
    axes.barh([_label(e.topic) for e in topics], [e.count for e in topics], color="#c06030")
    axes.invert_yaxis()
    axes.set_xlabel("conversations handed to a person")
    axes.xaxis.get_major_locator().set_params(integer=True)
    return _png(figure)
