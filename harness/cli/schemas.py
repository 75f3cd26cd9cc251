"""`harness schemas [--out DIR]`: JSON Schemas of the store's files, for the team's editors.

Writes one schema per kind of file (harness/store/schemas.py makes those of the store's
formats; the calibration labels and the `--what-if` candidate are made here, where the layers
allow importing their models) and prints the `# yaml-language-server: $schema=...` line to
put at the top of each kind of file. The repository's own copies are docs/schemas/:
`harness schemas --out docs/schemas` regenerates them after a change to the models.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness.cli.common import add_store
from harness.coach.calibrate import Label, Labels
from harness.errors import HarnessError
from harness.kbtools.dials import Candidate
from harness.regression.baseline import write_atomic
from harness.store.loading import find_store_root
from harness.store.reference import reference_markdown
from harness.store.schemas import (
    LOADER_ONLY,
    STORE_FORMATS,
    Format,
    json_schema,
    render,
    schema_comment,
)

__all__ = ["DEFAULT_OUT", "FORMATS", "comment_lines", "generated", "reference", "register",
           "write_schemas"]

DEFAULT_OUT = Path(".harness") / "schemas"  # in the store

_GRADE = "The coach's grade of {}: pass, partial or fail; left out: not compared."

FORMATS: tuple[Format, ...] = (
    *STORE_FORMATS,
    Format("labels", Labels, "Calibration labels", "LABELS.yaml (harness calibrate)", ".",
           descriptions={
               "Labels": "A coach's grades of some cases, for `harness calibrate LABELS.yaml`:"
                         " how often the rubric's rules and the LLM judge agree with them.",
               "Labels.labels": "One entry per case the coach graded (at least one).",
               "Label": "The coach's grades of one case.",
               "Label.id": "The case, SUITE/ID (core/returns-window); it must be in suites/.",
               **{f"Label.{name}": _GRADE.format(name) for name in Label.model_fields
                  if name not in ("id", "note")},
               "Label.note": "Why, for the people reading the disagreements; not compared.",
           }),
    Format("what-if", Candidate, "Escalation candidate",
           "CANDIDATE.yaml (harness dials --what-if)", ".",
           descriptions={
               "Candidate": "A candidate escalation rule for `harness dials --what-if"
                            " CANDIDATE.yaml`: the suites are run under agent.yaml's rules and"
                            " under these, side by side. A key left out keeps agent.yaml's.",
               "Candidate.min_confidence": "The candidate escalation.min_confidence, 0 to 1.",
               "Candidate.topics": "The candidate escalation.topics: replaces all of"
                                   " agent.yaml's topics (each with its list of phrases).",
               "Candidate.on_request": "The candidate escalation.on_request, true or false.",
           }),
)


def generated() -> dict[str, str]:
    """File name -> text of every schema, as the models make them now."""
    return {fmt.file_name: render(json_schema(fmt)) for fmt in FORMATS}


def reference() -> str:
    """docs/formats.md as the models make it now."""
    return reference_markdown([(fmt.title, fmt.where, json_schema(fmt)) for fmt in FORMATS],
                              LOADER_ONLY)


def _write(path: Path, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as error:
        raise HarnessError(f"{path}: cannot write: {error.strerror or error}") from None


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated().items():
        path = out / name
        _write(path, text)
        written.append(path)
    return written


def comment_lines(root: Path, out: Path) -> list[tuple[Format, str]]:
    """Each format with a YAML file, and the comment its file starts with (a path relative to
    the file's folder: the folder of `where`, the store's root for labels and candidates)."""
    lines = []
    for fmt in FORMATS:
        if fmt.folder is None or fmt.note:
            continue
        folder = root / fmt.folder
        relative = os.path.relpath(out.resolve() / fmt.file_name, folder.resolve())
        lines.append((fmt, schema_comment(Path(relative).as_posix())))
    return lines


def cmd_schemas(args: argparse.Namespace) -> int:
    if args.reference:
        _write(Path(args.reference), reference())
        print(f"wrote the formats reference to {args.reference}")
        return 0
    start = Path(args.store or ".").resolve()
    root = find_store_root(start)
    if root is None and not args.out:
        raise HarnessError(f"{start}: not inside a store (expected suites/ beside prompts/ or"
                           " knowledge/); pass --store PATH or --out DIR")
    out = Path(args.out).resolve() if args.out else root / DEFAULT_OUT
    written = write_schemas(out)
    shown = os.path.relpath(out, root) if root else str(out)
    print(f"wrote {len(written)} schemas to {shown}/: {', '.join(p.name for p in written)}")
    if root is None:
        print("not inside a store: pass --store PATH for the lines that name them in its files")
        return 0
    print("\nPut this line at the top of each kind of file; an editor with the YAML extension"
          " (yaml-language-server) then completes keys, explains them and marks mistakes:")
    for fmt, line in comment_lines(root, out):
        where = fmt.where + (", at the store's root" if fmt.folder == "." else "")
        print(f"  {where}\n    {line}")
    print("A labels or candidate file in a subfolder needs one more ../ per level.")
    for fmt in FORMATS:
        if fmt.note:
            print(f"{fmt.file_name} ({fmt.where}): {fmt.note}.")
    if not args.out:
        print(f"\nCommit {DEFAULT_OUT.as_posix()}/ so everyone's editor finds the schemas, and"
              " run `harness schemas` again after upgrading the harness.")
    return 0


def register(commands: Any) -> None:
    schemas = commands.add_parser(
        "schemas", help="write JSON Schemas of the store's files for editors, and print the"
        " `# yaml-language-server: $schema=...` line for each kind of file (docs/formats.md)")
    add_store(schemas)
    schemas.add_argument("--out", metavar="DIR", help="where to write them (default:"
                         f" {DEFAULT_OUT.as_posix()}/ in the store)")
    schemas.add_argument("--reference", metavar="FILE", help="write the formats reference"
                         " (docs/formats.md) instead, from the same models")
    schemas.set_defaults(func=cmd_schemas)
