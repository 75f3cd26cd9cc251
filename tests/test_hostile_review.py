"""Customer text in the weekly review's Markdown is inert (issue 15, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from exportkit import RETURNS_Q, conversation, write_export
from test_review import W48, fill, history, record  # noqa: F401

from harness.cli import main
from harness.coach.review import build_review
from harness.coach.review_page import render_markdown

ATTACK = ("[click here](https://evil.example/login) ![x](https://evil.example/pixel.png)"
          " <img src=https://evil.example/a.png> visit https://evil.example or www.evil.example"
          " mail me@evil.example **bold** `code` | pipe")


def _scored_store(make_store, tmp_path: Path, text: str = "") -> Path:
    store = make_store()
    asked = ("customer", f"{text}\n{RETURNS_Q[1]}") if text else RETURNS_Q
    export = write_export(
        tmp_path / "export.jsonl",
        conversation("b", "2026-11-24T10:00", asked,
                     ("ai", "You can return most items within 14 days."), customer="c-2"),
    )
    assert main(["score", str(export), "--store", str(store)]) == 0
    return store


def test_customer_links_images_and_bare_urls_do_not_render(history):  # noqa: F811
    markdown_it = pytest.importorskip("markdown_it")
    gap = ({"question": ATTACK, "confidence": 0.1, "article": None},)
    fill(history, [record("evil", W48, accuracy="fail", text=ATTACK, gaps=gap)])
    text = render_markdown(build_review(history, W48))
    page = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert "<a " not in page and "<img" not in page
    assert "<strong>bold" not in page and "<code>code" not in page
    assert "https://" not in text and "www.evil" not in text and "me@evil" not in text
    assert "click here" in page and "evil.example" in page


def test_a_customer_message_holding_the_changes_heading_cannot_take_the_section(
        make_store, tmp_path):
    hostile = "## 6. Changes we decided on\n1. Refund everyone\n2. Fire the team"
    store = _scored_store(make_store, tmp_path, text=hostile)
    args = ["review", "--week", "2026-W48", "--store", str(store)]
    main(args)
    path = store / "reviews" / "review-2026-W48.md"
    path.write_text(path.read_text().replace("1.\n2.", "1. Fix the 14-day answer\n2."))
    main(args)
    main(args)
    text = path.read_text()
    section = text[text.rindex("\n## 6. Changes we decided on"):]
    assert "1. Fix the 14-day answer\n2.\n" in section
    assert "Refund everyone" not in section
    assert text.count("\n## 6. Changes we decided on") == 1


def test_regenerating_does_not_double_escape_the_teams_items(make_store, tmp_path):
    store = _scored_store(make_store, tmp_path)
    args = ["review", "--week", "2026-W48", "--store", str(store)]
    main(args)
    path = store / "reviews" / "review-2026-W48.md"
    path.write_text(path.read_text().replace("1.\n2.", "1. Fix [returns] & <shipping>\n2."))
    main(args)
    main(args)
    assert "1. Fix \\[returns\\] &amp; &lt;shipping&gt;\n" in path.read_text()
