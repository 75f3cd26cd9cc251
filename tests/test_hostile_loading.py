"""Hostile store files (issue 15, items 1, 2, 11): one bad file is one clear error naming it.

Binary and non-UTF-8 files, BOMs, `.yml` fixtures, infinite prices, recursive aliases, alias
bombs, deep nesting and oversized files: each is a LoadError naming the file (and line), never a
traceback, and the other fixtures still load.
"""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.errors import LoadError
from harness.store.guard import ARTICLE_LIMIT, FIXTURE_LIMIT, MAX_DEPTH
from harness.store.loading import StoreLoadError, load_store, load_suites

FIXTURE = "conversation:\n  - customer: How many days do I have to return an item?\n" \
          "expect:\n  outcome: resolve\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
    f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)) + FIXTURE


def _store_with_fixture(make_store, tmp_path, name: str, content: bytes):
    root = make_store()
    (root / "suites" / "core" / name).write_bytes(content)
    return root


@pytest.mark.parametrize(("content", "words"), [
    (b"conversation:\n  - customer: caf\xe9\n", "not UTF-8 text (byte 0xe9)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL byte"),
    (b"x: &a [*a]\n" + FIXTURE.encode(), "aliases"),
    (BOMB.encode(), "aliases"),
    (("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n").encode(), "nested"),
    (b"a: " + b"x" * FIXTURE_LIMIT + b"\n", "may be at most"),
])
def test_a_hostile_fixture_is_one_error_naming_it_and_the_others_load(
        make_store, tmp_path, content, words):
    root = _store_with_fixture(make_store, tmp_path, "hostile.yaml", content)
    cases, broken = load_suites(load_store(root))
    assert [c.case_id for c in cases] == ["core/returns-window"]
    assert len(broken) == 1
    assert broken[0].path.name == "hostile.yaml" and words in str(broken[0])


def test_non_utf8_names_the_line(make_store, tmp_path):
    root = _store_with_fixture(make_store, tmp_path, "latin.yaml",
                               b"conversation:\n  - customer: ok\n  - agent: caf\xe9\n")
    _, broken = load_suites(load_store(root))
    assert broken[0].line == 3


@pytest.mark.parametrize(("content", "words"), [
    (b"---\ntitle: caf\xe9\n---\nbody\n", "not UTF-8"),
    (b"---\ntitle: x\x00\n---\nbody\n", "NUL byte"),
    (b"---\ntitle: &a [*a]\ntopic: t\n---\nbody\n", "aliases"),
    (b"---\ntitle: big\ntopic: t\n---\n" + b"word " * (ARTICLE_LIMIT // 5 + 1), "at most"),
])
def test_a_hostile_article_is_an_error_naming_the_article(make_store, content, words):
    root = make_store()
    (root / "knowledge" / "articles" / "evil.md").write_bytes(content)
    with pytest.raises(StoreLoadError) as caught:
        load_store(root)
    assert "evil.md" in str(caught.value) and words in str(caught.value)


def test_an_article_with_a_bom_loads(make_store):
    root = make_store()
    path = root / "knowledge" / "articles" / "shipping.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    store = load_store(root)
    assert store.article("shipping").title == "Shipping times and costs"


def test_an_infinite_price_is_refused(make_store):
    root = make_store(catalog="products:\n  - {sku: A, name: Thing, price: 1e400,"
                              " status: active}\n")
    with pytest.raises(StoreLoadError) as caught:
        load_store(root)
    assert "catalog.yaml" in str(caught.value) and "finite" in str(caught.value)


def test_check_counts_yml_fixtures_and_names_bad_files_without_traceback(make_store, capsys):
    root = make_store()
    (root / "suites" / "core" / "other.yml").write_text(FIXTURE, encoding="utf-8")
    (root / "suites" / "core" / "binary.yaml").write_bytes(b"\xff\xfe\x00junk")
    (root / "suites" / "core" / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    assert main(["check", "--store", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "2 fixtures loaded; 2 fixture(s) with errors" in out
    assert "binary.yaml" in err and "bomb.yaml" in err and "Traceback" not in err


def test_a_hostile_article_in_check_is_named(make_store, capsys):
    root = make_store()
    (root / "knowledge" / "articles" / "evil.md").write_bytes(b"---\ntitle: \xff\n---\n")
    assert main(["check", "--store", str(root)]) == 1
    assert "evil.md" in capsys.readouterr().err


def test_yaml_errors_are_load_errors_not_crashes(tmp_path):
    from harness.store.guard import check_yaml

    with pytest.raises(LoadError, match="invalid YAML"):
        check_yaml("a: 1\nb: [\n", tmp_path / "f.yaml")


@pytest.mark.parametrize("value", ["!!timestamp 0000-0-0", "!!timestamp", "!!int zz",
                                   "!!float x"])
def test_an_explicit_tag_on_a_bad_value_is_a_load_error(make_store, value):
    """Found by the fuzz test: PyYAML raised ValueError / AttributeError from its builders."""
    root = make_store()
    (root / "suites" / "core" / "tagged.yaml").write_text(f"topic: {value}\n" + FIXTURE,
                                                          encoding="utf-8")
    _, broken = load_suites(load_store(root))
    assert len(broken) == 1 and "tagged.yaml" in str(broken[0])


def test_under_pytest_each_bad_fixture_fails_alone_and_the_gate_fails(make_store, pytester):
    make_store(root=pytester.path)
    core = pytester.path / "suites" / "core"
    assert pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider",
                                         "--update-baseline").ret == 0
    (core / "binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    (core / "latin.yml").write_bytes(b"conversation:\n  - customer: caf\xe9\n")
    (core / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    (core / "loop.yaml").write_text("x: &a [*a]\n" + FIXTURE, encoding="utf-8")
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-rA")
    out = result.stdout.str()
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=4)
    for name in ("binary.yaml", "latin.yml", "bomb.yaml", "loop.yaml"):
        assert name in out


def test_under_pytest_a_template_runtime_error_fails_the_cases_not_the_run(make_store,
                                                                          pytester):
    make_store(root=pytester.path, template="Hello {{ 1 // 0 }}\n")
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "INTERNALERROR" not in out and result.ret == 1
    assert "system.md.j2, line 1: template error: ZeroDivisionError" in out
    result.assert_outcomes(failed=1)
