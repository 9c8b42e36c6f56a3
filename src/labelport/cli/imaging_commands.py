"""CLI commands on DICOM series: ``inspect SERIES_DIR``, and ``convert`` (``cli/convert_commands.py``: annotations
between formats, and ``convert SERIES_DIR --to nifti -o OUT.nii.gz`` for the series itself)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import typer

from labelport.errors import LabelportError
from labelport.imaging.volume import SeriesHeader, read_series_header


def inspect(
    series_dir: Annotated[Path, typer.Argument(help="Directory holding one DICOM series.")],
) -> None:
    """Print the geometry of a DICOM series: size, spacing, orientation codes, slice order, warnings."""
    try:
        header = read_series_header(series_dir)
    except LabelportError as exc:
        _fail(exc)
    typer.echo(describe_series(header))


def describe_series(header: SeriesHeader) -> str:
    """The text ``labelport inspect`` prints."""
    normal = np.cross(header.orientation[:3], header.orientation[3:])
    lines = [
        f"series: {header.series_instance_uid or '-'}",
        f"description: {header.series_description or '-'}",
        f"modality: {header.modality or '-'}",
        f"size: {header.columns} x {header.rows} x {header.slices} (columns x rows x slices)",
        "spacing: " + " x ".join(f"{s:.6g}" for s in header.spacing) + " mm (column, row, slice)",
        f"orientation: {header.orientation_codes} (direction of columns, rows, slices; nibabel axcodes)",
        "direction cosines: row " + _vec(header.orientation[:3]) + ", column " + _vec(header.orientation[3:]),
        f"origin: {_vec(header.origin)} mm LPS (centre of voxel 0, 0, 0)",
        f"slice order: ascending IPP . n, n = {_vec(normal)}",
    ]
    if header.slice_sources:
        lines.append(f"first slice: {header.slice_sources[0].describe()}")
        lines.append(f"last slice: {header.slice_sources[-1].describe()}")
    lines.append("warnings: " + ("none" if not header.warnings else str(len(header.warnings))))
    lines.extend(f"  - {w}" for w in header.warnings)
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``convert`` and ``inspect`` commands to the labelport app."""
    from labelport.cli.convert_commands import convert

    app.command("convert")(convert)
    app.command("inspect")(inspect)


def _vec(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def _fail(exc: LabelportError) -> NoReturn:
    # Known errors are a message naming the file and the value found, never a traceback.
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)
