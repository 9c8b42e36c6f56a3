"""How list commands print: ``--format table|json|csv`` (sqlite-utils' convention).

``table`` is for people: ids and keys are printed whole whatever the terminal width (other columns wrap);
``json`` is for scripts: one JSON array of objects whose keys are the column keys, stable across releases;
``csv`` has a header row of the same keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    """How a list is printed."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        metavar="table|json|csv",
        case_sensitive=False,
        help="table (for people), json (for scripts: an array of objects) or csv.",
    ),
]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: ``key`` in json/csv, ``title`` in the table; ``whole`` values (ids, keys) never wrap or shrink."""

    key: str
    title: str
    whole: bool = False


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def emit(console: Console, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], fmt: OutputFormat) -> None:
    """Print ``rows`` (dicts keyed by the columns' keys) in ``fmt``."""
    rows = list(rows)
    if fmt is OutputFormat.JSON:
        shown = [{c.key: row.get(c.key) for c in columns} for row in rows]
        console.out(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode(), highlight=False)
        return
    if fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        writer.writerows([[_cell(row.get(c.key)) for c in columns] for row in rows])
        console.out(buffer.getvalue().rstrip("\n"), highlight=False)
        return
    table = Table(*(c.title for c in columns), expand=False)
    needed = 1
    for column, spec in zip(table.columns, columns, strict=True):
        if spec.whole:
            # Ids and keys whole: never cut or folded, even when the table must be wider than the terminal.
            column.no_wrap = True
            column.overflow = "ignore"
            column.min_width = max([len(spec.title), *(len(_cell(r.get(spec.key))) for r in rows)])
            needed += column.min_width + 3
        else:
            # These wrap (a long word or path folds onto the next line, never cut), with room for a word a line.
            column.overflow = "fold"
            column.min_width = min(12, max([len(spec.title), *(len(_cell(r.get(spec.key))) for r in rows)]))
            needed += column.min_width + 3
    for row in rows:
        table.add_row(*(_cell(row.get(c.key)) for c in columns))
    if needed <= console.width:
        console.print(table)
        return
    # Wider than the terminal: printed at the width that keeps ids whole (the console itself stays as it is).
    wide = Console(
        file=console.file,
        width=needed,
        color_system=console.color_system,  # type: ignore[arg-type]
        force_terminal=console.is_terminal,
        highlight=False,
    )
    wide.print(table, crop=False)


__all__ = ["Column", "FormatOption", "OutputFormat", "emit"]
