"""Labelbox export_v2 / ``export()`` rows: one JSON object per data row, written as NDJSON.

Shape (notes/labelbox.md section 3): ``data_row``, ``media_attributes``, ``attachments``, ``metadata_fields``,
``projects -> {project id: {name, labels -> [{label_kind, version, id, label_details, performance_details,
annotations}], project_details}}``. The ``annotations`` block is built in ``export_v2_annotations``.

What to include besides the labels is chosen by ``ExportParams`` (``ctx.options["params"]``), as on
Labelbox. Masks are linked, never embedded: ``ctx.link_mask`` turns each mask (a feature on a frame of a
plane) into a URL, a file written beside the export or a server route. Reading turns rows back into items
(``export_v2_read``), so a Labelbox export can be imported as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson

from labelport.errors import ValidationError
from labelport.formats.base import (
    Detection,
    MaskLink,
    Problem,
    ReadContext,
    Sink,
    Source,
    WriteContext,
    WriteReport,
    open_sink,
    sniff,
)
from labelport.formats.labelbox.export_v2_annotations import (
    Entry,
    Features,
    Unwritable,
    annotations_block,
    derived_id,
)
from labelport.formats.labelbox.fields import (
    ANNOTATIONS,
    ATTACHMENTS,
    DETAILS,
    LABEL_DETAILS,
    LABEL_KIND,
    LABELS,
    MEDIA_ATTRIBUTES,
    METADATA_FIELDS,
    PERFORMANCE_DETAILS,
    PROJECT_DETAILS,
    PROJECTS,
    ROW_DATA,
    ROW_DATA_ROW,
    ROW_EXTERNAL_ID,
    ROW_GLOBAL_KEY,
    ROW_ID,
    VERSION,
)
from labelport.model.annotation import VolumeMask
from labelport.model.item import ItemReview, LabeledItem
from labelport.model.label import Label, LabelKind
from labelport.model.media import DataRow, MediaType, PlaneGroup
from labelport.model.workflow import HistoryEntry, WorkflowAction, WorkflowStatus, as_utc, task_id

NAME = "labelbox_export_v2"
FILE_NAME = "export.ndjson"  # what an export job writes
FORMAT_VERSION = "1.0.0"
LABEL_KINDS = {
    MediaType.IMAGE: "Default",
    MediaType.VIDEO: "Video",
    MediaType.DICOM: "DICOM",
    MediaType.NIFTI: "DICOM",
}
# Media attributes kept for our own use, not part of what Labelbox exports.
_INTERNAL_ATTRIBUTES = ("affine", "instance_uids")


@dataclass(frozen=True, slots=True)
class ExportParams:
    """What to include besides the labels (all off by default, as on Labelbox)."""

    attachments: bool = False
    metadata_fields: bool = False
    data_row_details: bool = False
    project_details: bool = False
    label_details: bool = False
    performance_details: bool = False
    interpolated_frames: bool = False
    embeddings: bool = False

    # Labelbox scripts also pass these; they change nothing here.
    _IGNORED = frozenset({"media_type_override", "include_labels", "model_run_ids", "project_ids"})

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | ExportParams | None) -> ExportParams:
        """Check every key and value; ``include_<name>`` spellings are accepted too."""
        if raw is None:
            return cls()
        if isinstance(raw, ExportParams):
            return raw
        if not isinstance(raw, Mapping):
            raise ValidationError(f"export params must be a mapping, found {raw!r}", field="params", value=raw)
        known = {f.name for f in fields(cls)}
        values: dict[str, bool] = {}
        for key, value in raw.items():
            name = key[len("include_") :] if isinstance(key, str) and key.startswith("include_") else key
            if name in cls._IGNORED or key in cls._IGNORED:
                continue
            if name not in known:
                raise ValidationError(
                    f"unknown export param {key!r}; expected one of {', '.join(sorted(known))}",
                    field=f"params.{key}",
                    value=value,
                )
            if not isinstance(value, bool):
                raise ValidationError(
                    f"export param {key!r} must be true or false, found {value!r}", field=f"params.{key}", value=value
                )
            values[name] = value
        return cls(**values)

    @classmethod
    def everything(cls) -> ExportParams:
        """Every section (what the legacy export shows)."""
        return cls(True, True, True, True, True, True)


# What ``labelport export labelbox --include`` chooses from: the export params Labelbox offers.
INCLUDE_CHOICES = (
    "attachments",
    "metadata_fields",
    "data_row_details",
    "project_details",
    "label_details",
    "performance_details",
    "interpolated_frames",
)


def include_options(chosen: Collection[str]) -> dict[str, Any]:
    """The writer's options for the sections named (``all`` for every one)."""
    return {"params": {name: "all" in chosen or name in chosen for name in INCLUDE_CHOICES}}


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The writer's options, checked: ``params`` (export params as Labelbox spells them)."""
    unknown = sorted(set(raw) - {"params"})
    if unknown:
        raise ValidationError(f"unknown export_v2 option {unknown[0]!r}; it takes params", field=unknown[0])
    return {"params": ExportParams.parse(raw.get("params"))}


