"""Referee script for the store round trip: runs in .venv-referee with labelbox[data]==5.2.1 (never in labelport's
venv).

Reads one JSON request on stdin and writes one JSON answer:
- ``{"build": [spec, ...]}``: each spec (one data row's annotations, see ``build``) made into a ``Label`` with the
  SDK's own types and serialised by ``NDJsonConverter.serialize``; answers ``{"lines": [...], "facts": {...}}``,
  the facts being what the SDK deserialises from its own lines;
- ``{"describe": [line, ...]}``: NDJSON lines deserialised by the SDK; answers ``{"facts": {...}}``.

Facts are the annotations per global key as the SDK reads them, in a form both sides can be compared by: object
geometry and uuids, relationships by the uuids they link, classifications with their answers, video and DICOM
keyframes with frame, segment and plane, and masks as the pixels each tool holds on each frame.

Two SDK 5.2.1 defects are worked around here, with the SDK's own models: ``NDVideoMasks.to_common`` fails on
``imBytes`` ("'bytes' object has no attribute 'encode'"), so video mask lines are parsed with ``NDVideoMasks``
and their base64 decoded here; ``NDDicomMasks`` neither encodes ``im_bytes`` when serialising (the raw PNG is
written as base64 here) nor decodes it when parsing (decoded here).
"""

from __future__ import annotations

import base64
import json
import sys
from collections import defaultdict
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _classification(spec: dict[str, Any], t: Any) -> Any:
    if spec["kind"] == "text":
        value = t.Text(answer=spec["text"])
    elif spec["kind"] == "radio":
        value = t.Radio(answer=t.ClassificationAnswer(name=spec["answers"][0]))
    else:
        value = t.Checklist(answer=[t.ClassificationAnswer(name=a) for a in spec["answers"]])
    return t.ClassificationAnnotation(name=spec["name"], value=value)


def _points(points: list[list[float]], t: Any) -> list[Any]:
    return [t.Point(x=x, y=y) for x, y in points]


def _geometry(kind: str, value: Any, t: Any) -> Any:
    import numpy as np

    if kind == "box":
        x, y, w, h = value
        return t.Rectangle(start=t.Point(x=x, y=y), end=t.Point(x=x + w, y=y + h))
    if kind == "polygon":
        return t.Polygon(points=_points(value, t))
    if kind == "line":
        return t.Line(points=_points(value, t))
    if kind == "point":
        return t.Point(x=value[0], y=value[1])
    return t.Mask(mask=t.MaskData.from_2D_arr(np.asarray(value, dtype=np.uint8)), color=(1, 1, 1))


def _mask_frames(frames: list[list[Any]], t: Any) -> list[Any]:
    return [t.MaskFrame(index=index, im_bytes=base64.b64decode(png)) for index, png in frames]


def _instances(instances: list[list[Any]], t: Any) -> list[Any]:
    return [t.MaskInstance(color_rgb=tuple(color), name=name) for color, name in instances]


def build(spec: dict[str, Any], t: Any) -> Any:
    """A Label of the SDK's types from a spec: ``{"global_key", "annotations": [{"t": kind, ...}]}``."""
    annotations: list[Any] = []
    objects: dict[int, Any] = {}
    for index, ann in enumerate(spec["annotations"]):
        kind = ann["t"]
        if kind in ("box", "polygon", "line", "point", "mask"):
            obj = t.ObjectAnnotation(
                name=ann["name"],
                value=_geometry(kind, ann["value"], t),
                classifications=[_classification(c, t) for c in ann["classifications"]],
            )
            objects[index] = obj
            annotations.append(obj)
        elif kind == "relationship":
            relationship = t.Relationship(
                source=objects[ann["source"]], target=objects[ann["target"]], type=t.Relationship.Type(ann["type"])
            )
            annotations.append(t.RelationshipAnnotation(name=ann["name"], value=relationship))
        elif kind == "classification":
            annotations.append(_classification(ann["cls"], t))
        elif kind == "track":
            for frame, segment, value in ann["keyframes"]:
                annotations.append(
                    t.VideoObjectAnnotation(
                        name=ann["name"],
                        frame=frame,
                        keyframe=True,
                        segment_index=segment,
                        value=_geometry(ann["geometry"], value, t),
                    )
                )
        elif kind == "video_classification":
            for frame in ann["frames"]:
                answer = t.Radio(answer=t.ClassificationAnswer(name=ann["answer"]))
                annotations.append(t.VideoClassificationAnnotation(name=ann["name"], frame=frame, value=answer))
        elif kind == "video_mask":
            annotations.append(
                t.VideoMaskAnnotation(frames=_mask_frames(ann["frames"], t), instances=_instances(ann["instances"], t))
            )
        elif kind == "dicom_line":
            for frame, segment, points in ann["keyframes"]:
                annotations.append(
                    t.DICOMObjectAnnotation(
                        name=ann["name"],
                        group_key=t.GroupKey(ann["group"]),
                        frame=frame,
                        keyframe=True,
                        segment_index=segment,
                        value=t.Line(points=_points(points, t)),
                    )
                )
        elif kind == "dicom_mask":
            annotations.append(
                t.DICOMMaskAnnotation(
                    group_key=t.GroupKey(ann["group"]),
                    frames=_mask_frames(ann["frames"], t),
                    instances=_instances(ann["instances"], t),
                )
            )
        else:
            raise ValueError(f"unknown annotation spec {kind!r}")
    return t.Label(data={"global_key": spec["global_key"]}, annotations=annotations)


