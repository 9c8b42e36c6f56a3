"""Reading a RedBrick items list (or an exported ``tasks.json``, the same shape) as items that bring their media.

Each series of each task becomes one item: ``media`` describes the data row to create (a DICOM series, its
files in slice order, or a NIfTI volume) and ``data_row`` names it by the global key ``<task name>/<series
name>`` (a series without a name is named by its position, ``A``, ``B``... as RedBrick names its files).
The item's labels hold the series' segmentations (one ``VolumeMask`` per segmentMap instance, all sharing
the merged label volume), its other objects and classifications; the task's classification sits on its
first series. ``item.ontology`` lists the features the item uses, for importers that create missing ones.

A task lands whole or not at all: any problem in any of its series gives Problems for the task (the first
of each series, naming task, series, file and values) and no items. The task name, series name and
position, priority and metaData are kept as metadata fields of each series' data row.

Options (``ctx.options``): ``label_validate`` and ``prune_segmentations`` (RedBrick's flags),
``keep_unmapped`` (file values missing from the segmentMap stay in the label volume as view-only voxels, as
RedBrick keeps them, instead of failing the task), ``affine_tolerance`` (mm, default 1e-3), ``workdir``
(a folder where merged label volumes are written as NIfTI instead of kept in memory) and ``base_folder``
(what relative paths are relative to when the input is not a file).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Detection, Problem, ReadContext, Source, iter_json_items, sniff
from labelport.formats.redbrick import attributes
from labelport.formats.redbrick import fields as f
from labelport.formats.redbrick.features import features_of
from labelport.formats.redbrick.geometry import SeriesGeometry
from labelport.formats.redbrick.merge import MergeError, merge
from labelport.formats.redbrick.objects import SeriesReading, derived_uuid, series_objects, task_classification
from labelport.formats.redbrick.segment_map import RecordError, SegmentMap, parse_segment_map
from labelport.formats.redbrick.series import SeriesMedia, open_series, resolve
from labelport.formats.redbrick.volumes import SegmentationFile, files_differ
from labelport.imaging.nifti import AFFINE_TOLERANCE
from labelport.model.annotation import AnyAnnotation, VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label
from labelport.model.media import DataRow, MediaType, MetadataField
from labelport.model.pixels import Pixels

NAME = "redbrick_tasks"
OPTIONS = frozenset(
    {"label_validate", "prune_segmentations", "keep_unmapped", "affine_tolerance", "workdir", "base_folder"}
)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    label_validate: bool = False
    prune: bool = False
    keep_unmapped: bool = False
    tolerance: float = AFFINE_TOLERANCE
    workdir: Path | None = None
    base_folder: Path | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ReadOptions:
        unknown = sorted(set(raw) - OPTIONS)
        if unknown:
            raise ValidationError(
                f"unknown RedBrick option {unknown[0]!r}; known: {', '.join(sorted(OPTIONS))}", field=unknown[0]
            )
        flags = {}
        for name in ("label_validate", "prune_segmentations", "keep_unmapped"):
            value = raw.get(name, False)
            if not isinstance(value, bool):
                raise ValidationError(f"option {name} is true or false, found {value!r}", field=name, value=value)
            flags[name] = value
        tolerance = raw.get("affine_tolerance", AFFINE_TOLERANCE)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance <= 0:
            raise ValidationError(
                f"option affine_tolerance is a distance in mm > 0, found {tolerance!r}", field="affine_tolerance"
            )
        workdir = raw.get("workdir")
        base = raw.get("base_folder")
        return cls(
            flags["label_validate"],
            flags["prune_segmentations"],
            flags["keep_unmapped"],
            float(tolerance),
            Path(workdir) if workdir is not None else None,
            Path(base) if base is not None else None,
        )


def _looks_like_task(value: Any) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get(f.NAME), str):
        return False
    series = value.get(f.SERIES)
    if isinstance(series, list):
        return bool(series) and all(isinstance(s, Mapping) and f.ITEMS in s for s in series)
    return isinstance(value.get(f.ITEMS), list)


def detect(source: Source) -> Detection:
    """A JSON array of tasks: objects with a ``name`` and ``series`` of ``{"items": ...}`` (or the legacy
    flat ``items`` list)."""
    head = sniff(source, 5)
    if isinstance(head, Detection):
        return head
    values = [item.value for item in head if item.error is None]
    if not values:
        return Detection(0.0, "no JSON objects")
    hits = sum(1 for v in values if _looks_like_task(v))
    if not hits:
        return Detection(0.0, "no object has a task name and series of items, as a RedBrick items list has")
    return Detection(
        0.9 * hits / len(values),
        f"{hits} of the first {len(values)} objects are RedBrick tasks (a name and series of items)",
    )


def read(source: Source, ctx: ReadContext | None = None) -> Iterator[LabeledItem | Problem]:
    """The series of each task as items; a task with any problem gives its problems and no items."""
    ctx = ctx or ReadContext()
    options = ReadOptions.parse(ctx.options)
    base = Path(source).absolute().parent if isinstance(source, str | Path) else options.base_folder or Path.cwd()
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for number, json_item in enumerate(iter_json_items(source)):
        location = json_item.location
        if json_item.error is not None:
            yield Problem(location, json_item.error, json_item.value)
            continue
        task = json_item.value
        where = json_item.path or f"[{number}]"
        if not isinstance(task, Mapping):
            yield Problem(location, f"a task is a JSON object, found {task!r}", task)
            continue
        name = task.get(f.NAME)
        if not isinstance(name, str) or not name.strip():
            yield Problem(
                Location(location.file, location.line, f"{where}.name"),
                f"task {where}: name must be a non-empty string, found {name!r}",
                name,
            )
            continue
        if name in names:
            yield Problem(
                Location(location.file, location.line, f"{where}.name"),
                f"task {name!r}: the name is used twice (first at {names[name]}); task names are unique, as "
                "RedBrick requires",
                name,
            )
            continue
        names[name] = where
        yield from _task(task, name, base, ctx, options, location, where)


def with_files(tasks: Any, rename: Callable[[str], str]) -> Any:
    """A copy of an items list (parsed JSON) with each file it names (series ``items``, ``segmentations``,
    segmentMap ``mask``; on tasks and series) passed through ``rename``: to pack a list with its files.
    Values of other shapes are left as they are, for the reader to report."""

    def files(value: Any) -> Any:
        if isinstance(value, str):
            return rename(value)
        return [rename(v) if isinstance(v, str) else v for v in value] if isinstance(value, list) else value

    def holder(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out = {k: files(v) if k in (f.ITEMS, f.SEGMENTATIONS) else v for k, v in value.items()}
        segment_map = out.get(f.SEGMENT_MAP)
        if isinstance(segment_map, Mapping):
            out[f.SEGMENT_MAP] = {
                k: {**e, f.MASK: files(e[f.MASK])} if isinstance(e, Mapping) and f.MASK in e else e
                for k, e in segment_map.items()
            }
        if isinstance(out.get(f.SERIES), list):
            out[f.SERIES] = [holder(series) for series in out[f.SERIES]]
        return out

    return [holder(task) for task in tasks] if isinstance(tasks, list) else tasks


def _task(
    task: Mapping[str, Any],
    name: str,
    base: Path,
    ctx: ReadContext,
    options: ReadOptions,
    location: Location,
    where: str,
) -> Iterator[LabeledItem | Problem]:
    what = f"task {name!r}"
    try:
        series_list = _series_list(task, what)
    except RecordError as exc:
        yield Problem(Location(location.file, location.line, f"{where}.{exc.where}".rstrip(".")), str(exc), exc.value)
        return
    items: list[LabeledItem] = []
    problems: list[Problem] = []
    series_names: set[str] = set()
    for index, series in enumerate(series_list):
        series_name = series.get(f.NAME) if isinstance(series.get(f.NAME), str) and series.get(f.NAME) else None
        series_name = series_name or chr(ord("A") + index)
        key = f"{name}/{series_name}"
        at = f"series[{index}]"
        try:
            if series_name in series_names:
                raise RecordError(f"the series name {series_name!r} is used twice in the task", f"{at}.name")
            series_names.add(series_name)
            items.append(
                _series_item(
                    task,
                    series,
                    index,
                    series_name,
                    key,
                    base,
                    ctx,
                    options,
                    Location(location.file, location.line, where),
                )
            )
        except (RecordError, MergeError) as exc:
            message = str(exc)
            prefix = f"{what}, series {series_name!r}"
            shown = message if message.startswith(prefix) else f"{prefix}: {message}"
            inner = exc.where if isinstance(exc, RecordError) and exc.where else at
            problems.append(
                Problem(
                    Location(location.file, location.line, f"{where}.{inner}"),
                    shown,
                    getattr(exc, "value", None),
                    data_row=DataRowKey(global_key=key),
                )
            )
        except LabelportError as exc:
            problems.append(
                Problem(
                    Location(location.file, location.line, f"{where}.{at}"),
                    f"{what}, series {series_name!r}: {exc}",
                    getattr(exc, "value", None),
                    data_row=DataRowKey(global_key=key),
                )
            )
    if problems:
        yield from problems
        return
    yield from items


def _series_list(task: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    """The task's series; a legacy flat task (``items`` at the top) is one series. Task-level segmentations
    and segmentMap apply to series without their own."""
    series = task.get(f.SERIES)
    if series is None:
        if f.ITEMS not in task:
            raise RecordError(f"{what} has no series", f.SERIES)
        series = [{f.ITEMS: task[f.ITEMS]}]
    if not isinstance(series, list) or not series or not all(isinstance(s, Mapping) for s in series):
        raise RecordError(f"{what}: series must be a non-empty list of objects, found {series!r}", f.SERIES, series)
    shared = {k: task[k] for k in (f.SEGMENTATIONS, f.SEGMENT_MAP) if k in task}
    return [{**shared, **s} for s in series]


def _series_item(
    task: Mapping[str, Any],
    series: Mapping[str, Any],
    index: int,
    series_name: str,
    key: str,
    base: Path,
    ctx: ReadContext,
    options: ReadOptions,
    location: Location,
) -> LabeledItem:
    what = f"task {task[f.NAME]!r}, series {series_name!r}"
    at = f"series[{index}]"
    if f.ITEMS not in series:
        raise RecordError(f"{what}: the series has no items", f"{at}.items")
    media = open_series(series[f.ITEMS], base, ctx.resolver, f"{at}.items")
    geometry = SeriesGeometry.of(media.grid)
    reading = SeriesReading(what, key, geometry, ctx.ontology)
    found: list[tuple[str, AnyAnnotation]] = []
    study: set[str] = set()
    if index == 0:
        for path, annotation in task_classification(task, reading, ""):
            found.append((path, annotation))
            if annotation.name is not None:
                study.add(annotation.name)
    found.extend(_segments(series, media, reading, base, ctx, options, at))
    found.extend(series_objects(series, reading, at))
    annotations = tuple(a for _, a in found)
    paths = {uuid: p for p, a in found if (uuid := getattr(a, "uuid", None)) is not None}
    row = DataRow(
        id=key,
        row_data=media.row_data if isinstance(media.row_data, str) else orjson.dumps(list(media.row_data)).decode(),
        media_type=media.kind,
        global_key=key,
        media_attributes=media.attributes,
        metadata_fields=_metadata(task, series, index, series_name),
    )
    return LabeledItem(
        DataRowKey(global_key=key),
        (Label(ctx.label_kind, annotations),) if annotations else (),
        media=row,
        ontology=features_of(annotations, study),
        file=location.file,
        line=location.line,
        path=location.path,
        paths=paths,
    )


def _metadata(task: Mapping[str, Any], series: Mapping[str, Any], index: int, name: str) -> tuple[MetadataField, ...]:
    out = [
        MetadataField(f.META_TASK, str(task[f.NAME])),
        MetadataField(f.META_SERIES, name),
        MetadataField(f.META_SERIES_INDEX, index),
    ]
    priority = task.get(f.PRIORITY)
    if isinstance(priority, int | float) and not isinstance(priority, bool):
        out.append(MetadataField(f.META_PRIORITY, float(priority)))
    for prefix, source in (
        (f.META_TASK_PREFIX, task.get(f.META_DATA)),
        (f.META_SERIES_PREFIX, series.get(f.META_DATA)),
    ):
        if isinstance(source, Mapping):
            for k, v in source.items():
                if isinstance(k, str) and k and isinstance(v, str | int | float) and not isinstance(v, bool):
                    out.append(MetadataField(prefix + k, v))
    return tuple(out)


def _flag(series: Mapping[str, Any], segment_map: SegmentMap, name: str, at: str) -> bool:
    value = series.get(name, segment_map.flags.get(name, False))
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RecordError(f"{at}.{name}: true or false, found {value!r}", f"{at}.{name}", value)
    return value or bool(segment_map.flags.get(name, False))


def _segments(
    series: Mapping[str, Any],
    media: SeriesMedia,
    reading: SeriesReading,
    base: Path,
    ctx: ReadContext,
    options: ReadOptions,
    at: str,
) -> Iterator[tuple[str, AnyAnnotation]]:
    """The series' segmentations, checked and merged, as one VolumeMask per segmentMap instance."""
    what = reading.what
    segment_map = parse_segment_map(series.get(f.SEGMENT_MAP), f"{at}.segmentMap")
    binary = _flag(series, segment_map, f.BINARY_MASK, at)
    png = _flag(series, segment_map, f.PNG_MASK, at)
    _flag(series, segment_map, f.SEMANTIC_MASK, at)  # checked; semantic files are read like any other
    given = series.get(f.SEGMENTATIONS)
    if given is None:
        masked = [e.mask for e in segment_map.entries if e.mask]
        if binary and masked:
            given = list(dict.fromkeys(masked))
        elif segment_map.entries:
            raise RecordError(
                f"{what}: the segmentMap maps values but the series has no segmentations", f"{at}.segmentations"
            )
        else:
            return
    names = [given] if isinstance(given, str) else given
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RecordError(
            f"{what}: segmentations is a file or a list of files, found {given!r}", f"{at}.segmentations", given
        )
    if png and not binary:
        raise RecordError(
            f"{what}: pngMask needs binaryMask (RedBrick: PNG mask upload only supports binary masks)",
            f"{at}.pngMask",
            True,
        )
    paths = [resolve(n, base, ctx.resolver, "segmentation", f"{at}.segmentations") for n in names]
    files = [
        SegmentationFile(
            n,
            p,
            media.grid,
            what,
            png=png,
            tolerance=options.tolerance,
            keep=len(names) == 1,
            instances=media.instance_count if media.kind is MediaType.DICOM else None,
        )
        for n, p in zip(names, paths, strict=True)
    ]
    for message in files_differ(files):
        raise RecordError(f"{what}: {message}", f"{at}.segmentations")
    masks = _binary_masks(segment_map, names, paths, base, ctx, what, at) if binary else {}
    values = [file.inspect() for file in files]
    instances = {e.instance: list(e.groups) or None for e in segment_map.entries}
    try:
        merged = merge(
            files,
            instances,
            binary=binary,
            masks=masks,
            label_validate=options.label_validate,
            prune=options.prune,
            values=values,
        )
    except MergeError as exc:
        raise RecordError(f"{what}: {exc}", f"{at}.segmentations") from None
    mapped = set(segment_map.keys)
    present = set(merged.instances)
    unmapped = sorted(present - mapped)
    if unmapped and not options.keep_unmapped and not options.prune:
        holders = [repr(n) for n, v in zip(names, values, strict=True) if v & set(unmapped)] or [repr(n) for n in names]
        many = len(unmapped) > 1
        raise RecordError(
            f"{what}: value{'s' if many else ''} {_list(unmapped)} of {', '.join(holders)} "
            f"{'are' if many else 'is'} not in the segmentMap (keys {_list(sorted(mapped)) or 'none'}); map "
            f"{'them' if many else 'it'}, or import with keep_unmapped to keep {'them' if many else 'it'} as "
            "view-only voxels (as RedBrick does) or prune_segmentations to drop "
            f"{'them' if many else 'it'}",
            f"{at}.segmentMap",
            unmapped,
        )
    empty = [e for e in segment_map.entries if e.instance not in present]
    if empty and not options.prune:
        shown = ", ".join(f"{e.instance} ({e.category})" for e in empty)
        many = len(empty) > 1
        raise RecordError(
            f"{what}: segmentMap key{'s' if many else ''} {shown} {'have' if many else 'has'} no voxels in "
            f"{', '.join(repr(n) for n in names)}; remove {'them' if many else 'it'}, or import with "
            f"prune_segmentations to drop {'them' if many else 'it'}",
            f"{at}.segmentMap",
            [e.instance for e in empty],
        )
    if merged.labels is None:
        return
    source = _source(merged.labels, media, reading.key, options)
    for entry in segment_map.entries:
        if entry.instance not in present:
            continue
        category = entry.category
        tool = reading.tool(category)
        uuid = derived_uuid(reading.key, "segment", entry.instance, given=entry.label_id)
        yield (
            f"{at}.segmentMap.{entry.instance}",
            VolumeMask(
                uuid,
                source,
                (entry.instance, *merged.instances[entry.instance]),
                name=category.name,
                schema_id=str(category.class_id) if category.name is None else None,
                classifications=attributes.classifications(
                    entry.attributes,
                    tool.classifications if tool is not None else None,
                    f"{at}.segmentMap.{entry.instance}.attributes",
                ),
            ),
        )