def iso(value: datetime | None, *, precise: bool = False) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="microseconds" if precise else "seconds")


def history_entry(entry: HistoryEntry, project_id: str) -> dict[str, Any]:
    """The ``workflow_history`` entry: the task left and the task entered (Done is no task)."""
    out: dict[str, Any] = {
        "action": entry.action.value,
        "created_at": as_utc(entry.at).isoformat(timespec="microseconds"),
        "created_by": entry.actor,
    }
    if entry.from_status is not None and entry.from_task is not None:
        out["previous_task_name"] = entry.from_task
        out["previous_task_id"] = task_id(project_id, entry.from_status)
    if entry.to_status is not WorkflowStatus.DONE:
        out["next_task_name"] = entry.to_task
        out["next_task_id"] = task_id(project_id, entry.to_status)
    return out


def _media_attributes(row: DataRow) -> dict[str, Any]:
    out = row.media_attributes.as_dict()
    for name in _INTERNAL_ATTRIBUTES:
        out.pop(name, None)
    if row.media_type is MediaType.DICOM:
        out.setdefault("mime_type", "application/dicom")
    if "frames" in out:
        out.setdefault("frame_count", out["frames"])
    return out


class RowWriter:
    """Builds export rows from items; one per export (it caches ontology look-ups and mask frames)."""

    def __init__(self, ctx: WriteContext, report: WriteReport) -> None:
        self.ctx = ctx
        self.params: ExportParams = ExportParams.parse(ctx.options.get("params"))
        self.features = Features(ctx.ontology)
        self.report = report

    def _link(self, item: LabeledItem) -> Callable[[MaskLink], str]:
        def link(request: MaskLink) -> str:
            if self.ctx.link_mask is None:
                raise ValidationError("masks need a way to be linked (a folder or a server), and none was given")
            return self.ctx.link_mask(request, item)

        return link

    def _frames_of(self, item: LabeledItem) -> Callable[[VolumeMask, PlaneGroup], list[int]]:
        def frames_of(mask: VolumeMask, group: PlaneGroup) -> list[int]:
            import numpy as np

            from labelport.imaging.grids import plane_of

            if item.media is None or self.ctx.pixels is None:
                raise ValidationError("a volume mask needs its data row's geometry and the stored pixels")
            volume = self.ctx.pixels.volume(mask.source, item.media)
            stacked = plane_of(item.media.media_attributes, group).stack(np.isin(volume, mask.values))
            return [int(f) for f in np.flatnonzero(stacked.reshape(stacked.shape[0], -1).any(axis=1))]

        return frames_of

    def _data_row(self, item: LabeledItem, media: DataRow | None) -> dict[str, Any]:
        key = item.data_row
        out: dict[str, Any] = {
            ROW_ID: media.id if media is not None else key.id,
            ROW_GLOBAL_KEY: media.global_key if media is not None else key.global_key,
            ROW_DATA: media.row_data if media is not None else None,
        }
        external = media.external_id if media is not None else key.external_id
        if external is not None:
            out[ROW_EXTERNAL_ID] = external
        review = item.review
        if self.params.data_row_details:
            out[DETAILS] = {
                "dataset_id": media.dataset_id if media is not None else None,
                "dataset_name": review.dataset_name if review is not None else None,
                "created_at": iso(review.created_at) if review is not None else None,
                "updated_at": iso(review.updated_at) if review is not None else None,
                "last_activity_at": iso(review.last_activity_at) if review is not None else None,
                "created_by": review.created_by if review is not None else None,
            }
        return out

    def _label(self, item: LabeledItem, label: Label, media_type: MediaType) -> dict[str, Any]:
        # A label from a format without label ids gets one derived from its data row, the same every time.
        label_id = label.id or derived_id(str(item.data_row), f"label/{label.kind.value}")
        entries = [Entry.of(a, derived_id(label_id, str(i))) for i, a in enumerate(label.annotations)]
        lost: list[Entry] = []

        def lose(entry: Entry, exc: Unwritable) -> None:
            lost.append(entry)
            self.report.lose(item, exc.what, exc.reason)

        try:
            block = annotations_block(
                media_type,
                entries,
                self.features,
                self._link(item),
                self._frames_of(item),
                lose,
                interpolated_frames=self.params.interpolated_frames,
            )
        except ValidationError as exc:
            # Not one annotation but the label (a mask its store cannot give): reported, the row still written.
            self.report.problems.append(Problem(item.location, f"{item.data_row}: {exc.message}", exc.value))
            lost.extend(entries)
            block = annotations_block(media_type, [], self.features, self._link(item), self._frames_of(item), lose)
        shown: dict[str, Any] = {
            LABEL_KIND: LABEL_KINDS[media_type],
            VERSION: FORMAT_VERSION,
            ROW_ID: label_id,
        }
        if self.params.label_details:
            history = item.review.history if item.review is not None else ()
            created = label.details.created_at
            shown[LABEL_DETAILS] = {
                "created_at": iso(created),
                "updated_at": iso(label.details.updated_at),
                "created_by": label.details.created_by,
                "content_last_updated_at": iso(label.details.updated_at),
                "reviews": [
                    {
                        ROW_ID: derived_id(label_id, f"review/{iso(h.at, precise=True)}"),
                        "action": h.action.value,
                        "score": 1 if h.action is WorkflowAction.APPROVE else -1,
                        "created_at": iso(h.at, precise=True),
                        "created_by": h.actor,
                    }
                    for h in history
                    if h.action in (WorkflowAction.APPROVE, WorkflowAction.REJECT)
                    and (created is None or as_utc(h.at) >= as_utc(created))
                ],
            }
        if self.params.performance_details:
            performance = label.performance
            shown[PERFORMANCE_DETAILS] = {
                "seconds_to_create": performance.seconds_to_create or 0,
                "seconds_to_review": performance.seconds_to_review or 0,
                "skipped": bool(performance.skipped),
            }
        shown[ANNOTATIONS] = block
        self.report.annotations += len(entries) - len(lost)
        return shown

    def row(self, item: LabeledItem) -> dict[str, Any]:
        """The export row of one item (its ground-truth label, as Labelbox exports labels)."""
        media = item.media
        media_type = media.media_type if media is not None else _media_type_of(item)
        out: dict[str, Any] = {
            ROW_DATA_ROW: self._data_row(item, media),
            MEDIA_ATTRIBUTES: _media_attributes(media) if media is not None else {},
        }
        if self.params.attachments and media is not None:
            out[ATTACHMENTS] = [
                {
                    "type": a.type,
                    "value": a.value,
                    ROW_ID: derived_id(media.id, f"attachment/{i}"),
                    **({"name": a.name} if a.name else {}),
                }
                for i, a in enumerate(media.attachments)
            ]
        if self.params.metadata_fields and media is not None:
            out[METADATA_FIELDS] = [
                {
                    "schema_id": m.schema_id or derived_id("metadata", m.name),
                    "schema_name": m.name,
                    "value": m.value,
                }
                for m in media.metadata_fields
            ]
        labels = [self._label(item, label, media_type) for label in item.labels if label.kind is LabelKind.GROUND_TRUTH]
        review = item.review
        project_id = review.project_id if review is not None else "labelport"
        block: dict[str, Any] = {
            "name": review.project_name if review is not None else "labelport",
            "project_name": review.project_name if review is not None else "labelport",
            LABELS: labels,
        }
        if self.params.project_details:
            status = review.status if review is not None else WorkflowStatus.TO_LABEL
            block[PROJECT_DETAILS] = {
                "ontology_id": review.ontology_id if review is not None else None,
                "task_name": (review.task_name if review is not None else None) or status.task_name,
                "batch_id": review.batch_id if review is not None else None,
                "batch_name": review.batch_name if review is not None else None,
                "priority": review.priority if review is not None else None,
                "consensus_expected_label_count": 1,
                "workflow_status": status.export_name,
                "workflow_history": [history_entry(h, project_id) for h in review.history] if review else [],
            }
        out[PROJECTS] = {project_id: block}
        return out


