"""Read a store from disk into the frozen values of `schema.py`, or explain what is wrong.

Every error names the file, the YAML line where one is known, the key and what was expected.
Store-wide files (articles, catalog, agent.yaml) are all-or-nothing: `load_store` gathers every
problem and raises them together, before any model call. Fixtures load one at a time, so a bad
fixture fails alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError, LoadError
from harness.store.guard import (
    ARTICLE_LIMIT,
    DATA_LIMIT,
    FIXTURE_LIMIT,
    check_yaml,
    read_text,
    yaml_error,
)
from harness.store.schema import AgentConfig, Article, Case, Catalog
from harness.store.tools import ESCALATE_NAME

__all__ = [
    "FIXTURE_SUFFIXES", "Store", "StoreLoadError", "Stores", "find_store_root", "load_case",
    "load_store",
    "load_suites", "load_yaml_file", "open_store", "store_root_for", "suite_files",
]

Model = TypeVar("Model", bound=BaseModel)
LinePath = tuple[str | int, ...]


class StoreLoadError(HarnessError):
    """One or more store-wide files are broken; the run cannot start."""

    def __init__(self, errors: list[LoadError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"the store cannot be loaded ({len(errors)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Store:
    """Everything a run needs that is shared by all cases."""

    root: Path
    articles: tuple[Article, ...]
    catalog: Catalog
    agent: AgentConfig
    template_path: Path

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)


# -- YAML with line numbers ------------------------------------------------------------------


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML that leaves dates as text, so a bad date is reported, not a crash."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, path: Path, first_line: int = 1) -> tuple[Any, dict[LinePath, int]]:
    """Parse YAML and map each key path to its line; refuse duplicate keys, aliases, depth."""
    check_yaml(text, path, first_line)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()  # parsed once: nodes give lines, then the values
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path, first_line) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # an explicit tag on a value it cannot build (`!!timestamp 0000-0-0`, `!!int x`)
        raise LoadError(path, f"invalid YAML value: {exc}") from None
    finally:
        loader.dispose()
    lines: dict[LinePath, int] = {}
    if node is not None:
        _map_lines(node, (), lines, path, first_line)
    return data, lines


def _map_lines(
    node: yaml.Node, at: LinePath, lines: dict[LinePath, int], path: Path, first: int
) -> None:
    lines[at] = node.start_mark.line + first
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dotted = ".".join(str(p) for p in (*at, key))
                raise LoadError(
                    path,
                    "duplicate key; each key may appear once",
                    line=key_node.start_mark.line + first,
                    key=dotted,
                )
            seen.add(key)
            _map_lines(value_node, (*at, key), lines, path, first)
            lines[(*at, key)] = key_node.start_mark.line + first
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, (*at, index), lines, path, first)


def _line_for(loc: LinePath, lines: dict[LinePath, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _explain(error: dict[str, Any], model: type[BaseModel], internal: set[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key; " + _expected_keys(error["loc"], model, internal)
    if kind == "missing":
        return "missing required key"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.startswith("date"):
        return f"{message}; expected a date YYYY-MM-DD, got {error.get('input')!r}"
    if kind == "literal_error":
        return f"{message}, got {error.get('input')!r}"
    return message


def _expected_keys(loc: LinePath, model: type[BaseModel], internal: set[str]) -> str:
    """Name the keys allowed where an unknown one was found (top level or one model deep)."""
    fields = model.model_fields
    for part in loc[:-1]:
        field = fields.get(str(part)) if isinstance(part, str) else None
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = annotation.model_fields
        elif not isinstance(part, int):
            return "this key is not part of the format"
    top = len(loc) == 1
    names = [name for name in fields if not (top and name in internal)]
    return "expected one of: " + ", ".join(names)


def _validate(
    model: type[Model], data: Any, line_map: dict[LinePath, int], source: Path, **extra: Any
) -> Model:
    """Validate `data` from a file; `extra` are values the loader supplies, never the file."""
    if not isinstance(data, dict):
        raise LoadError(source, f"expected a mapping of keys, got {type(data).__name__}", line=1)
    internal = set(extra)
    for key in data:
        if key in internal:
            raise LoadError(source, "unknown key; " + _expected_keys((key,), model, internal),
                            line=line_map.get((key,)), key=str(key))
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        found = []
        for error in exc.errors()[:20]:  # every problem of the file at once, not one per run
            loc = tuple(error["loc"])
            found.append(LoadError(source, _explain(error, model, internal),
                                   line=_line_for(loc, line_map),
                                   key=".".join(str(p) for p in loc) or None))
        first = found[0]
        raise LoadError(source, first.detail, line=first.line, key=first.key,
                        also=tuple(found[1:])) from None


# -- store-wide files ------------------------------------------------------------------------


def load_article(path: Path) -> Article:
    text = read_text(path, ARTICLE_LIMIT, "KB article").replace("\r\n", "\n")
    if not text.startswith("---"):
        raise LoadError(path, "expected front matter between `---` lines at the top", line=1)
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise LoadError(path, "front matter is not closed by a `---` line", line=1)
    header = parts[0].removeprefix("---")
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    data, lines = _parse_yaml(header, path, first_line=1)
    article = _validate(Article, data, lines, path, body=body.strip(), path=path)
    if article.id != path.stem:
        raise LoadError(
            path, f"id {article.id!r} must equal the file's stem {path.stem!r}",
            line=lines.get(("id",)), key="id",
        )
    return article


def load_yaml_file(path: Path, model: type[Model]) -> Model:
    """Any YAML file of the store's tools (labels, ...) as `model`, with the same errors."""
    data, lines = _parse_yaml(read_text(path, DATA_LIMIT, "YAML file"), path)
    return _validate(model, data, lines, path)


