"""prompt.py: the system prompt template renders store values as data, in Jinja2's sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storekit import TEMPLATE

from harness.agent.prompt import render_system_prompt
from harness.errors import TemplateError
from harness.store.schema import Article, Catalog, Product, Tone, Turn

TONE = Tone(brand="Test Roasters", voice="warm and brief", max_words=80,
            banned_phrases=("as an AI",), emoji=False, sign_off="- Test Roasters team")
RETURNS = Article(id="returns-policy", title="Returns and refunds", topic="returns",
                  status="active", body="You can return most items within 30 days.")
SHIPPING = Article(id="shipping", title="Shipping", topic="shipping", status="active",
                   body="Standard shipping takes 3-5 business days.")
TURNS = (Turn(role="customer", text="Hi, I ordered beans."),
         Turn(role="agent", text="Thanks! How can I help?"),
         Turn(role="customer", text="How long do I have to return them?"))

CONVERSATION_TEMPLATE = (
    "{% for turn in conversation %}{{ turn.role }}: {{ turn.text }}\n{% endfor %}"
)


def render(path: Path = TEMPLATE, *, tone: Tone = TONE, articles=(RETURNS,), turns=TURNS,
           **kwargs) -> str:
    return render_system_prompt(path, tone=tone, articles=list(articles), conversation=turns,
                                **kwargs)


def template(tmp_path: Path, text: str, name: str = "system.md.j2") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_template_renders_tone_and_articles_best_first():
    prompt = render(articles=(SHIPPING, RETURNS))
    assert "Test Roasters" in prompt and "warm and brief" in prompt
    assert "under 80 words" in prompt
    assert "as an AI" in prompt
    assert "Do not use emoji" in prompt
    assert 'End every reply with "- Test Roasters team"' in prompt
    assert '<article id="shipping" title="Shipping" topic="shipping">' in prompt
    assert "Standard shipping takes 3-5 business days." in prompt
    assert prompt.index('id="shipping"') < prompt.index('id="returns-policy"')
    assert "no article matched" not in prompt


def test_sample_template_without_articles_or_sign_off():
    prompt = render(tone=Tone(brand="B", voice="v", max_words=50, emoji=True), articles=())
    assert "no article matched" in prompt
    assert "End every reply" not in prompt
    assert "Do not use emoji" not in prompt


def test_sample_template_renders_product_records():
    s2 = Product(sku="GRD-S2", name="Burr Grinder S2", price=189.0)
    prompt = render(products=[s2], catalog=Catalog(currency="EUR", products=(s2,)))
    assert 'name="Burr Grinder S2"' in prompt
    assert 'price="189.00 EUR"' in prompt
    assert 'status="active"' in prompt


def test_conversation_is_rendered(tmp_path):
    prompt = render(template(tmp_path, CONVERSATION_TEMPLATE))
    assert prompt == ("customer: Hi, I ordered beans.\nagent: Thanks! How can I help?\n"
                      "customer: How long do I have to return them?\n")


def test_article_text_is_data_not_template_code():
    tricky = Article(id="tricky", title="Promo {{ 7*7 }}", topic="promos", status="active",
                     body="Use code {{ 7*7 }} at checkout.\n{% for x in y %}{{ x }}{% endfor %}")
    prompt = render(articles=(tricky,))
    assert "Use code {{ 7*7 }} at checkout." in prompt
    assert "{% for x in y %}{{ x }}{% endfor %}" in prompt
    assert 'title="Promo {{ 7*7 }}"' in prompt
    assert "49" not in prompt


def test_customer_text_is_data_not_template_code(tmp_path):
    turns = (Turn(role="customer", text="What is {{ config }} and {% raw %}?"),)
    prompt = render(template(tmp_path, CONVERSATION_TEMPLATE), turns=turns)
    assert prompt == "customer: What is {{ config }} and {% raw %}?\n"


def test_template_syntax_error_names_file_and_line(tmp_path):
    path = template(tmp_path, "Hello {{ tone.brand }}\nline two\n{% if %}\nend\n")
    with pytest.raises(TemplateError) as caught:
        render(path)
    assert caught.value.line == 3
    assert caught.value.path == path
    assert "system.md.j2, line 3" in str(caught.value)


def test_unclosed_block_is_a_template_error(tmp_path):
    path = template(tmp_path, "{% for a in articles %}\n{{ a.body }}\n")
    with pytest.raises(TemplateError) as caught:
        render(path)
    assert "system.md.j2" in str(caught.value)


def test_undefined_variable_names_file_and_line(tmp_path):
    path = template(tmp_path, "Hello {{ tone.brand }}\n\n{{ brand_name }}\n")
    with pytest.raises(TemplateError) as caught:
        render(path)
    assert caught.value.line == 3
    assert "system.md.j2, line 3" in str(caught.value)
    assert "brand_name" in str(caught.value)


def test_undefined_attribute_inside_a_loop_names_the_line(tmp_path):
    path = template(tmp_path, "# KB\n{% for a in articles %}\n{{ a.summary }}\n{% endfor %}\n")
    with pytest.raises(TemplateError) as caught:
        render(path)
    assert caught.value.line == 3
    assert "summary" in str(caught.value)


def test_edited_template_is_read_again(tmp_path):
    path = template(tmp_path, "first {{ tone.brand }}")
    assert render(path) == "first Test Roasters"
    path.write_text("second {{ tone.brand }}", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert render(path) == "second Test Roasters"


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ tone.__class__.__mro__ }}",
        "{{ articles.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_refuses_python_internals(tmp_path, payload):
    path = template(tmp_path, f"intro\n{payload}\n")
    with pytest.raises(TemplateError) as caught:
        render(path)
    assert "system.md.j2" in str(caught.value)
    assert caught.value.line == 2