def _media_type_of(item: LabeledItem) -> MediaType:
    """Without the data row at hand: DICOM when an annotation sits on a plane, video when on a frame."""
    for label in item.labels:
        for a in label.annotations:
            if getattr(a, "group", None) is not None:
                return MediaType.DICOM
            placement = getattr(a, "placement", None)
            if placement is not None and placement.group is not None:
                return MediaType.DICOM
            if type(a).__name__ in ("TrackedObject", "FrameMasks") or (placement and placement.frame is not None):
                return MediaType.VIDEO
    return MediaType.IMAGE


def rows(items: Iterable[LabeledItem], ctx: WriteContext, report: WriteReport) -> Iterator[dict[str, Any]]:
    """Export rows of ``items``, one per item, streamed."""
    writer = RowWriter(ctx, report)
    for item in items:
        row = writer.row(item)
        report.items += 1
        yield row


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write export rows as NDJSON (one data row per line) to a path (atomically) or a binary stream."""
    report = WriteReport()
    context = ctx or WriteContext()
    with open_sink(sink) as handle:
        for row in rows(items, context, report):
            handle.write(orjson.dumps(row) + b"\n")
    return report


def detect(source: Source) -> Detection:
    """export_v2 rows have ``data_row`` and ``projects`` (or ``media_attributes``) at the top level."""
    head = sniff(source, 3)
    if isinstance(head, Detection):
        return head
    if not head:
        return Detection(0.0, "no JSON objects")
    for item in head:
        if item.error is not None or not isinstance(item.value, Mapping):
            return Detection(0.0, f"{item.location}: not a JSON object")
        if ROW_DATA_ROW not in item.value:
            return Detection(0.0, f"{item.location}: no {ROW_DATA_ROW!r} key")
        if PROJECTS not in item.value and MEDIA_ATTRIBUTES not in item.value:
            return Detection(0.0, f"{item.location}: no {PROJECTS!r} or {MEDIA_ATTRIBUTES!r} key")
    return Detection(0.9, f"{len(head)} object(s) with {ROW_DATA_ROW!r} and {PROJECTS!r}, as export_v2 rows have")


def read(source: Source, ctx: ReadContext | None = None) -> Iterator[LabeledItem | Problem]:
    """The labels of export rows as items (ground truth unless ``ctx.label_kind`` says otherwise)."""
    from labelport.formats.labelbox.export_v2_read import read_rows

    items: Iterator[LabeledItem | Problem] = read_rows(source, ctx or ReadContext())
    return items


__all__ = [
    "NAME",
    "ExportParams",
    "ItemReview",
    "RowWriter",
    "detect",
    "history_entry",
    "parse_options",
    "read",
    "rows",
    "write",
]
