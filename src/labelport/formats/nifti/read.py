"""Reading NIfTI label maps: ours (with the JSON sidecar) and bare ones from other tools.

Each label map becomes one item with a ``VolumeMask`` per object. The volume stays a file (``VolumeSource.uri``):
whoever writes it or stores it puts it on the data row's grid with ``imaging.nifti.place_on_grid`` (exact;
reoriented when only axis order or flips differ; refused, with both affines shown, when the grid differs
beyond 1e-3 mm). A sidecar names the objects; a bare label map gets one object per non-zero value, named
``label <value>``, on the data row named like the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, ReadContext, Source
from labelport.formats.nifti import sidecar as f
from labelport.formats.series import stable_uuid
from labelport.imaging.nifti import read_label_map
from labelport.model.annotation import VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label
from labelport.model.media import DataRow, MediaType
from labelport.model.ontology import Code, Ontology, Tool, ToolType


def is_nifti_name(path: Path) -> bool:
    return path.name.endswith((".nii", ".nii.gz"))


def stem(path: Path) -> str:
    return path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.name.removesuffix(".nii")


def sidecar_of(path: Path) -> Path | None:
    candidate = path.with_name(f"{stem(path)}.json")
    return candidate if candidate.is_file() and _is_sidecar(candidate) else None


def _is_sidecar(path: Path) -> bool:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get(f.FORMAT) == f.FORMAT_NAME


def read(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    """Items of a label map file (its sidecar beside it, if any), a sidecar, or a folder of them."""
    if not isinstance(source, str | Path):
        yield Problem(Location(), "NIfTI label maps are read from files (a label map, a sidecar or a folder)")
        return
    path = Path(source)
    sidecar: Path | None
    if path.is_dir():
        sidecars = sorted(p for p in path.glob("*.json") if _is_sidecar(p))
        claimed: set[Path] = set()
        for sidecar in sidecars:
            claimed.update(_files_of(sidecar))
            yield from _guarded(sidecar, lambda s=sidecar: _from_sidecar(s, ctx))
        for nifti in sorted(p for p in path.iterdir() if p.is_file() and is_nifti_name(p) and p not in claimed):
            yield from _guarded(nifti, lambda n=nifti: _bare(n, ctx))
        return
    if path.suffix == ".json":
        yield from _guarded(path, lambda: _from_sidecar(path, ctx))
        return
    sidecar = sidecar_of(path)
    yield from _guarded(path, lambda: _from_sidecar(sidecar, ctx) if sidecar else _bare(path, ctx))


def _guarded(path: Path, make: Any) -> Iterator[LabeledItem | Problem]:
    try:
        yield make()
    except (LabelportError, OSError, KeyError, TypeError, ValueError) as exc:
        yield Problem(Location(str(path)), str(exc))


def _files_of(sidecar: Path) -> set[Path]:
    document = json.loads(sidecar.read_bytes())
    files = {sidecar.with_name(f"{sidecar.stem}.nii.gz"), sidecar.with_name(f"{sidecar.stem}.nii")}
    files.update(sidecar.with_name(str(label[f.FILE])) for label in document.get(f.LABELS, ()) if label.get(f.FILE))
    return files


def _from_sidecar(sidecar: Path, ctx: ReadContext) -> LabeledItem:
    document = json.loads(sidecar.read_bytes())
    if document.get(f.VERSION) != 1:
        raise ValidationError(f"sidecar version {document.get(f.VERSION)!r} is not 1", field=f.VERSION)
    labels = document.get(f.LABELS)
    if not isinstance(labels, list):
        raise ValidationError("the sidecar has no labels list", field=f.LABELS)
    binary = document.get(f.LAYOUT) == "binary"
    label_map: Path | None = None
    if not binary:
        label_map = next(
            (
                p
                for p in (sidecar.with_name(f"{sidecar.stem}.nii.gz"), sidecar.with_name(f"{sidecar.stem}.nii"))
                if p.is_file()
            ),
            None,
        )
        if label_map is None:
            raise ValidationError(f"no label map {sidecar.stem}.nii.gz beside the sidecar", field="file")
    annotations = []
    tools: dict[str, Tool] = {}
    for index, label in enumerate(labels):
        where = f"{f.LABELS}[{index}]"
        values: tuple[int, ...]
        if binary:
            file = sidecar.with_name(str(label.get(f.FILE)))
            if not file.is_file():
                raise ValidationError(f"{where}: file {label.get(f.FILE)!r} does not exist", field=where)
            uri, values = str(file), (1,)
        else:
            assert label_map is not None
            uri = str(label_map)
            values = tuple(int(v) for v in label.get(f.VALUES) or [label[f.VALUE]])
        name = label.get(f.NAME)
        color = _rgb(label.get(f.COLOR))
        annotations.append(
            VolumeMask(
                uuid=label.get(f.UUID) or stable_uuid("nifti", uri, values),
                source=VolumeSource(uri=uri),
                values=values,
                name=name,
                schema_id=label.get(f.SCHEMA_ID),
                color=color,
            )
        )
        if name and name not in tools:
            tools[name] = Tool(
                ToolType.RASTER_SEGMENTATION,
                name,
                schema_id=label.get(f.SCHEMA_ID) or stable_uuid("feature", name),
                color=label.get(f.COLOR),
                category=Code.from_dict(label[f.CATEGORY]) if label.get(f.CATEGORY) else None,
                property_type=Code.from_dict(label[f.PROPERTY_TYPE]) if label.get(f.PROPERTY_TYPE) else None,
            )
    key = DataRowKey.from_dict(document.get(f.DATA_ROW) or {"names": [sidecar.stem]})
    series = document.get(f.SERIES) or {}
    media = None
    if series.get(f.ROW_DATA):
        media = DataRow(
            id=key.id or sidecar.stem,
            row_data=str(series[f.ROW_DATA]),
            media_type=MediaType.parse(series.get(f.MEDIA_TYPE) or "dicom"),
            global_key=key.global_key,
        )
    return LabeledItem(
        key,
        (Label(ctx.label_kind, tuple(annotations)),),
        media=media,
        ontology=Ontology(f"NIfTI {sidecar.stem}", tools=tuple(tools.values())) if tools else None,
        file=str(sidecar),
    )


def _bare(path: Path, ctx: ReadContext) -> LabeledItem:
    array, _affine = read_label_map(path)
    values = [int(v) for v in np.unique(array) if v]
    annotations = tuple(
        VolumeMask(
            uuid=stable_uuid("nifti", path.name, value),
            source=VolumeSource(uri=str(path)),
            values=(value,),
            name=f"label {value}",
        )
        for value in values
    )
    return LabeledItem(DataRowKey(names=(stem(path),)), (Label(ctx.label_kind, annotations),), file=str(path))


def _rgb(text: Any) -> tuple[int, int, int] | None:
    from labelport.formats.segments import parse_hex_color

    return parse_hex_color(text)


__all__ = ["is_nifti_name", "read", "sidecar_of"]