def _list(values: list[int]) -> str:
    return ", ".join(str(v) for v in values)


def _binary_masks(
    segment_map: SegmentMap, names: list[str], paths: list[Path], base: Path, ctx: ReadContext, what: str, at: str
) -> dict[int, int]:
    """Each instance's file index in binary mode; each file must be the mask of exactly one instance."""
    index_of = {p: i for i, p in enumerate(paths)}
    masks: dict[int, int] = {}
    for entry in segment_map.entries:
        where = f"{at}.segmentMap.{entry.instance}.mask"
        if entry.mask is None:
            raise RecordError(
                f"{what}: segmentMap entry {entry.instance} ({entry.category}) names no mask file; in "
                "binary mode each entry names its file",
                where,
            )
        path = resolve(entry.mask, base, ctx.resolver, "mask", where)
        if path not in index_of:
            raise RecordError(
                f"{what}: segmentMap entry {entry.instance}'s mask {entry.mask!r} is not one of the "
                f"series' segmentations ({', '.join(repr(n) for n in names)})",
                where,
                entry.mask,
            )
        masks[entry.instance] = index_of[path]
    for index, name in enumerate(names):
        owners = sorted(i for i, j in masks.items() if j == index)
        if len(owners) > 1:
            raise RecordError(
                f"{what}: binary segmentation {name!r} is the mask of segmentMap entries {_list(owners)}; a binary "
                "file holds one instance",
                f"{at}.segmentMap",
                owners,
            )
        if not owners:
            raise RecordError(
                f"{what}: binary segmentation {name!r} is the mask of no segmentMap entry (RedBrick would ignore "
                "it, or keep its raw values if it is the first file)",
                f"{at}.segmentations",
                name,
            )
    return masks


def _source(labels: Any, media: SeriesMedia, key: str, options: ReadOptions) -> VolumeSource:
    """Where the merged labels are handed over: a NIfTI on the series grid in ``workdir``, or in memory."""
    if options.workdir is None:
        return VolumeSource(pixels=Pixels.of(labels))
    from labelport.imaging.nifti import label_image

    target = options.workdir / f"{uuid_module.uuid4().hex}.nii"
    _nib().save(label_image(labels, media.grid), str(target))
    return VolumeSource(uri=str(target))


def _nib() -> Any:
    import nibabel

    return nibabel


__all__ = ["NAME", "ReadOptions", "detect", "read"]
