"""Writing a project as RedBrick exports it: ``tasks.json`` and a folder of NIfTI segmentations.

::

    <folder>/tasks.json                                   one task per RedBrick task (data rows grouped)
    <folder>/segmentations/<task>/<series>.nii.gz         standard: instances and overlap groups
    <folder>/segmentations/<task>/<series>/instance-<id>.nii.gz   binary (also when instances overlap)
    <folder>/segmentations/<task>/<series>/category-<classId+1>.nii.gz   semantic + binary

Options: ``semantic`` (values ``classId + 1``) and ``binary`` (true, false, or not given: binary when an
instance owns an overlap group, as RedBrick decides). Files lie on the series' DICOM (ITK) grid with its
physical affine, uint8 (uint16 above 255). Data rows imported from an items list are grouped back into their
tasks and series (metadata fields); any other DICOM or NIfTI row is a task of one series named ``A``.
Tasks are written in name order, series in their order in the task.

Segmentation instances keep the values they were imported with when they share one label volume; masks of
several volumes (imported from other formats) are merged into one, numbered 1, 2... in annotation order,
overlaps becoming groups as RedBrick's merge makes them. A class id is the tool's RedBrick id when it is a
number, else the tool's position in the ontology.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from labelport.errors import LabelportError, ValidationError
from labelport.formats.base import Sink, WriteContext, WriteReport
from labelport.formats.redbrick import attributes
from labelport.formats.redbrick import fields as f
from labelport.formats.redbrick.geometry import SeriesGeometry
from labelport.formats.redbrick.merge import merge, nonzero_values, slabs
from labelport.formats.redbrick.objects import NAMESPACE
from labelport.formats.redbrick.objects_write import SeriesWriting, instance_entries, write_objects
from labelport.formats.redbrick.splits import SegmentLabel, split
from labelport.imaging.grids import grid_from_attributes, volume_on_grid
from labelport.imaging.volume import Grid
from labelport.model.annotation import VolumeMask
from labelport.model.encoded import decoded
from labelport.model.item import LabeledItem
from labelport.model.label import LabelKind
from labelport.model.media import MediaType
from labelport.model.ontology import Ontology, Tool
from labelport.model.workflow import WorkflowStatus

# RedBrick's stages for labelport's workflow states (its default workflow: Label, Review_1, END).
STAGES = {
    WorkflowStatus.TO_LABEL: "Label",
    WorkflowStatus.IN_REWORK: "Label",
    WorkflowStatus.IN_REVIEW: "Review_1",
    WorkflowStatus.DONE: "END",
}


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``semantic`` (bool) and ``binary`` (bool or None); strings ``true``/``false`` are accepted (CLI)."""
    unknown = sorted(set(raw) - {"semantic", "binary"})
    if unknown:
        raise ValidationError(
            f"unknown RedBrick export option {unknown[0]!r}; it takes semantic, binary", field=unknown[0]
        )
    out: dict[str, Any] = {}
    for name in ("semantic", "binary"):
        value = raw.get(name)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"option {name} is true or false, found {value!r}", field=name, value=value)
        out[name] = value
    out["semantic"] = bool(out["semantic"])
    return out


def safe_name(name: str) -> str:
    """A task or series name as RedBrick names its files (``re.sub(r"[^\\w.]+", "-", name)``)."""
    return re.sub(r"[^\w.]+", "-", name)


