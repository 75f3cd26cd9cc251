"""`harness import promptfoo CONFIG`: promptfoo test cases become fixtures of one suite.

    the customer turn   vars question / query / input / message, else the only var
    expect.facts        contains, icontains, contains-all, icontains-all, regex (as /.../),
                        contains-any, icontains-any (one /a|b/), equals (an anchored /^...$/)
    expect.forbidden    not-contains, not-icontains, not-contains-any, not-icontains-any,
                        not-regex, not-equals
    expect.criteria     llm-rubric (checked by the LLM judge when agent.yaml names one)
    expect.outcome      resolve

Harness phrases match case-insensitively (FORMATS.md), so `contains` and `regex` become a little
looser than in promptfoo. What cannot be mapped is reported on stderr, one line each; the exit
status is 1 when a test or an assertion was left out. A fixture is never overwritten (case ids
are unique across suites/), and each one written is loaded back; one that would not load is
removed and reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from harness.errors import HarnessError, LoadError
from harness.store.guard import DATA_LIMIT, check_yaml, read_text
from harness.store.loading import Store, load_case, load_suites, suite_files
from harness.store.schema import check_pattern
from harness.text.matching import normalize

__all__ = ["ASSERT_TYPES", "QUESTION_VARS", "Imported", "convert_tests", "import_promptfoo"]

QUESTION_VARS = ("question", "query", "input", "message")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _values(value: Any) -> list[str]:
    """A list, or promptfoo's comma-separated string ("a, b" or '"a,b", c')."""
    if isinstance(value, str):
        return [v.strip() for v in next(csv.reader([value], skipinitialspace=True)) if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise ValueError("expected a list of strings")


def _one(value: Any) -> list[str]:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    raise ValueError("expected a string or a number")


def _regex(value: Any) -> list[str]:
    if not isinstance(value, str):
        raise ValueError("expected a regular expression string")
    return [f"/{value}/"]


def _any(value: Any) -> list[str]:
    options = _values(value)
    if len(options) == 1:
        return options
    return ["/(?:" + "|".join(re.escape(normalize(v)) for v in options) + ")/"]


def _equal(value: Any) -> list[str]:
    return [f"/^{re.escape(normalize(text))}$/" for text in _one(value)]


# Each promptfoo type the import understands: (key of expect, how its value becomes phrases).
ASSERT_TYPES: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "contains": ("facts", _one), "icontains": ("facts", _one),
    "contains-all": ("facts", _values), "icontains-all": ("facts", _values),
    "contains-any": ("facts", _any), "icontains-any": ("facts", _any),
    "regex": ("facts", _regex), "equals": ("facts", _equal),
    "not-contains": ("forbidden", _one), "not-icontains": ("forbidden", _one),
    "not-contains-any": ("forbidden", _values), "not-icontains-any": ("forbidden", _values),
    "not-regex": ("forbidden", _regex), "not-equals": ("forbidden", _equal),
    "llm-rubric": ("criteria", _one),
}


@dataclass
class Imported:
    """Fixture documents to write, and what could not be mapped (problems) or is worth saying."""

    fixtures: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> fixture data
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _question(vars_: Mapping[str, Any]) -> tuple[str | None, str]:
    """(var name, customer text), or (None, why not)."""
    names = [n for n in QUESTION_VARS if n in vars_] or (list(vars_) if len(vars_) == 1 else [])
    if not names:
        return None, f"no var named {'/'.join(QUESTION_VARS)} and not exactly one var"
    value = vars_[names[0]]
    if not isinstance(value, str) or not value.strip() or value.startswith("file://"):
        return None, f"var {names[0]!r} is not inline text (a list or file:// is not imported)"
    return names[0], value