# ------------------------------------------------------------------------------------------ facts


def _xy(point: Any) -> list[float]:
    return [float(point.x), float(point.y)]


def _value(value: Any) -> Any:
    import numpy as np

    kind = type(value).__name__
    if kind == "Point":
        return {"Point": _xy(value)}
    if kind in ("Line", "Polygon"):
        return {kind: [_xy(p) for p in value.points]}
    if kind == "Rectangle":
        return {kind: [_xy(value.start), _xy(value.end)]}
    if kind == "Mask":
        color = value.color if isinstance(value.color, tuple | list) else (value.color,) * 3
        selected = np.all(value.mask.value == np.asarray(color, dtype=np.uint8), axis=2)
        return {"Mask": np.argwhere(selected).tolist()}
    if kind == "Text":
        return {"Text": value.answer}
    if kind == "Radio":
        return {"Radio": value.answer.name}
    if kind == "Checklist":
        return {"Checklist": sorted(a.name for a in value.answer)}
    return {"unknown": kind}


def _png_bytes(raw: Any) -> bytes:
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    return data if data.startswith(PNG_SIGNATURE) else base64.b64decode(data)


def _mask_units(ann: Any, group: str | None) -> list[dict[str, Any]]:
    """The pixels each instance (tool) of composite frame masks holds on each frame where it has any."""
    import io

    import numpy as np
    from PIL import Image

    units = []
    for frame in ann.frames:
        rgb = np.asarray(Image.open(io.BytesIO(_png_bytes(frame.im_bytes))).convert("RGB"))
        for instance in ann.instances:
            selected = np.all(rgb == np.asarray(instance.color_rgb, dtype=np.uint8), axis=2)
            if selected.any():
                units.append(
                    {
                        "type": "mask",
                        "group": group,
                        "frame": frame.index,
                        "name": instance.name,
                        "pixels": np.argwhere(selected).tolist(),
                    }
                )
    return units


def describe(ann: Any) -> list[dict[str, Any]]:
    kind = type(ann).__name__
    if kind in ("VideoMaskAnnotation", "DICOMMaskAnnotation"):
        group = getattr(ann, "group_key", None)
        return _mask_units(ann, getattr(group, "value", group))
    out: dict[str, Any] = {"type": kind, "name": ann.name}
    if kind == "RelationshipAnnotation":
        out.update(
            uuid=str(ann._uuid),
            source=str(ann.value.source._uuid),
            target=str(ann.value.target._uuid),
            relationship=ann.value.type.value,
        )
        return [out]
    if kind in ("ObjectAnnotation", "ClassificationAnnotation"):
        out["uuid"] = str(ann._uuid)  # video and DICOM keyframes have none of their own on the wire
    for attr in ("frame", "keyframe", "segment_index"):
        if getattr(ann, attr, None) is not None:
            out[attr] = getattr(ann, attr)
    group = getattr(ann, "group_key", None)
    if group is not None:
        out["group"] = getattr(group, "value", group)
    out["value"] = _value(ann.value)
    if getattr(ann, "classifications", None):
        out["classifications"] = sorted(
            json.dumps({"name": c.name, "value": _value(c.value)}, sort_keys=True) for c in ann.classifications
        )
    return [out]


def facts(lines: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per global key, the sorted descriptions of what the SDK deserialises from ``lines``."""
    import labelbox.types as t
    from labelbox.data.serialization import NDJsonConverter
    from labelbox.data.serialization.ndjson.objects import NDVideoMasks

    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    video_masks = [line for line in lines if "masks" in line and "groupKey" not in line]
    rest = [line for line in lines if not ("masks" in line and "groupKey" not in line)]
    for label in NDJsonConverter.deserialize(rest) if rest else []:
        for ann in label.annotations:
            found[label.data.global_key].extend(describe(ann))
    for line in video_masks:
        parsed = NDVideoMasks(**line)
        frames = [t.MaskFrame(index=f.index, im_bytes=_png_bytes(f.im_bytes)) for f in parsed.masks.frames]
        mask = t.VideoMaskAnnotation(frames=frames, instances=parsed.masks.instances)
        found[line["dataRow"]["globalKey"]].extend(describe(mask))
    return {key: sorted(json.dumps(d, sort_keys=True) for d in described) for key, described in found.items()}


def _bytes_as_base64(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def main() -> None:
    import warnings

    import labelbox.types as t
    from labelbox.data.serialization import NDJsonConverter

    warnings.simplefilter("ignore")  # pydantic's serializer warnings about im_bytes; the output is checked
    request = json.load(sys.stdin)
    if "build" in request:
        labels = [build(spec, t) for spec in request["build"]]
        lines = json.loads(json.dumps(list(NDJsonConverter.serialize(labels)), default=_bytes_as_base64))
        json.dump({"lines": lines, "facts": facts(lines)}, sys.stdout)
    else:
        json.dump({"facts": facts(request["describe"])}, sys.stdout)


if __name__ == "__main__":
    main()