@dataclass
class _Task:
    name: str
    fields: dict[str, Any]
    series: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    study: dict[str, Any] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write ``tasks.json`` and the segmentation files into the folder ``sink``; returns the report."""
    if not isinstance(sink, str | Path):
        raise ValidationError(
            "a RedBrick export is a folder (tasks.json and segmentations); give a folder path", field="output"
        )
    context = ctx or WriteContext()
    options = parse_options(context.options)
    folder = Path(sink)
    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"output {str(sink)!r} is a file; a RedBrick export is a folder", field="output")
    folder.mkdir(parents=True, exist_ok=True)
    report = WriteReport()
    tasks: dict[str, _Task] = {}
    for item in items:
        report.items += 1
        media = item.media
        if media is None or media.media_type not in (MediaType.DICOM, MediaType.NIFTI):
            kind = media.media_type.value if media is not None else "unknown"
            report.lose(item, f"{kind} data row", "RedBrick tasks hold DICOM series and NIfTI volumes")
            continue
        meta = {m.name: m.value for m in media.metadata_fields}
        task_name = str(meta.get(f.META_TASK) or media.global_key or media.id)
        task = tasks.get(task_name)
        if task is None:
            task = tasks[task_name] = _Task(task_name, _task_fields(task_name, item, meta))
        series_name = str(meta.get(f.META_SERIES) or chr(ord("A") + len(task.series)))
        while series_name in task.names:
            series_name += "-2"
        task.names.add(series_name)
        position = meta.get(f.META_SERIES_INDEX)
        order = int(position) if isinstance(position, int | float) else len(task.series)
        series, study = _series(item, task_name, series_name, meta, folder, context, options, report)
        task.series.append((order, series))
        task.study.update(study)
    out = []
    for task in sorted(tasks.values(), key=lambda t: t.name):  # stores stream rows by id; names read better
        entry = dict(task.fields)
        if task.study:
            entry[f.TASK_CLASSIFICATION] = {f.ATTRIBUTES: task.study}
        entry[f.SERIES] = [s for _, s in sorted(task.series, key=lambda pair: pair[0])]
        out.append(entry)
    partial = folder / f".{f.TASKS_FILE}.partial"
    partial.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    partial.replace(folder / f.TASKS_FILE)
    return report


def _task_fields(name: str, item: LabeledItem, meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f.TASK_ID: str(uuid_module.uuid5(NAMESPACE, f"task\x00{name}")), f.NAME: name}
    review = item.review
    if review is not None:
        out[f.CURRENT_STAGE] = STAGES.get(review.status, "Label")
    priority = meta.get(f.META_PRIORITY)
    if isinstance(priority, int | float):
        out[f.PRIORITY] = priority
    task_meta = {k[len(f.META_TASK_PREFIX) :]: v for k, v in meta.items() if k.startswith(f.META_TASK_PREFIX)}
    if task_meta:
        out[f.META_DATA] = task_meta
    label = item.label(LabelKind.GROUND_TRUTH) or (item.labels[0] if item.labels else None)
    if label is not None:
        details = label.details
        for key, value in (
            (f.CREATED_BY, details.created_by),
            (f.CREATED_AT, details.created_at),
            (f.UPDATED_BY, details.updated_by),
            (f.UPDATED_AT, details.updated_at),
        ):
            if value is not None:
                out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _image_headers(grid: Grid) -> dict[str, Any]:
    affine = grid.affine_lps
    spacing = grid.spacing
    direction = affine[:3, :3] / np.asarray(spacing)
    return {
        f.DIMENSIONS: list(grid.shape),
        f.SPACING: [round(float(s), 6) for s in spacing],
        f.ORIGIN: [round(float(v), 6) for v in affine[:3, 3]],
        f.DIRECTION: [[round(float(v), 9) for v in row] for row in direction],
        f.AFFINE: [[round(float(v), 9) for v in row] for row in affine],
    }


def _series(
    item: LabeledItem,
    task_name: str,
    series_name: str,
    meta: Mapping[str, Any],
    folder: Path,
    ctx: WriteContext,
    options: Mapping[str, Any],
    report: WriteReport,
) -> tuple[dict[str, Any], dict[str, Any]]:
    media = item.media
    assert media is not None  # checked by the caller
    grid = grid_from_attributes(media.media_attributes)
    items_value: Any = media.row_data
    if items_value.startswith("["):
        items_value = orjson.loads(items_value)
    slice_files = _slice_files(items_value, media.media_type)
    out: dict[str, Any] = {f.NAME: series_name, f.ITEMS: items_value, f.IMAGE_HEADERS: _image_headers(grid)}
    series_meta = {k[len(f.META_SERIES_PREFIX) :]: v for k, v in meta.items() if k.startswith(f.META_SERIES_PREFIX)}
    if series_meta:
        out[f.META_DATA] = series_meta
    label = item.label(LabelKind.GROUND_TRUTH) or (item.labels[0] if item.labels else None)
    annotations = [decoded(a) for a in label.annotations] if label is not None else []
    masks = [a for a in annotations if isinstance(a, VolumeMask)]
    others = [a for a in annotations if not isinstance(a, VolumeMask)]
    if masks:
        out.update(_segmentations(item, masks, grid, task_name, series_name, folder, ctx, options, report))
        report.annotations += len(masks)
    writing = SeriesWriting(item, SeriesGeometry.of(grid), ctx.ontology, report)
    objects = write_objects(others, writing, slice_files)
    out.update(objects.lists)
    if objects.classifications:
        out[f.SERIES_CLASSIFICATIONS] = [{f.ATTRIBUTES: objects.classifications}]
    if objects.instance:
        out[f.INSTANCE_CLASSIFICATIONS] = instance_entries(objects, slice_files)
    return out, objects.study


def _slice_files(items: Any, kind: MediaType) -> list[str]:
    """The DICOM file of each slice in grid order (a folder's files sorted as the series' grid sorts them)."""
    if kind is not MediaType.DICOM:
        return []
    if isinstance(items, list):
        return [str(i) for i in items]
    folder = Path(items)
    if not folder.is_dir():
        return [str(items)]
    from labelport.imaging.volume import read_series_header

    try:
        return [s.path for s in read_series_header(folder).slice_sources]
    except LabelportError:
        return []


def class_id(tool: Tool | None, ontology: Ontology | None) -> int:
    """The tool's RedBrick class id: its RedBrick id when a number, else its position among the tools."""
    if tool is None or ontology is None:
        return 0
    redbrick = tool.external_ids.redbrick
    if redbrick is not None and redbrick.isdigit():
        return int(redbrick)
    return next((i for i, t in enumerate(ontology.tools) if t.schema_id == tool.schema_id), 0)