def load_catalog(path: Path) -> Catalog:
    data, lines = _parse_yaml(read_text(path, DATA_LIMIT, "catalog"), path)
    return _validate(Catalog, data or {}, lines, path)


def load_agent(path: Path) -> AgentConfig:
    data, lines = _parse_yaml(read_text(path, DATA_LIMIT, "agent.yaml"), path)
    return _validate(AgentConfig, data or {}, lines, path, path=path)


def find_store_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding `suites/` and `prompts/` or `knowledge/`."""
    for folder in (start, *start.parents):
        if (folder / "suites").is_dir() and (
            (folder / "prompts").is_dir() or (folder / "knowledge").is_dir()
        ):
            return folder
    return None


def load_store(root: Path) -> Store:
    """Load articles, catalog and agent.yaml, reporting every problem at once."""
    errors: list[LoadError] = []
    articles: list[Article] = []
    for path in sorted((root / "knowledge" / "articles").glob("*.md")):
        try:
            articles.append(load_article(path))
        except LoadError as error:
            errors.append(error)
    catalog, agent = Catalog(), AgentConfig()
    catalog_path = root / "knowledge" / "catalog.yaml"
    agent_path = root / "prompts" / "agent.yaml"
    template_path = root / "prompts" / "system.md.j2"
    try:
        catalog = load_catalog(catalog_path) if catalog_path.exists() else catalog
    except LoadError as error:
        errors.append(error)
    try:
        agent = load_agent(agent_path) if agent_path.exists() else agent
    except LoadError as error:
        errors.append(error)
    if not template_path.exists():
        errors.append(LoadError(template_path, "missing; expected the system prompt template"))
    if errors:
        raise StoreLoadError(errors)
    return Store(root, tuple(articles), catalog, agent, template_path)


def open_store(path: str | Path | None) -> Store:
    """The store at or above `path` (default: the working directory), loaded."""
    start = Path(path or ".").resolve()
    root = find_store_root(start)
    if root is None:
        raise HarnessError(f"{start}: not inside a store (expected suites/ beside prompts/ or"
                           " knowledge/); pass --store PATH")
    return load_store(root)


# -- fixtures --------------------------------------------------------------------------------


FIXTURE_SUFFIXES = (".yaml", ".yml")


def suite_files(root: Path) -> Iterator[Path]:
    """Every fixture file of suites/, `.yaml` or `.yml`, as pytest collects them."""
    yield from sorted(p for p in (root / "suites").glob("*/*")
                      if p.suffix in FIXTURE_SUFFIXES and p.is_file())


def suite_of(path: Path, root: Path) -> str:
    return path.relative_to(root / "suites").parts[0]


def load_suites(store: Store) -> tuple[list[Case], list[LoadError]]:
    """Every fixture of suites/, each loaded alone: a broken one is returned, not raised."""
    cases: list[Case] = []
    broken: list[LoadError] = []
    taken: dict[str, Path] = {}
    for path in suite_files(store.root):
        try:
            cases.append(load_case(path, store, taken))
        except LoadError as error:
            broken.append(error)
    return cases, broken


def load_case(path: Path, store: Store, taken: dict[str, Path] | None = None) -> Case:
    """Load one fixture; `taken` maps ids already loaded to their files, to refuse duplicates."""
    data, lines = _parse_yaml(read_text(path, FIXTURE_LIMIT, "fixture"), path)
    if isinstance(data, dict) and "id" not in data:
        data = {**data, "id": path.stem}
    # the dotted keys repeat from fixture to fixture: one string each, not one per fixture
    flat = {sys.intern(".".join(str(p) for p in k)): v for k, v in lines.items() if k}
    case = _validate(
        Case, data, lines, path, suite=suite_of(path, store.root), path=path, lines=flat
    )
    _share_fields_sets(case)
    if taken is not None:
        other = taken.setdefault(case.id, path)
        if other != path:
            raise LoadError(
                path, f"duplicate case id {case.id!r}, already used by {other}",
                line=lines.get(("id",)), key="id",
            )
    known = {a.id for a in store.articles}
    for index, article_id in enumerate(case.expect.articles):
        if article_id not in known:
            raise LoadError(
                path, f"names no article: {article_id!r} is not in knowledge/articles/",
                line=lines.get(("expect", "articles", index)), key=f"expect.articles.{index}",
            )
    _check_tools(case, store, path, lines)
    return case


# one set of written field names per distinct set, shared by every frozen model that has it
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def _share_fields_sets(model: BaseModel) -> None:
    """Give a fixture's models (the case, its turns, its expectations) the one shared set of
    the field names they were given. pydantic keeps such a set in each model, a few hundred
    bytes, most of a kilobyte for a case; fixtures write the same keys, and a frozen model
    never changes its set (a copy gets its own), so 10,000 fixtures need a handful, not
    30,000. The models' values and `model_fields_set` are unchanged."""
    names = model.__pydantic_fields_set__
    shared = _FIELDS_SETS.setdefault(frozenset(names), names)
    if shared is not names:
        object.__setattr__(model, "__pydantic_fields_set__", shared)
    for value in model.__dict__.values():
        for inner in value if isinstance(value, tuple | list) else (value,):
            if isinstance(inner, BaseModel) and inner.model_config.get("frozen"):
                _share_fields_sets(inner)


