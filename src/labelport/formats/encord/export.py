"""An Encord export folder: ``label_rows.json`` (the label rows) and ``ontology.json`` (the Encord ontology
they pair with, the project's ontology as Encord holds it), so both go to Encord together.

Written only; the label rows read back with ``encord_label_rows`` and the ontology with
``labelport import encord ... --ontology``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from labelport.errors import ValidationError
from labelport.formats.base import Detection, Sink, Source, WriteContext, WriteReport
from labelport.formats.encord.ontology import unwritable_tools, write_ontology
from labelport.formats.encord.rows_write import write_rows
from labelport.model.item import LabeledItem

NAME = "encord_export"
ROWS_FILE = "label_rows.json"
ONTOLOGY_FILE = "ontology.json"


def detect(source: Source) -> Detection:
    return Detection(0.0, "the Encord export folder is written only; read its label_rows.json as encord_label_rows")


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write the label rows and the ontology into the folder ``sink`` (each file written whole, then renamed)."""
    if not isinstance(sink, str | Path):
        raise ValidationError("the Encord export writes a folder; give a folder path", field="output")
    folder = Path(sink)
    folder.mkdir(parents=True, exist_ok=True)
    context = ctx or WriteContext()
    partial = folder / f".{ROWS_FILE}.partial"
    try:
        with partial.open("wb") as handle:
            report = write_rows(items, handle, context)
        partial.replace(folder / ROWS_FILE)
    finally:
        partial.unlink(missing_ok=True)
    if context.ontology is not None:
        for tool in unwritable_tools(context.ontology):
            report.lose(
                f"ontology {context.ontology.name!r}",
                f"{tool.type.value} tool {tool.name!r}",
                "Encord has no such shape",
            )
        (folder / ONTOLOGY_FILE).write_bytes(orjson.dumps(write_ontology(context.ontology), option=orjson.OPT_INDENT_2))
    return report


__all__ = ["NAME", "ONTOLOGY_FILE", "ROWS_FILE", "detect", "write"]
