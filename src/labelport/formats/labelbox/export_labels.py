"""Labelbox's legacy ``project.export_labels()`` JSON: one element per label (the pre-export_v2 shape).

Written from the export_v2 rows of the same items (every section included): a folder holding ``labels.json``
(the JSON array) and, for video and DICOM labels, one NDJSON file of per-frame annotations per label and
group under ``frames/<label id>/``, linked from the label as Labelbox links them. ``ctx.options["link_file"]``
turns a file of the folder into the URL written (default: a ``file://`` URL; a server passes its route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from labelport.errors import ValidationError
from labelport.formats.base import Detection, Sink, Source, WriteContext, WriteReport
from labelport.formats.labelbox.export_v2 import ExportParams, RowWriter
from labelport.formats.labelbox.fields import (
    ANNOTATIONS,
    CLASSIFICATIONS,
    EXPORT_SCHEMA_ID,
    FEATURE_ID,
    FRAMES,
    GROUPS,
    KEY_FRAME_FEATURE_MAP,
    LABEL_DETAILS,
    LABELS,
    OBJECTS,
    PERFORMANCE_DETAILS,
    PROJECT_DETAILS,
    PROJECTS,
    RELATIONSHIPS,
    ROW_DATA_ROW,
)
from labelport.model.item import LabeledItem

NAME = "labelbox_export_labels"
FILE_NAME = "labels.json"
DATA_ROW = ROW_DATA_ROW


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``link_file``: a function turning a file of the output folder into the URL written for it."""
    unknown = sorted(set(raw) - {"link_file"})
    if unknown:
        raise ValidationError(f"unknown export_labels option {unknown[0]!r}; it takes link_file", field=unknown[0])
    link = raw.get("link_file")
    if link is not None and not callable(link):
        raise ValidationError(f"option link_file must be a function, found {link!r}", field="link_file")
    return dict(raw)


def detect(source: Source) -> Detection:
    return Detection(0.0, "the legacy export_labels format is written only")


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write ``labels.json`` and the per-frame files into the folder ``sink``; returns the report."""
    if not isinstance(sink, str | Path):
        raise ValidationError("the legacy export writes a folder; give a folder path", field="output")
    folder = Path(sink)
    folder.mkdir(parents=True, exist_ok=True)
    context = ctx or WriteContext()
    link: Callable[[Path], str] = context.options.get("link_file") or Path.as_uri
    options = {**context.options, "params": ExportParams.everything()}
    report = WriteReport()
    writer = RowWriter(
        WriteContext(context.ontology, context.pixels, context.link_mask, context.policy, options), report
    )
    out: list[dict[str, Any]] = []
    for item in items:
        row = writer.row(item)
        report.items += 1
        for block in row[PROJECTS].values():
            for label in block[LABELS]:
                out.append(_legacy(row, block, label, folder, link))
    partial = folder / f".{FILE_NAME}.partial"
    partial.write_bytes(orjson.dumps(out))
    partial.replace(folder / FILE_NAME)
    return report


def _legacy_object(obj: dict[str, Any], key: bool) -> dict[str, Any]:
    out = {
        "featureId": obj[FEATURE_ID],
        "schemaId": obj[EXPORT_SCHEMA_ID],
        "title": obj["name"],
        "value": obj["value"],
        "keyframe": key,
        "classifications": obj[CLASSIFICATIONS],
    }
    for name in ("line", "bounding_box", "point", "polygon"):
        if name in obj:
            out["bbox" if name == "bounding_box" else name] = obj[name]
    if "mask" in obj:
        out["instanceURI"] = obj["mask"]["url"]
    if "composite_mask" in obj:
        out["instanceURI"] = obj["composite_mask"]["url"]
    return out


def _frames_file(
    target: Path, frames: Mapping[str, Any], keymap: Mapping[str, Mapping[str, bool]], link: Callable[[Path], str]
) -> str:

    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for number, frame in frames.items():
            line = {
                "frameNumber": int(number),
                "classifications": frame[CLASSIFICATIONS],
                "objects": [
                    _legacy_object(o, keymap.get(fid, {}).get(number, True)) for fid, o in frame[OBJECTS].items()
                ],
                "relationships": [],
            }
            out.write(orjson.dumps(line) + b"\n")
    return link(target)


def _legacy(
    row: dict[str, Any], block: dict[str, Any], label: dict[str, Any], folder: Path, link: Callable[[Path], str]
) -> dict[str, Any]:
    annotations = label[ANNOTATIONS]
    details, performance = label[LABEL_DETAILS], label[PERFORMANCE_DETAILS]
    project_details = block[PROJECT_DETAILS]
    shown: dict[str, Any] = {
        "objects": [],
        "classifications": annotations.get(CLASSIFICATIONS, []),
        "relationships": [],
    }
    if GROUPS in annotations:
        shown["groups"] = []
        for name, group in annotations[GROUPS].items():
            keymap = {fid: m.get(name, {}) for fid, m in annotations[KEY_FRAME_FEATURE_MAP].items()}
            target = folder / "frames" / label["id"] / f"{name.lower()}.ndjson"
            url = _frames_file(target, group[FRAMES], keymap, link)
            shown["groups"].append(
                {"name": name.lower(), "objects": [], "classifications": [], "relationships": [], "frames": url}
            )
    elif FRAMES in annotations:
        shown["frames"] = _frames_file(
            folder / "frames" / label["id"] / "video.ndjson",
            annotations[FRAMES],
            annotations[KEY_FRAME_FEATURE_MAP],
            link,
        )
    else:
        shown["objects"] = [_legacy_object(o, True) for o in annotations[OBJECTS]]
        shown["relationships"] = annotations[RELATIONSHIPS]
    history = [
        {
            "actorId": h["created_by"],
            "action": h["action"],
            "createdAt": h["created_at"],
            **(
                {"previousTaskId": h["previous_task_id"], "previousTaskName": h["previous_task_name"]}
                if "previous_task_id" in h
                else {}
            ),
            **({"nextTaskId": h["next_task_id"], "nextTaskName": h["next_task_name"]} if "next_task_id" in h else {}),
        }
        for h in project_details["workflow_history"]
    ]
    return {
        "ID": label["id"],
        "DataRow ID": row[DATA_ROW]["id"],
        "Labeled Data": row[DATA_ROW]["row_data"],
        "Label": shown,
        "Created By": details["created_by"],
        "Project Name": block["name"],
        "Created At": details["created_at"],
        "Updated At": details["updated_at"],
        "Seconds to Label": performance["seconds_to_create"],
        "External ID": row[DATA_ROW]["global_key"],
        "Global Key": row[DATA_ROW]["global_key"],
        "Agreement": -1,
        "Benchmark Agreement": -1,
        "Benchmark ID": None,
        "Dataset Name": row[DATA_ROW]["details"]["dataset_name"],
        "Reviews": details["reviews"],
        "View Label": None,
        "Has Open Issues": 0,
        "Skipped": performance["skipped"],
        "DataRow Workflow Info": {"taskName": project_details["task_name"], "Workflow History": history},
    }


__all__ = ["FILE_NAME", "NAME", "detect", "write"]