def _check_tools(case: Case, store: Store, path: Path, lines: dict[LinePath, int]) -> None:
    """A fixture's tool data and `expect.tools` must name tools that agent.yaml offers."""
    offered = {t.name for t in store.agent.tools}
    where = "agent.yaml offers " + (", ".join(sorted(offered)) or "no tools")
    for name, data in case.tools.items():
        spec = store.agent.tool(name)
        if spec is None:
            raise LoadError(path, f"names no tool: {name!r}; {where}",
                            line=lines.get(("tools", name)), key=f"tools.{name}")
        if spec.key_param and not (isinstance(data, Mapping) and all(
                isinstance(v, Mapping) for v in data.values())):
            raise LoadError(path, f"expected a mapping of {spec.key_param} -> result (a"
                            " mapping) for each record this case's back end holds",
                            line=lines.get(("tools", name)), key=f"tools.{name}")
        if not spec.key_param and not isinstance(data, Mapping):
            raise LoadError(path, f"expected the result of {name} (a mapping); it takes no key",
                            line=lines.get(("tools", name)), key=f"tools.{name}")
    for part in ("called", "not_called"):
        for index, ref in enumerate(getattr(case.expect.tools, part)):
            if ref.name not in offered | {ESCALATE_NAME}:
                raise LoadError(path, f"names no tool: {ref.name!r}; {where}",
                                line=lines.get(("expect", "tools", part, index)),
                                key=f"expect.tools.{part}.{index}")


class Stores:
    """The stores of a run, each loaded once by its root; a broken one keeps its error."""

    def __init__(self) -> None:
        self._loaded: dict[Path, Store | StoreLoadError] = {}

    def get(self, root: Path) -> Store | None:
        if root not in self._loaded:
            try:
                self._loaded[root] = load_store(root)
            except StoreLoadError as error:
                self._loaded[root] = error
        loaded = self._loaded[root]
        return loaded if isinstance(loaded, Store) else None

    def loaded(self) -> list[Store]:
        return [s for s in self._loaded.values() if isinstance(s, Store)]

    def errors(self) -> list[StoreLoadError]:
        return [e for e in self._loaded.values() if isinstance(e, StoreLoadError)]


def store_root_for(path: Path) -> Path | None:
    """The store whose `suites/<suite>/` holds the fixture file `path`, if any."""
    if path.parent.parent.name != "suites":
        return None
    root = path.parent.parent.parent
    return root if find_store_root(root) == root else None
