"""``labelport convert INPUT --to FORMAT -o OUT [--series DIR]``: annotations from any registered format to any
other, offline, with the loss report; and a DICOM series folder ``--to nifti`` as a NIfTI image.

Exit status 0 when everything was converted, including when the target could not hold something (each loss is
printed as ``dropped: ...``); 1 on errors (an unreadable input, a record that could not be read or written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from labelport.errors import LabelportError


def _option_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    try:
        return int(text)
    except ValueError:
        return text


def parse_option_pairs(pairs: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as options (true/false and integers converted)."""
    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LabelportError(f"--option takes KEY=VALUE, found {pair!r}")
        options[key.strip()] = _option_value(value.strip())
    return options


def convert(
    source: Annotated[Path, typer.Argument(metavar="INPUT", help="Annotation file or folder, or a DICOM series.")],
    to: Annotated[str, typer.Option("--to", help="Target format (see `labelport formats`), e.g. dicom_seg, nifti.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file or folder.")],
    series: Annotated[
        Path | None,
        typer.Option(help="DICOM series folder (or a folder of series) the annotations are on, for geometry."),
    ] = None,
    source_format: Annotated[
        str | None, typer.Option("--from", help="Input format, when it should not be recognised from the content.")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Target option KEY=VALUE (repeatable), e.g. segmentation_type=LABELMAP.")
    ] = None,
) -> None:
    """Convert annotations between formats (or a DICOM series to a NIfTI image); prints what was dropped."""
    from labelport.cli.main import err, handles_errors, out
    from labelport.formats import FormatDetectionError, detect_format
    from labelport.service.convert import convert as convert_annotations
    from labelport.service.convert import is_image_series

    @handles_errors
    def run() -> None:
        if source_format is None and to == "nifti" and source.is_dir():
            try:
                detect_format(source)
            except FormatDetectionError:
                if is_image_series(source):
                    _series_to_nifti(source, output)
                    return
        result = convert_annotations(
            source, to, output, series=series, fmt=source_format, options=parse_option_pairs(option)
        )
        for problem in [*result.problems, *result.report.problems]:
            err.print(f"error: {problem}", highlight=False, soft_wrap=True)
        for loss in result.report.losses:
            err.print(f"dropped: {loss}", highlight=False, soft_wrap=True)
        report = result.report
        out.print(
            f"converted {source} ({result.input_format}) to {output} ({result.output_format}): "
            f"{report.items} data rows, {report.annotations} annotations"
            + (f", {sum(loss.count for loss in report.losses)} dropped" if report.losses else ""),
            highlight=False,
            soft_wrap=True,
        )
        if not result.ok:
            raise typer.Exit(1)

    run()


def _series_to_nifti(series_dir: Path, output: Path) -> None:
    """The DICOM series as a NIfTI image (ITK grid, RAS affine), as ``labelport convert`` always did."""
    from labelport.cli.main import err, out
    from labelport.imaging.nifti import write_nifti
    from labelport.imaging.volume import load_series

    if not output.name.endswith((".nii", ".nii.gz")):
        raise LabelportError(f"NIfTI output ends in .nii or .nii.gz, found {output.name!r}")
    volume = load_series(series_dir)
    write_nifti(volume, output)
    for warning in volume.warnings:
        err.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    columns, rows, slices = volume.shape
    out.print(
        f"wrote {output} ({columns} x {rows} x {slices}, {volume.orientation_codes})", highlight=False, soft_wrap=True
    )


__all__ = ["convert", "parse_option_pairs"]