class _MaskFile:
    """One volume mask as a 0/1 file for the merge of masks that do not share a label volume."""

    def __init__(self, name: str, load_volume: Any, values: tuple[int, ...]) -> None:
        self.name = name
        self._load = load_volume
        self._values = values

    def load(self) -> Any:
        volume = self._load()
        out = np.zeros(volume.shape, dtype=np.uint8, order="F")
        wanted = np.array(self._values)
        for part in slabs(volume.shape):
            out[..., part] = np.isin(volume[..., part], wanted)
        return out


def _segmentations(
    item: LabeledItem,
    masks: list[VolumeMask],
    grid: Grid,
    task_name: str,
    series_name: str,
    folder: Path,
    ctx: WriteContext,
    options: Mapping[str, Any],
    report: WriteReport,
) -> dict[str, Any]:
    media = item.media

    def volume_of(mask: VolumeMask) -> Any:
        source = mask.source
        if source.blob is not None:
            if ctx.pixels is None:
                raise ValidationError("stored label volumes need the store's pixels to be written", field="mask")
            return ctx.pixels.volume(source, media)
        return volume_on_grid(source, grid, Path)

    keys = {_source_key(m) for m in masks}
    owns = [m.values[0] for m in masks]
    if len(keys) == 1 and len(set(owns)) == len(owns) and not set(owns) & {g for m in masks for g in m.values[1:]}:
        volume = volume_of(masks[0])
        numbered = [(m, m.values[0], tuple(m.values[1:])) for m in masks]
        owned = {v for m in masks for v in m.values}
        stray = sorted(nonzero_values(volume) - owned)
        if stray:
            report.lose(
                item,
                "label values without an annotation",
                f"values {', '.join(map(str, stray))} of the stored label volume belong to no annotation "
                "(view-only values kept at import)",
                len(stray),
            )
            lookup = np.zeros(int(volume.max()) + 1, dtype=volume.dtype)
            for value in owned:
                if value < lookup.size:
                    lookup[value] = value
            volume = np.asfortranarray(lookup[volume])
    else:
        files = [_MaskFile(m.uuid, lambda m=m: volume_of(m), m.values) for m in masks]
        merged = merge(
            files, {i + 1: None for i in range(len(masks))}, binary=True, masks={i + 1: i for i in range(len(masks))}
        )
        volume = merged.labels
        numbered = [(m, i + 1, merged.instances[i + 1]) for i, m in enumerate(masks) if i + 1 in merged.instances]
        for i, m in enumerate(masks):
            if i + 1 not in merged.instances:
                report.lose(item, "empty volume mask", f"{m.uuid} has no voxels")
    tools = [_tool(m, ctx.ontology) for m, _, _ in numbered]
    labels = [SegmentLabel(n, class_id(t, ctx.ontology), g) for (_, n, g), t in zip(numbered, tools, strict=True)]
    result = split(volume, labels, semantic=options["semantic"], binary=options["binary"])
    relative = Path(f.SEGMENTATIONS_FOLDER) / safe_name(task_name)
    written: dict[int, str] = {}
    single: str | None = None
    if result.single is not None:
        single = (relative / f"{safe_name(series_name)}.nii.gz").as_posix()
        _save(result.single, grid, folder / single)
    for key, array in result.files.items():
        pattern = f.CATEGORY_FILE if result.semantic else f.INSTANCE_FILE
        path = (relative / safe_name(series_name) / pattern.format(key)).as_posix()
        _save(array, grid, folder / path)
        written[key] = path
    segment_map: dict[str, Any] = {}
    for (mask, number, groups), tool, label in zip(numbered, tools, labels, strict=True):
        entry: dict[str, Any] = {
            f.LABEL_ID: mask.uuid,
            f.CATEGORY: mask.name or (tool.name if tool else mask.schema_id),
        }
        values = attributes.values(mask.classifications, tool.classifications if tool is not None else ())
        if values:
            entry[f.ATTRIBUTES] = values
        key = label.class_id + 1 if result.semantic else number
        file = single or written.get(key)
        if file is not None:
            entry[f.MASK] = file
        if groups and not result.binary and not result.semantic:
            entry[f.OVERLAPPING_GROUPS] = list(groups)
        segment_map[str(key)] = entry  # semantic: the last instance of a class wins, as in RedBrick's export
    return {
        f.SEGMENTATIONS: single if single is not None else [written[k] for k in sorted(written)],
        f.SEGMENT_MAP: segment_map,
        f.BINARY_MASK: result.binary,
        f.SEMANTIC_MASK: result.semantic,
        f.PNG_MASK: False,
    }


def _tool(mask: VolumeMask, ontology: Ontology | None) -> Tool | None:
    if ontology is None:
        return None
    if mask.schema_id is not None:
        found = ontology.find_tool(schema_id=mask.schema_id)
        if found is not None:
            return found
    return ontology.find_tool(name=mask.name) if mask.name else None


def _source_key(mask: VolumeMask) -> str:
    source = mask.source
    if source.blob is not None:
        return f"blob:{source.blob}"
    if source.pixels is not None:
        return f"pixels:{source.pixels.key}"
    return f"uri:{source.uri}"


def _save(array: Any, grid: Grid, path: Path) -> None:
    import nibabel

    from labelport.imaging.nifti import label_image

    path.parent.mkdir(parents=True, exist_ok=True)
    nib: Any = nibabel
    nib.save(label_image(np.asarray(array), grid), str(path))


__all__ = ["STAGES", "class_id", "parse_options", "safe_name", "write"]
