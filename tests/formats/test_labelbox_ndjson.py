"""labelbox_ndjson: the Labelbox fixtures write back equal to their input, and bad lines become located problems."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelport.formats import get_format
from labelport.formats.base import Problem
from labelport.formats.labelbox import ndjson as lb
from labelport.imaging.codecs import decode_png_binary, encode_png_binary, encode_png_composite
from labelport.model import (
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    CustomMetric,
    FrameMask,
    FrameMasks,
    FrameRange,
    Keyframe,
    LabeledItem,
    Line,
    Mask,
    MaskInstance,
    ObjectAnnotation,
    PlaneGroup,
    Point,
    Polygon,
    Radio,
    RasterSource,
    Rectangle,
    Relationship,
    Segment,
    Text,
    TrackedObject,
)

from .items import DataRowRef, Record, items_of, records_of
from .ndjson_compare import assert_same_ndjson
from .test_labelbox_conformance import ANCHORS, FIXTURES

U1 = "78a8a027-9089-420c-8348-6099eb77e4aa"
U2 = "b862c586-8614-483c-b5e6-82810f70cac0"
VIDEO_FIXTURES = [f"{ANCHORS}/ndjson/video_import{s}.json" for s in ("", "_global_key", "_name_only")]


def written(records: list[Record]) -> list[dict[str, Any]]:
    buffer = io.BytesIO()
    report = lb.write(items_of(records), buffer)
    assert report.losses == [] and report.annotations == len(records)
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


def split(items: list[Any]) -> tuple[list[Record], list[Problem]]:
    return records_of(items)


def line(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"uuid": U1, "dataRow": {"id": "ckrazctum0z8a0ybc0b0o0g0v"}, "name": "box"}
    base.update(fields)
    return base


# ------------------------------------------------------------------ fixtures


@pytest.mark.parametrize("path", FIXTURES, ids=[Path(f).name for f in FIXTURES])
def test_fixture_writes_back_equal_to_input(path: str) -> None:
    source = Path(path)
    records, problems = split(list(lb.read(source)))
    assert not problems
    assert_same_ndjson(written(records), json.loads(source.read_text()))


def test_pretty_printed_single_object_fixture_reads_as_a_list() -> None:
    # This fixture is one pretty-printed object, neither NDJSON nor an array: hand it over as a list of dicts.
    source = Path(f"{ANCHORS}/derived/checklist_double_nested_ndjson_from_test_checklist.json")
    value = json.loads(source.read_text())
    records, problems = split(list(lb.read([value])))
    assert not problems
    answer = records[0].annotation
    assert isinstance(answer, ClassificationAnnotation) and answer.uuid is None
    assert_same_ndjson(written(records), [value])


@pytest.mark.parametrize("path", VIDEO_FIXTURES, ids=[Path(f).name for f in VIDEO_FIXTURES])
def test_video_fixture_frame_zero_is_the_one_problem(path: str) -> None:
    # The SDK's video fixture has a classification range starting at frame 0; Labelbox frames are 1-based.
    source = Path(path)
    items = list(lb.read(source))
    records, problems = split(items)
    assert [(p.location.path, p.value) for p in problems] == [("[1].frames[0].start", 0)]
    assert problems[0].uuid == "d009925d-91a3-4f67-abd9-753453f5a584"
    expected = [v for i, v in enumerate(json.loads(source.read_text())) if i != 1]
    assert_same_ndjson(written(records), expected)
    tracked = [r.annotation for r in records if isinstance(r.annotation, TrackedObject)]
    assert [k.frame for k in tracked[0].keyframes] == [0, 4, 7]  # wire frames 1, 5, 8
    ranged = next(r.annotation for r in records if isinstance(r.annotation, ClassificationAnnotation))
    assert ranged.frames == (FrameRange(29, 34), FrameRange(49, 50))


def test_referee_roundtrip_fixture_output_equals_our_read_write() -> None:
    source = Path(f"{ANCHORS}/referee/labelbox-5.2.1_roundtrip.json")
    fixture = json.loads(source.read_text())
    records, problems = split(list(lb.read(fixture["input"])))
    assert not problems
    assert_same_ndjson(written(records), fixture["output"], ordered=False)


def test_read_model_values() -> None:
    source = Path(f"{ANCHORS}/referee/labelbox-5.2.1_roundtrip.json")
    records, _ = split(list(lb.read(json.loads(source.read_text())["input"])))
    polyline, png_mask, uri_mask, dicom_mask = (r.annotation for r in records)
    assert isinstance(polyline, TrackedObject) and polyline.group is PlaneGroup.AXIAL
    assert polyline.keyframes[1] == Keyframe(19, Line((Point(10, 10), Point(300, 300))))
    assert records[0].data_row == DataRowRef(global_key="study-1/series-1")
    assert isinstance(png_mask, ObjectAnnotation) and isinstance(png_mask.geometry, Mask)
    assert png_mask.geometry.color == (1, 1, 1) and png_mask.geometry.source.png is not None
    assert isinstance(uri_mask, ObjectAnnotation) and uri_mask.geometry == Mask(
        RasterSource(uri="https://example.org/mask.png"), (255, 0, 0)
    )
    assert isinstance(dicom_mask, FrameMasks)
    assert dicom_mask.frames == (FrameMask(0, RasterSource(uri="https://example.org/f1.png")),)
    assert dicom_mask.instances == (MaskInstance((255, 255, 255), "segmentation_mask_dicom"),)


def test_mask_variants_write_as_labelbox_spells_them() -> None:
    binary = encode_png_binary(np.eye(3, dtype=bool))
    composite = encode_png_composite(np.full((2, 2, 3), 200, np.uint8))
    row = DataRowRef(id="row")
    masks = [
        Mask(RasterSource(uri="https://x/m.png"), (1, 2, 3)),
        Mask(RasterSource(png=binary), (1, 1, 1)),
        Mask(RasterSource(png=composite), (200, 200, 200)),
    ]
    out = written([Record(row, ObjectAnnotation(U1, m, "m")) for m in masks])
    assert out[0]["mask"] == {"instanceURI": "https://x/m.png", "colorRGB": [1, 2, 3]}
    assert out[1]["mask"] == {"png": base64.b64encode(binary).decode()}
    # A composite mask is written as the SDK writes it: a binary png of the pixels of its colour.
    assert set(out[2]["mask"]) == {"png"}
    again, problems = split(list(lb.read(out)))
    assert not problems and [r.annotation.geometry for r in again[:2]] == masks[:2]  # type: ignore[union-attr]
    third = again[2].annotation.geometry  # type: ignore[union-attr]
    assert third.color == (1, 1, 1) and decode_png_binary(third.source.png).all()


def test_checklist_answers_key_and_bbox_values() -> None:
    records, problems = split(
        list(
            lb.read(
                [
                    line(answers=[{"name": "a"}], name="q"),
                    line(bbox={"top": 28, "left": 38, "height": 41, "width": 43}),
                    line(polygon=[{"x": 0, "y": 0}, {"x": 2, "y": 0}, {"x": 2, "y": 2}]),
                ]
            )
        )
    )
    assert not problems
    assert records[0].annotation.answer == Checklist((ClassificationAnswer("a"),))  # type: ignore[union-attr]
    assert records[1].annotation.geometry == Rectangle(Point(38, 28), Point(81, 69))  # type: ignore[union-attr]
    assert written(records[2:])[0]["polygon"][-1] == {"x": 0.0, "y": 0.0}  # closed on write


# ------------------------------------------------------------------ bad input


GOOD = orjson.dumps(line(bbox={"top": 1, "left": 2, "height": 3, "width": 4}))


@pytest.mark.parametrize(
    ("bad", "path", "value", "words"),
    [
        (b'{"uuid": "x", "dataRow": ', None, '{"uuid": "x", "dataRow":', "not valid JSON"),
        (
            orjson.dumps(line(dataRow={"id": "a", "globalKey": "b"}, point={"x": 1, "y": 2})),
            "dataRow",
            {"id": "a", "globalKey": "b"},
            "exactly one of id and globalKey",
        ),
        (
            orjson.dumps(
                line(
                    segments=[
                        {
                            "keyframes": [
                                {"frame": 1, "point": {"x": 1, "y": 2}},
                                {"frame": 2, "line": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": "12", "y": 4}]},
                            ]
                        }
                    ]
                )
            ),
            "segments[0].keyframes[1].line[2].x",
            "12",
            "must be a number",
        ),
        (orjson.dumps(line(mask={"rle": [1, 2]})), "mask", {"rle": [1, 2]}, "needs one of png"),
        (orjson.dumps(line(point={"x": 1, "y": 2}, uuid="nope")), "uuid", "nope", "not a valid UUID"),
        (orjson.dumps(line(point={"x": 1})), "point", {"x": 1}, "missing y"),
        (orjson.dumps(line(hello=1)), None, None, "no annotation found"),
        (b'"a string"', None, "a string", "expected a JSON object"),
        (orjson.dumps(line(groupKey="oblique", segments=[])), "groupKey", "oblique", "groupKey must be one of"),
    ],
)
def test_bad_line_is_one_located_problem_and_the_rest_is_read(
    bad: bytes, path: str | None, value: Any, words: str
) -> None:
    data = b"\n".join([GOOD, bad, GOOD]) + b"\n"
    records, problems = split(list(lb.read(data)))
    assert len(records) == 2 and len(problems) == 1
    problem = problems[0]
    assert problem.location.line == 2
    assert problem.location.path == path
    assert problem.value == value
    assert words in problem.message
    if bad.startswith(b'{"uuid":"' + U1.encode()):
        assert problem.uuid == U1 and problem.data_row is not None


def test_duplicate_keys_take_the_last_value() -> None:
    data = GOOD[:-1] + b', "name": "second"}'
    [record], _ = split(list(lb.read(data)))
    assert record.annotation.name == "second"  # type: ignore[union-attr]


def test_problem_in_json_array_names_the_index() -> None:
    data = b"[" + GOOD + b"," + orjson.dumps(line(point={"x": True, "y": 1})) + b"]"
    records, [problem] = split(list(lb.read(data)))
    assert len(records) == 1
    assert (problem.location.line, problem.location.path, problem.value) == (1, "[1].point.x", True)


def test_one_bad_line_in_ten_thousand(tmp_path: Path) -> None:
    lines = [GOOD] * 10_000
    lines[6_789] = orjson.dumps(line(bbox={"top": 1, "left": "2", "height": 3, "width": 4}))
    target = tmp_path / "big.ndjson"
    target.write_bytes(b"\n".join(lines) + b"\n")
    records, problems = split(list(lb.read(target)))
    assert len(records) == 9_999
    assert [(p.location.line, p.location.path, p.value) for p in problems] == [(6_790, "bbox.left", "2")]
    assert problems[0].location.file == str(target)


# ------------------------------------------------------------------ fuzz and round trips


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
labelbox_keys = st.sampled_from(
    [
        "uuid",
        "dataRow",
        "name",
        "schemaId",
        "bbox",
        "polygon",
        "line",
        "point",
        "mask",
        "answer",
        "answers",
        "segments",
        "masks",
        "relationship",
        "groupKey",
        "classifications",
        "confidence",
        "customMetrics",
        "frames",
    ]
)
near_labelbox = st.dictionaries(labelbox_keys, json_values, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    for item in lb.read(data):
        assert isinstance(item, LabeledItem | Problem)
    lb.detect(data)


@settings(max_examples=200)
@given(st.lists(json_values | near_labelbox, max_size=5))
def test_random_json_values_never_raise(values: list[Any]) -> None:
    items = list(lb.read(values))
    assert len(items) == len(values)
    lb.detect(values)


coords = st.integers(-2000, 20000).map(lambda v: v / 4)  # exact in binary: a bbox's width survives a round trip
points = st.builds(Point, coords, coords)
names = st.text("abcdefgh_ ", min_size=1, max_size=8).filter(str.strip)
uuids = st.uuids(version=4).map(str)
conf = st.none() | st.floats(0, 1)
metrics = st.lists(st.builds(CustomMetric, names, st.floats(-1e6, 1e6)), max_size=2).map(tuple)
frame_ranges = st.tuples(st.integers(0, 50), st.integers(0, 50)).map(lambda t: FrameRange(min(t), max(t)))


def _answers(children: st.SearchStrategy[tuple[ClassificationAnnotation, ...]]) -> st.SearchStrategy[Any]:
    return st.builds(ClassificationAnswer, names, st.none(), conf, metrics, children)


def _classification(depth: int) -> st.SearchStrategy[ClassificationAnnotation]:
    children = st.just(()) if depth == 0 else _classifications(depth - 1)
    answer = st.one_of(
        st.builds(Text, st.text(st.characters(blacklist_characters="\x00"), max_size=10)),  # NUL: never imported
        st.builds(Radio, _answers(children)),
        st.builds(Checklist, st.lists(_answers(children), min_size=1, max_size=2).map(tuple)),
    )
    return st.builds(ClassificationAnnotation, answer, names, confidence=conf)


def _classifications(depth: int) -> st.SearchStrategy[tuple[ClassificationAnnotation, ...]]:
    return st.lists(_classification(depth), max_size=2).map(tuple)


geometries = st.one_of(
    st.builds(Rectangle, points, points),
    st.lists(points, min_size=2, max_size=5).map(lambda p: Line(tuple(p))),
    st.tuples(points, points, points).filter(lambda p: len(set(p)) == 3).map(Polygon),
    points,
    st.builds(Mask, st.builds(RasterSource, uri=st.just("https://example.org/m.png")), st.just((9, 8, 7))),
    st.just(Mask(RasterSource(png=encode_png_binary(np.eye(2, dtype=bool))), (1, 1, 1))),
)


def _track(group: PlaneGroup | None) -> st.SearchStrategy[TrackedObject]:
    shapes = st.lists(points, min_size=2, max_size=3).map(lambda p: Line(tuple(p)))
    if group is None:
        shapes = shapes | points | st.builds(Rectangle, points, points)
    frames = st.lists(st.integers(0, 40), min_size=1, max_size=4, unique=True).map(sorted)
    segment = st.builds(
        lambda fs, gs: Segment(tuple(Keyframe(f, g) for f, g in zip(fs, gs, strict=False))),
        frames,
        st.tuples(shapes, shapes, shapes, shapes),
    )
    return st.builds(
        TrackedObject, uuids, st.lists(segment, min_size=1, max_size=2).map(tuple), names, group=st.just(group)
    )


annotations = st.one_of(
    st.builds(
        ObjectAnnotation,
        uuids,
        geometries,
        names,
        confidence=conf,
        custom_metrics=metrics,
        classifications=_classifications(2),
    ),
    st.builds(
        ClassificationAnnotation,
        st.builds(Text, st.text(st.characters(blacklist_characters="\x00"), max_size=5)),
        names,
        uuid=uuids,
        frames=st.lists(frame_ranges, max_size=2).map(tuple),
    ),
    _classification(2),
    _track(None),
    _track(PlaneGroup.AXIAL),
    st.builds(
        FrameMasks,
        uuids,
        st.lists(st.integers(0, 30), min_size=1, max_size=3, unique=True).map(
            lambda fs: tuple(FrameMask(f, RasterSource(uri=f"https://example.org/{f}.png")) for f in fs)
        ),
        st.lists(st.builds(MaskInstance, st.tuples(*[st.integers(0, 255)] * 3), names), min_size=1, max_size=2).map(
            tuple
        ),
        st.sampled_from([None, *PlaneGroup]),
    ),
    st.builds(Relationship, uuids, uuids, uuids, names, bidirectional=st.booleans()),
)
data_rows = st.one_of(st.builds(DataRowRef, id=names), st.builds(DataRowRef, global_key=names))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.builds(Record, data_rows, annotations), max_size=4))
def test_generated_records_round_trip(records: list[Record]) -> None:
    buffer = io.BytesIO()
    assert lb.write(items_of(records), buffer).annotations == len(records)
    again, problems = split(list(lb.read(buffer.getvalue())))
    assert not problems
    assert [(r.data_row, r.annotation) for r in again] == [(r.data_row, r.annotation) for r in records]


def test_png_masks_are_checked_from_their_header_only() -> None:
    """Reading never decodes a mask: a PNG whose header says it is too large fails its line at once; its
    pixels (0/1 or not) are the import's to judge, once the line passed its cheaper checks."""
    png = base64.b64encode(encode_png_binary(np.eye(2, dtype=bool))).decode()
    grey255 = base64.b64encode(encode_png_composite(np.full((2, 2, 3), 255, np.uint8))).decode()
    huge = bytearray(encode_png_binary(np.eye(2, dtype=bool)))
    huge[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")  # the IHDR size, nothing else
    lines = [line(mask={"png": png}), line(mask={"png": grey255}), line(mask={"png": base64.b64encode(huge).decode()})]
    records, problems = split(list(lb.read(lines)))
    assert len(records) == 2
    [problem] = problems
    assert problem.location.path == "[2].mask.png"
    assert "masks larger than 9000 px on a side are rejected" in problem.message


def test_a_byte_order_mark_before_the_first_line_is_not_content(tmp_path: Path) -> None:
    line = {
        "uuid": "b862c586-8614-483c-b5e6-82810f70cac0",
        "dataRow": {"globalKey": "k"},
        "name": "p",
        "point": {"x": 1, "y": 2},
    }
    for text in (json.dumps(line) + "\n", json.dumps([line], indent=2)):
        path = tmp_path / "bom.ndjson"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        [item] = list(get_format("labelbox").read(path))
        assert not isinstance(item, Problem), item
        assert get_format("labelbox").detect(path).confidence > 0.5


def test_an_rle_mask_too_large_fails_its_line_before_any_pixel_is_allocated() -> None:
    big = line(mask={"counts": [20000 * 20000], "size": [20000, 20000]})
    records, problems = split(list(lb.read([big, line(mask={"counts": [1, 3], "size": [2, 2]})])))
    assert len(records) == 1
    [problem] = problems
    assert problem.location.path == "[0].mask.size" and problem.value == [20000, 20000]
    assert "masks larger than 9000 px on a side are rejected" in problem.message