def _phrases(assertion: Any, vars_: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(expect key, phrases) of one assertion; ValueError says why it cannot be mapped."""
    if not isinstance(assertion, dict) or not isinstance(assertion.get("type"), str):
        raise ValueError("not an assertion with a type")
    kind = assertion["type"]
    if kind not in ASSERT_TYPES:
        raise ValueError(f"assert type {kind!r} has no fixture equivalent")
    value = assertion.get("value")
    if isinstance(value, str) and value.startswith("file://"):
        raise ValueError(f"{kind} with a file:// value")
    if isinstance(value, str) and "{{" in value:
        try:
            value = _TEMPLATES.from_string(value).render(dict(vars_))
        except TemplateError as error:
            raise ValueError(f"{kind}: its template cannot be filled: {error}") from None
    key, rule = ASSERT_TYPES[kind]
    phrases = rule(value)
    if key != "criteria":
        for phrase in phrases:
            check_pattern(phrase)  # a ValueError names the bad phrase
    return key, phrases


def _stem(test: Mapping[str, Any], question: str, number: int) -> str:
    for text in (test.get("description"), question):
        if isinstance(text, str):
            words = re.findall(r"[a-z0-9]+", text.lower())
            stem = "-".join(words)[:60].rstrip("-")
            if stem:
                return stem
    return f"test-{number:03d}"


def convert_tests(tests: list[Any], default: Mapping[str, Any], today: dt.date) -> Imported:
    """promptfoo tests (after file references are read) as fixture data, with a report."""
    result = Imported()
    shared = [a for a in default.get("assert") or [] if isinstance(a, dict)]
    if shared:
        result.notes.append(f"defaultTest: {len(shared)} assert(s) applied to every test")
    for number, test in enumerate(tests, 1):
        where = f"test {number}" + (f" ({test['description']})" if isinstance(test, dict)
                                    and test.get("description") else "")
        if not isinstance(test, dict):
            result.problems.append(f"{where}: not a test case mapping; not imported")
            continue
        own_vars, own_asserts = test.get("vars") or {}, test.get("assert") or []
        if not isinstance(own_vars, dict) or not isinstance(own_asserts, list):
            result.problems.append(f"{where}: vars from a file or asserts that are not a list;"
                                   " not imported")
            continue
        vars_ = {**(default.get("vars") or {}), **own_vars}
        name, question = _question(vars_)
        if name is None:
            result.problems.append(f"{where}: {question}; not imported")
            continue
        expect: dict[str, list[str]] = {"facts": [], "forbidden": [], "criteria": []}
        for assertion in [*own_asserts, *shared]:
            try:
                key, phrases = _phrases(assertion, vars_)
            except ValueError as error:
                result.problems.append(f"{where}: {error}; left out")
                continue
            expect[key] += [p for p in phrases if p not in expect[key]]
        ignored = sorted(set(vars_) - {name})
        if ignored:
            result.notes.append(f"{where}: vars not kept (only the customer turn is):"
                                f" {', '.join(ignored)}")
        result.fixtures[_unique(_stem(test, question, number), result.fixtures)] = {
            "tags": ["promptfoo"], "added": today, "source": {"kind": "synthetic"},
            "conversation": [{"customer": question}],
            "expect": {"outcome": "resolve", **{k: v for k, v in expect.items() if v}},
        }
    return result


def _unique(stem: str, taken: Mapping[str, Any]) -> str:
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def _read(path: Path) -> Any:
    """A promptfoo config or tests file, with the store's limits (size, aliases, depth)."""
    try:
        text = read_text(path, DATA_LIMIT, "promptfoo config")
        if path.suffix == ".json":
            return json.loads(text)
        check_yaml(text, path)
        return yaml.safe_load(text)
    except LoadError as error:
        raise HarnessError(f"cannot be read as a promptfoo config: {error}") from None
    except RecursionError:
        raise HarnessError(f"{path}: cannot be read as a promptfoo config: nested too"
                           " deeply") from None
    except (OSError, ValueError, TypeError, AttributeError, OverflowError,
            yaml.YAMLError) as error:
        raise HarnessError(f"{path}: cannot be read as a promptfoo config: {error}") from None


def load_tests(config_path: Path) -> tuple[list[Any], dict[str, Any], list[str]]:
    """The config's tests (inline, or file:// YAML/JSON files), its defaultTest, and problems."""
    config = _read(config_path)
    if not isinstance(config, dict):
        raise HarnessError(f"{config_path}: expected a promptfoo config (a mapping)")
    problems: list[str] = []
    default = config.get("defaultTest") or {}
    if not isinstance(default, dict) or not isinstance(default.get("vars") or {}, dict):
        problems.append("defaultTest from a file is not read; its vars and asserts are left out")
        default = {}
    raw = config.get("tests") or []
    tests: list[Any] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str) and item.startswith("file://") and item.endswith(
                (".yaml", ".yml", ".json")):
            loaded = _read(config_path.parent / item.removeprefix("file://"))
            tests += loaded if isinstance(loaded, list) else [loaded]
        elif isinstance(item, str):
            problems.append(f"tests {item!r}: only inline tests and YAML/JSON files are read")
        else:
            tests.append(item)
    return tests, default, problems


def write_fixtures(imported: Imported, store: Store, suite: str, source: Path) -> list[Path]:
    """Write each fixture that does not exist yet in any suite, and check that it loads."""
    cases, _ = load_suites(store)
    taken = {case.id: case.path for case in cases}
    taken.update({path.stem: path for path in suite_files(store.root)})
    folder = store.root / "suites" / suite
    written = []
    for stem, data in imported.fixtures.items():
        if stem in taken and taken[stem].parent == folder:  # imported before: keep the coach's
            imported.problems.append(f"{stem}: {taken[stem]} already exists; never overwritten")
            continue
        if stem in taken:  # ids are unique across suites: another suite has this one
            other, stem = taken[stem], _unique(stem, taken)
            imported.notes.append(f"{stem}: named so, as {other} already uses its id")
            data = {**data, "id": stem} if "id" in data else data
        taken[stem] = folder / f"{stem}.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.yaml"
        header = f"# Imported by `harness import promptfoo` from {source.name}.\n"
        with path.open("x", encoding="utf-8") as handle:
            handle.write(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                                 width=100))
        try:
            load_case(path, store)
        except LoadError as error:
            path.unlink()
            imported.problems.append(f"{stem}: would not load, so not kept: {error}")
            continue
        written.append(path)
    return written


def import_promptfoo(config_path: Path, store: Store, suite: str
                     ) -> tuple[list[Path], int, Imported]:
    """Read, convert and write: the fixtures written, the tests read, the notes and problems."""
    if not _NAME.match(suite):
        raise HarnessError(f"--suite {suite!r}: expected a folder name (letters, digits, . _ -)")
    tests, default, problems = load_tests(config_path)
    imported = convert_tests(tests, default, dt.date.today())
    imported.problems[:0] = problems
    imported.notes.append("prompts are not imported: the agent's prompt is prompts/system.md.j2")
    written = write_fixtures(imported, store, suite, config_path)
    return written, len(tests), imported
