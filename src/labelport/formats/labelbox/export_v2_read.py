"""Reading export_v2 rows back into items: a Labelbox export imports as it is.

Each row becomes one item: the data row (``data_row.id`` / ``global_key`` / ``external_id``: an id from
Labelbox will not be ours, so the global key usually decides), its media when ``row_data`` is given, and the
labels of every project in the row as one label of ``ctx.label_kind``. Objects keep their ``feature_id`` as
uuid; video and DICOM objects are rebuilt as tracks from their keyframes (frames marked ``false`` in
``key_frame_feature_map`` were interpolated or repeated, and are left out), masks as per-frame masks linked
by URL. A bad row becomes a located problem and the rows after it are still read.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator, Mapping
from typing import Any

from labelport.errors import Location, ValidationError
from labelport.formats.base import Problem, ReadContext, Source, iter_json_items
from labelport.formats.labelbox.export_v2_annotations import GROUP_OF_NAME
from labelport.formats.labelbox.fields import (
    ANNOTATION_KIND,
    ANNOTATIONS,
    BOUNDING_BOX,
    CHECKLIST_ANSWERS,
    CLASSIFICATIONS,
    COLOR_RGB_EXPORT,
    COMPOSITE_MASK,
    CONTENT,
    EXPORT_SCHEMA_ID,
    FEATURE_ID,
    FRAMES,
    GROUPS,
    KEY_FRAME_FEATURE_MAP,
    LABEL_KIND,
    LABELS,
    MASK,
    MEDIA_ATTRIBUTES,
    OBJECTS,
    PROJECTS,
    RADIO_ANSWER,
    RELATIONSHIP,
    RELATIONSHIPS,
    ROW_DATA,
    ROW_DATA_ROW,
    ROW_EXTERNAL_ID,
    ROW_GLOBAL_KEY,
    ROW_ID,
    SEGMENTS,
    TEXT_ANSWER,
    URL,
)
from labelport.model.annotation import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameMask,
    FrameMasks,
    Keyframe,
    MaskInstance,
    ObjectAnnotation,
    Placement,
    Radio,
    Relationship,
    Segment,
    Text,
    TrackedObject,
    normalise_uuid,
)
from labelport.model.annotation import FrameRange as Range
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, RasterSource, Rectangle
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label
from labelport.model.media import DataRow, MediaAttributes, MediaType, PlaneGroup

_MEDIA_OF_KIND = {"Default": MediaType.IMAGE, "Video": MediaType.VIDEO, "DICOM": MediaType.DICOM}
_FEATURE_IDS = uuid_module.UUID("6b1c2a8e-3f0e-5e55-9f6a-2f1f4b7a1b0d")  # namespace of uuids made from Labelbox ids


def feature_uuid(feature_id: Any) -> str:
    """The uuid of an exported object: its ``feature_id`` when that is a uuid (ours), else one derived from it
    (Labelbox's own feature ids are cuids), the same every time."""
    if not isinstance(feature_id, str) or not feature_id:
        raise _Bad(f"must be a non-empty string, found {feature_id!r}", FEATURE_ID, feature_id)
    try:
        return normalise_uuid(feature_id)
    except ValidationError:
        return str(uuid_module.uuid5(_FEATURE_IDS, feature_id))


class _Bad(Exception):
    def __init__(self, message: str, path: str, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.value = value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"must be an object, found {type(value).__name__}", path, value)
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(f"must be a list, found {type(value).__name__}", path, value)
    return value


def _answer(raw: Any, path: str) -> ClassificationAnswer:
    answer = _mapping(raw, path)
    return ClassificationAnswer(
        name=answer.get("value") or answer.get("name"),
        schema_id=answer.get(EXPORT_SCHEMA_ID),
        classifications=_classifications(answer.get(CLASSIFICATIONS) or [], f"{path}.{CLASSIFICATIONS}"),
    )


def _classification(raw: Any, path: str, placement: Placement | None = None) -> ClassificationAnnotation:
    c = _mapping(raw, path)
    if RADIO_ANSWER in c:
        answer: Radio | Checklist | Text = Radio(_answer(c[RADIO_ANSWER], f"{path}.{RADIO_ANSWER}"))
    elif CHECKLIST_ANSWERS in c:
        answers = _list(c[CHECKLIST_ANSWERS], f"{path}.{CHECKLIST_ANSWERS}")
        answer = Checklist(tuple(_answer(a, f"{path}.{CHECKLIST_ANSWERS}[{i}]") for i, a in enumerate(answers)))
    elif TEXT_ANSWER in c:
        answer = Text(str(_mapping(c[TEXT_ANSWER], f"{path}.{TEXT_ANSWER}").get(CONTENT, "")))
    else:
        raise _Bad(f"a classification needs {RADIO_ANSWER}, {CHECKLIST_ANSWERS} or {TEXT_ANSWER}", path, sorted(c))
    return ClassificationAnnotation(
        answer=answer,
        name=c.get("name"),
        schema_id=c.get(EXPORT_SCHEMA_ID),
        uuid=feature_uuid(c[FEATURE_ID]) if c.get(FEATURE_ID) else None,
        placement=placement or Placement(),
    )


def _classifications(raw: Any, path: str) -> tuple[ClassificationAnnotation, ...]:
    return tuple(_classification(c, f"{path}[{i}]") for i, c in enumerate(_list(raw, path)))


def _point(raw: Any, path: str) -> Point:
    p = _mapping(raw, path)
    return Point(p["x"], p["y"])


def _geometry(obj: Mapping[str, Any], path: str) -> Geometry:
    if BOUNDING_BOX in obj:
        box = _mapping(obj[BOUNDING_BOX], f"{path}.{BOUNDING_BOX}")
        return Rectangle.from_xywh(box["left"], box["top"], box["width"], box["height"])
    for key, kind in (("polygon", Polygon), ("line", Line)):
        if key in obj:
            points = _list(obj[key], f"{path}.{key}")
            return kind(tuple(_point(p, f"{path}.{key}[{i}]") for i, p in enumerate(points)))
    if "point" in obj:
        return _point(obj["point"], f"{path}.point")
    for key in (COMPOSITE_MASK, MASK):
        if key in obj:
            mask = _mapping(obj[key], f"{path}.{key}")
            color = mask.get(COLOR_RGB_EXPORT) or (255, 255, 255)
            return Mask(RasterSource(uri=mask[URL]), tuple(color))
    raise _Bad("an object needs bounding_box, polygon, line, point or a mask", path, obj.get(ANNOTATION_KIND))


def _image(block: Mapping[str, Any], path: str) -> list[AnyAnnotation]:
    out: list[AnyAnnotation] = []
    for i, raw in enumerate(_list(block.get(OBJECTS) or [], f"{path}.{OBJECTS}")):
        where = f"{path}.{OBJECTS}[{i}]"
        obj = _mapping(raw, where)
        out.append(
            ObjectAnnotation(
                uuid=feature_uuid(obj.get(FEATURE_ID)),
                geometry=_geometry(obj, where),
                name=obj.get("name"),
                schema_id=obj.get(EXPORT_SCHEMA_ID),
                classifications=_classifications(obj.get(CLASSIFICATIONS) or [], f"{where}.{CLASSIFICATIONS}"),
            )
        )
    out.extend(_classifications(block.get(CLASSIFICATIONS) or [], f"{path}.{CLASSIFICATIONS}"))
    for i, raw in enumerate(_list(block.get(RELATIONSHIPS) or [], f"{path}.{RELATIONSHIPS}")):
        where = f"{path}.{RELATIONSHIPS}[{i}]"
        rel = _mapping(raw, where)
        link = _mapping(rel.get(RELATIONSHIP), f"{where}.{RELATIONSHIP}")
        out.append(
            Relationship(
                uuid=feature_uuid(rel.get(FEATURE_ID)),
                source=feature_uuid(link["source"]),
                target=feature_uuid(link["target"]),
                name=rel.get("name"),
                schema_id=rel.get(EXPORT_SCHEMA_ID),
                bidirectional=link.get("type") == "bidirectional",
            )
        )
    return out


def _frames(
    frames: Mapping[str, Any],
    segments: Mapping[str, Any],
    keymap: Mapping[str, Mapping[str, bool]],
    group: PlaneGroup | None,
    path: str,
) -> list[AnyAnnotation]:
    """Tracks, per-frame masks and per-frame classifications of one video or DICOM group."""
    tracks: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    out: list[AnyAnnotation] = []
    for number, raw in frames.items():
        where = f"{path}.{FRAMES}.{number}"
        frame = _mapping(raw, where)
        index = int(number) - 1
        for feature_id, obj in _mapping(frame.get(OBJECTS) or {}, f"{where}.{OBJECTS}").items():
            # Frames marked false were interpolated or repeat the keyframe before; a segment's first frame is
            # kept all the same (a track resumed unchanged is marked false there).
            starts = {s[0] for s in segments.get(feature_id) or []}
            marks = _mapping(keymap.get(feature_id) or {}, f"{KEY_FRAME_FEATURE_MAP}.{feature_id}")
            if marks.get(number, True) or int(number) in starts:
                tracks.setdefault(feature_id, []).append((index, _mapping(obj, f"{where}.{OBJECTS}.{feature_id}")))
        for i, c in enumerate(_list(frame.get(CLASSIFICATIONS) or [], f"{where}.{CLASSIFICATIONS}")):
            out.append(_classification(c, f"{where}.{CLASSIFICATIONS}[{i}]", Placement(frame=index, group=group)))
    for feature_id, keyed in tracks.items():
        keyed.sort(key=lambda pair: pair[0])
        first = keyed[0][1]
        where = f"{path}.{FRAMES}"
        if COMPOSITE_MASK in first or MASK in first:
            color = (first.get(COMPOSITE_MASK) or {}).get(COLOR_RGB_EXPORT) or (255, 255, 255)
            out.append(
                FrameMasks(
                    uuid=feature_uuid(feature_id),
                    frames=tuple(
                        FrameMask(f, RasterSource(uri=(o.get(COMPOSITE_MASK) or o.get(MASK) or {})[URL]))
                        for f, o in keyed
                    ),
                    instances=(MaskInstance(tuple(color), first.get("name"), first.get(EXPORT_SCHEMA_ID)),),
                    group=group,
                )
            )
            continue
        spans = [(s[0] - 1, s[1] - 1) for s in (segments.get(feature_id) or [])] or [(keyed[0][0], keyed[-1][0])]
        chunks: list[list[Keyframe]] = [[] for _ in spans]
        for f, o in keyed:
            slot = next((n for n, (a, b) in enumerate(spans) if a <= f <= b), len(spans) - 1)
            nested = _classifications(o.get(CLASSIFICATIONS) or [], f"{where}.{f + 1}.{CLASSIFICATIONS}")
            chunks[slot].append(Keyframe(f, _geometry(o, f"{where}.{f + 1}.{OBJECTS}.{feature_id}"), nested))
        out.append(
            TrackedObject(
                uuid=feature_uuid(feature_id),
                segments=tuple(Segment(tuple(c)) for c in chunks if c),
                name=first.get("name"),
                schema_id=first.get(EXPORT_SCHEMA_ID),
                group=group,
            )
        )
    return out


def _top_classifications(block: Mapping[str, Any], segments: Mapping[str, Any], path: str) -> list[AnyAnnotation]:
    out: list[AnyAnnotation] = []
    for i, raw in enumerate(_list(block.get(CLASSIFICATIONS) or [], f"{path}.{CLASSIFICATIONS}")):
        c = _classification(raw, f"{path}.{CLASSIFICATIONS}[{i}]")
        raw_id = _mapping(raw, f"{path}.{CLASSIFICATIONS}[{i}]").get(FEATURE_ID)
        ranges = segments.get(raw_id) if raw_id else None
        if ranges:
            c = ClassificationAnnotation(
                answer=c.answer,
                name=c.name,
                schema_id=c.schema_id,
                uuid=c.uuid,
                frames=tuple(Range(s[0] - 1, s[1] - 1) for s in ranges),
            )
        out.append(c)
    return out


def _annotations(block: Mapping[str, Any], media: MediaType, path: str) -> list[AnyAnnotation]:
    if GROUPS in block:
        out: list[AnyAnnotation] = []
        segments = _mapping(block.get(SEGMENTS) or {}, f"{path}.{SEGMENTS}")
        keymap = _mapping(block.get(KEY_FRAME_FEATURE_MAP) or {}, f"{path}.{KEY_FRAME_FEATURE_MAP}")
        for name, raw in _mapping(block[GROUPS], f"{path}.{GROUPS}").items():
            group = GROUP_OF_NAME.get(name)
            if group is None:
                raise _Bad(
                    f"unknown DICOM group {name!r}; expected Axial, Sagittal or Coronal", f"{path}.{GROUPS}", name
                )
            where = f"{path}.{GROUPS}.{name}"
            group_keys = {
                fid: _mapping(m, f"{path}.{KEY_FRAME_FEATURE_MAP}.{fid}").get(name) or {} for fid, m in keymap.items()
            }
            frames = _mapping(_mapping(raw, where).get(FRAMES) or {}, f"{where}.{FRAMES}")
            out += _frames(frames, segments.get(name) or {}, group_keys, group, where)
        return out + _top_classifications(block, {}, path)
    if FRAMES in block or media is MediaType.VIDEO:
        segments = _mapping(block.get(SEGMENTS) or {}, f"{path}.{SEGMENTS}")
        keymap = _mapping(block.get(KEY_FRAME_FEATURE_MAP) or {}, f"{path}.{KEY_FRAME_FEATURE_MAP}")
        frames = _mapping(block.get(FRAMES) or {}, f"{path}.{FRAMES}")
        return _frames(frames, segments, keymap, None, path) + _top_classifications(block, segments, path)
    return _image(block, path)


def _item(raw: Any, ctx: ReadContext, file: str | None, line: int | None, path: str | None) -> LabeledItem:
    row = _mapping(raw, "")
    data_row = _mapping(row.get(ROW_DATA_ROW), ROW_DATA_ROW)
    key = DataRowKey(
        id=data_row.get(ROW_ID) or None,
        global_key=data_row.get(ROW_GLOBAL_KEY) or None,
        external_id=data_row.get(ROW_EXTERNAL_ID) or None,
    )
    labels: list[AnyAnnotation] = []
    kinds: list[str] = []
    label_ids: list[str] = []
    for project_id, block in _mapping(row.get(PROJECTS) or {}, PROJECTS).items():
        for i, label in enumerate(_list(_mapping(block, f"{PROJECTS}.{project_id}").get(LABELS) or [], LABELS)):
            where = f"{PROJECTS}.{project_id}.{LABELS}[{i}]"
            label_kind = _mapping(label, where).get(LABEL_KIND, "Default")
            kinds.append(label_kind)
            if isinstance(label.get(ROW_ID), str):
                label_ids.append(label[ROW_ID])
            media = _MEDIA_OF_KIND.get(label_kind, MediaType.IMAGE)
            labels += _annotations(
                _mapping(label.get(ANNOTATIONS) or {}, f"{where}.{ANNOTATIONS}"), media, f"{where}.{ANNOTATIONS}"
            )
    media_row = None
    if data_row.get(ROW_DATA) and data_row.get(ROW_ID):
        media_type = _MEDIA_OF_KIND.get(kinds[0], MediaType.IMAGE) if kinds else MediaType.IMAGE
        media_row = DataRow(
            id=data_row[ROW_ID],
            row_data=data_row[ROW_DATA],
            media_type=media_type,
            global_key=key.global_key,
            external_id=key.external_id,
            media_attributes=MediaAttributes.from_dict(dict(row.get(MEDIA_ATTRIBUTES) or {})),
        )
    # Several projects' labels become one; it keeps the label id when there was only one.
    label = Label(ctx.label_kind, tuple(labels), id=label_ids[0] if len(label_ids) == 1 else None)
    return LabeledItem(key, (label,), media=media_row, file=file, line=line, path=path)


def read_rows(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    for item in iter_json_items(source):
        if item.error is not None:
            yield Problem(item.location, item.error, item.value)
            continue
        try:
            yield _item(item.value, ctx, item.file, item.line, item.path)
        except _Bad as bad:
            path = f"{item.path}.{bad.path}" if item.path and bad.path else (bad.path or item.path)
            yield Problem(Location(item.file, item.line, path), bad.message, bad.value)
        except ValidationError as exc:
            yield Problem(item.location, exc.message, exc.value)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            # A shape the checks above do not name: the row fails on its own, the next rows are read.
            yield Problem(item.location, f"not an export_v2 row: {type(exc).__name__} {exc}", None)


__all__ = ["read_rows"]
