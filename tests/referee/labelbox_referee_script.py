"""Referee script: runs in .venv-referee with labelbox[data]==5.2.1 (never in labelport's venv).

Reads ``{"examples": [{"ndjson": [...], "spec": {...}}]}`` on stdin and writes, per example:
``reserialized`` = serialize(deserialize(ndjson)), ``deserialized`` = describe(deserialize(ndjson)),
``built_ndjson`` = serialize([build(spec)]) and ``built`` = describe([build(spec)]).
``build`` and ``describe`` take the types module as an argument, so the test runs the very same code on
``labelport.types`` for the other side of the comparison.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _classification(spec: dict[str, Any], t: Any, extra: dict[str, Any] | None = None) -> Any:
    kind = spec["kind"]
    if kind == "text":
        value = t.Text(answer=spec["text"])
    else:
        answers = [
            t.ClassificationAnswer(
                name=a["name"], classifications=[_classification(c, t) for c in a["classifications"]]
            )
            for a in spec["answers"]
        ]
        value = t.Radio(answer=answers[0]) if kind == "radio" else t.Checklist(answer=answers)
    return t.ClassificationAnnotation(name=spec["name"], value=value, extra=extra or {})


def _geometry(spec: dict[str, Any], t: Any) -> Any:
    import numpy as np

    if "bbox" in spec:
        x, y, h, w = spec["bbox"]
        return t.Rectangle.from_xyhw(x, y, h, w)
    if "polygon" in spec:
        return t.Polygon(points=[t.Point(x=x, y=y) for x, y in spec["polygon"]])
    if "line" in spec:
        return t.Line(points=[t.Point(x=x, y=y) for x, y in spec["line"]])
    if "point" in spec:
        return t.Point(x=spec["point"][0], y=spec["point"][1])
    if "mask_png" in spec:
        return t.Mask(mask=t.MaskData.from_2D_arr(np.asarray(spec["mask_png"], dtype=np.uint8)), color=(1, 1, 1))
    return t.Mask(mask=t.MaskData(url=spec["mask_url"]), color=tuple(spec["color"]))


def build(spec: dict[str, Any], t: Any) -> Any:
    """A Label from a JSON spec, with the types module ``t`` (labelbox.types or labelport.types)."""
    annotations: list[Any] = []
    for ann in spec["annotations"]:
        kind = ann["t"]
        if kind == "object":
            annotations.append(
                t.ObjectAnnotation(
                    name=ann["name"],
                    value=_geometry(ann["geom"], t),
                    classifications=[_classification(c, t) for c in ann["classifications"]],
                    confidence=ann["confidence"],
                    extra={"uuid": ann["uuid"]},
                )
            )
        elif kind == "classification":
            annotations.append(_classification(ann["cls"], t, {"uuid": ann["uuid"]}))
        elif kind == "dicom_line":
            for frame, segment_index, points in ann["frames"]:
                annotations.append(
                    t.DICOMObjectAnnotation(
                        name=ann["name"],
                        group_key=t.GroupKey(ann["group"]),
                        frame=frame,
                        keyframe=True,
                        segment_index=segment_index,
                        value=t.Line(points=[t.Point(x=x, y=y) for x, y in points]),
                        extra={"uuid": ann["uuid"]},
                    )
                )
        else:
            annotations.append(
                t.DICOMMaskAnnotation(
                    group_key=t.GroupKey(ann["group"]),
                    frames=[t.MaskFrame(index=i, instance_uri=uri) for i, uri in ann["frames"]],
                    instances=[t.MaskInstance(color_rgb=tuple(c), name=n) for c, n in ann["instances"]],
                )
            )
    return t.Label(data=spec["data"], annotations=annotations)


def _describe_value(value: Any) -> Any:
    kind = type(value).__name__
    if kind == "Point":
        return {"Point": [value.x, value.y]}
    if kind in ("Line", "Polygon"):
        return {kind: [[p.x, p.y] for p in value.points]}
    if kind == "Rectangle":
        return {kind: [[value.start.x, value.start.y], [value.end.x, value.end.y]]}
    if kind == "Mask":
        color = list(value.color) if isinstance(value.color, tuple | list) else [value.color] * 3
        if value.mask.url is not None:
            return {"Mask": {"url": value.mask.url, "color": color}}
        return {"Mask": {"pixels": value.mask.value[:, :, 0].tolist(), "color": color}}
    if kind == "Text":
        return {"Text": value.answer}
    if kind == "Radio":
        return {"Radio": _describe_answer(value.answer)}
    if kind == "Checklist":
        return {"Checklist": [_describe_answer(a) for a in value.answer]}
    return {"unknown": kind}


def _describe_answer(answer: Any) -> Any:
    return {"name": answer.name, "classifications": [describe_annotation(c) for c in answer.classifications or []]}


def describe_annotation(ann: Any) -> dict[str, Any]:
    """The facts both implementations must agree on, as plain JSON."""
    out: dict[str, Any] = {"type": type(ann).__name__}
    for attr in ("name", "frame", "keyframe", "segment_index", "confidence"):
        if getattr(ann, attr, None) is not None:
            out[attr] = getattr(ann, attr)
    group = getattr(ann, "group_key", None)
    if group is not None:
        out["group_key"] = getattr(group, "value", group)
    if hasattr(ann, "value"):
        out["value"] = _describe_value(ann.value)
    if getattr(ann, "classifications", None):
        out["classifications"] = [describe_annotation(c) for c in ann.classifications]
    if hasattr(ann, "frames") and hasattr(ann, "instances"):
        out["frames"] = [[f.index, f.instance_uri] for f in ann.frames]
        out["instances"] = [[list(i.color_rgb), i.name] for i in ann.instances]
    return out


def describe(labels: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "data": {"uid": getattr(label.data, "uid", None), "global_key": getattr(label.data, "global_key", None)},
            "annotations": sorted(
                (describe_annotation(a) for a in label.annotations), key=lambda d: json.dumps(d, sort_keys=True)
            ),
        }
        for label in labels
    ]


def main() -> None:
    import labelbox.types as lb_types
    from labelbox.data.serialization import NDJsonConverter

    request = json.load(sys.stdin)
    results = []
    for example in request["examples"]:
        labels = list(NDJsonConverter.deserialize(example["ndjson"]))
        built = build(example["spec"], lb_types)
        results.append(
            {
                "reserialized": list(NDJsonConverter.serialize(labels)),
                "deserialized": describe(labels),
                "built_ndjson": list(NDJsonConverter.serialize([built])),
                "built": describe([built]),
            }
        )
    json.dump({"results": results}, sys.stdout, default=list)


if __name__ == "__main__":
    main()
