"""labelport.types: the Labelbox guides' Python objects build and serialize as the SDK does."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labelport.types as lb_types
from labelport.types import NDJsonConverter

from .ndjson_compare import assert_same_ndjson
from .test_labelbox_conformance import ANCHORS, FIXTURES


def referee_output(name: str) -> list[dict[str, Any]]:
    return list(json.loads((ANCHORS / "referee" / name).read_text())["output"])


def test_dicom_guide_example_serializes_like_sdk_6_1() -> None:
    # labelbox-import-dicom-annotations guide / notes §6, with only the import line changed.
    labels = [
        lb_types.Label(
            data={"global_key": "study-1/series-1"},
            annotations=[
                lb_types.DICOMObjectAnnotation(
                    name="line_dicom",
                    group_key=lb_types.GroupKey.AXIAL,
                    frame=1,
                    keyframe=True,
                    segment_index=0,
                    value=lb_types.Line(points=[lb_types.Point(x=10, y=10), lb_types.Point(x=200, y=20)]),
                    extra={"uuid": "78a8a027-9089-420c-8348-6099eb77e4aa"},
                ),
                lb_types.DICOMMaskAnnotation(
                    group_key=lb_types.GroupKey.AXIAL,
                    frames=[lb_types.MaskFrame(index=1, instance_uri="https://example.org/f1.png")],
                    instances=[lb_types.MaskInstance(color_rgb=(255, 255, 255), name="segmentation_mask_dicom")],
                ),
            ],
        )
    ]
    out = list(NDJsonConverter.serialize(labels))
    assert_same_ndjson(out, referee_output("labelbox-6.1.0_dicom_serialize.json"))


def test_image_mask_guide_example_serializes_like_sdk_7_17() -> None:
    arr = np.zeros((4, 6), np.uint8)
    arr[1:3, 2:5] = 1
    url_mask = lb_types.MaskData(url="https://example.org/mask.png")
    box = lb_types.ObjectAnnotation(
        name="box",
        value=lb_types.Rectangle(start=lb_types.Point(x=38, y=28), end=lb_types.Point(x=81, y=69)),
        classifications=[
            lb_types.ClassificationAnnotation(
                name="grade", value=lb_types.Radio(answer=lb_types.ClassificationAnswer(name="high"))
            )
        ],
        extra={"uuid": "c1be3a57-597e-48cb-8d8d-a852665f9e72"},
    )
    findings = lb_types.ClassificationAnnotation(
        name="findings",
        value=lb_types.Checklist(
            answer=[lb_types.ClassificationAnswer(name="a"), lb_types.ClassificationAnswer(name="b")]
        ),
        extra={"uuid": "d009925d-91a3-4f67-abd9-753453f5a584"},
    )
    label = lb_types.Label(
        data={"global_key": "img-1"},
        annotations=[
            lb_types.ObjectAnnotation(
                name="lesion",
                value=lb_types.Mask(mask=lb_types.MaskData.from_2D_arr(arr), color=(1, 1, 1)),
                extra={"uuid": "b862c586-8614-483c-b5e6-82810f70cac0"},
            ),
            lb_types.ObjectAnnotation(
                name="organ",
                value=lb_types.Mask(mask=url_mask, color=(255, 0, 0)),
                extra={"uuid": "751fc725-f7b6-48ed-89b0-dd7d94d08af6"},
            ),
            box,
            findings,
        ],
    )
    assert_same_ndjson(list(NDJsonConverter.serialize([label])), referee_output("labelbox-7.17.0_image_serialize.json"))


def test_segmentation_mask_guide_composite_example() -> None:
    # labelbox-segmentation-mask guide: two polygons drawn into one MaskData, one Mask per colour.
    h, w = 200, 120
    eye_color, nose_color = (255, 255, 255), (255, 0, 0)
    Point, Polygon = lb_types.Point, lb_types.Polygon
    eyes = [
        Polygon(points=[Point(x=x, y=y) for x, y in [[82, 180], [83, 184], [88, 184], [86, 180]]]),
        Polygon(points=[Point(x=x, y=y) for x, y in [[97, 182], [99, 184], [102, 183], [101, 180], [98, 180]]]),
    ]
    eye_masks = np.max([eye.draw(height=h, width=w) for eye in eyes], axis=0)
    nose = Polygon(
        points=[
            Point(x=x, y=y) for x, y in [[95, 192], [93, 197], [96, 198], [100, 197], [100, 194], [100, 192], [96, 192]]
        ]
    )
    nose_mask = nose.draw(height=h, width=w, color=nose_color)
    np_seg_mask = np.max([nose_mask, eye_masks], axis=0)
    mask_data = lb_types.MaskData(arr=np_seg_mask)
    eye_mask = lb_types.Mask(mask=mask_data, color=eye_color)
    nose_raster = lb_types.Mask(mask=mask_data, color=nose_color).draw()
    assert eye_mask.draw().shape == (h, w, 3) and nose_raster[:, :, 0].sum() > 0
    assert mask_data.arr is np_seg_mask and lb_types.MaskData.from_2D_array is not None
    label = lb_types.Label(
        data={"uid": "ckrazctum0z8a0ybc0b0o0g0v"},
        annotations=[lb_types.ObjectAnnotation(name="eye", value=eye_mask)],
    )
    [out] = NDJsonConverter.serialize([label])
    assert set(out["mask"]) == {"png"} and out["dataRow"] == {"id": "ckrazctum0z8a0ybc0b0o0g0v"}
    [back] = NDJsonConverter.deserialize([out])
    again = back.annotations[0].value
    assert again.color == (1, 1, 1)
    assert np.array_equal(again.mask.value[:, :, 0] == 1, eye_mask.pixels())


def test_polygon_is_closed_and_rectangle_from_xyhw() -> None:
    poly = lb_types.Polygon(points=[lb_types.Point(x=0, y=0), lb_types.Point(x=1, y=0), lb_types.Point(x=1, y=1)])
    assert poly.points[-1] == poly.points[0] and len(poly.points) == 4
    rect = lb_types.Rectangle.from_xyhw(1, 2, 3, 4)
    assert (rect.start, rect.end) == (lb_types.Point(x=1, y=2), lb_types.Point(x=5, y=5))


def test_mask_frame_uri_must_be_a_url_urlparse_reads() -> None:
    """A malformed host (urlparse's ValueError) is a ValidationError naming the URI, like a missing host."""
    from labelport.errors import ValidationError

    for uri, reason in (("http://[::1/f1.png", "is not a valid URL (Invalid IPv6 URL)"), ("f1.png", "scheme and host")):
        with pytest.raises(ValidationError, match=re.escape(reason)) as caught:
            lb_types.MaskFrame(index=1, instance_uri=uri)
        assert caught.value.value == uri


def test_video_keyframes_group_into_segments_by_consecutive_frames() -> None:
    def box(frame: int, keyframe: bool = True) -> lb_types.VideoObjectAnnotation:
        value = lb_types.Rectangle(start=lb_types.Point(x=1, y=2), end=lb_types.Point(x=3, y=4))
        return lb_types.VideoObjectAnnotation(name="car", frame=frame, keyframe=keyframe, value=value)

    label = lb_types.Label(data={"global_key": "v"}, annotations=[box(13), box(14, keyframe=False), box(15), box(19)])
    [out] = NDJsonConverter.serialize([label])
    assert [[k["frame"] for k in s["keyframes"]] for s in out["segments"]] == [[13, 15], [19]]
    [back] = NDJsonConverter.deserialize([out])
    assert [(a.frame, a.segment_index) for a in back.annotations] == [(13, 0), (15, 0), (19, 1)]


def test_external_id_cannot_be_serialized() -> None:
    label = lb_types.Label(data={"external_id": "x"}, annotations=[])
    with pytest.raises(ValueError, match="external_id"):
        list(NDJsonConverter.serialize([label]))


@pytest.mark.parametrize("path", FIXTURES, ids=[Path(f).name for f in FIXTURES])
def test_fixture_deserializes_and_serializes_back(path: str) -> None:
    expected = json.loads(Path(path).read_text())
    labels = list(NDJsonConverter.deserialize(expected))
    # The SDK orders per data row: masks, tracks and ranged classifications, then the rest.
    assert_same_ndjson(list(NDJsonConverter.serialize(labels)), expected, ordered=False)


@pytest.mark.parametrize("page", ["docs/types.md", "docs/formats/labelbox-ndjson.md"])
def test_docs_examples_run(page: str) -> None:
    import re

    from ..conftest import REPO

    for block in re.findall(r"```python\n(.*?)```", (REPO / page).read_text(), flags=re.S):
        exec(compile(block, page, "exec"), {})
