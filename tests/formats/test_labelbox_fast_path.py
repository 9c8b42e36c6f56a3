"""The import fast path gives exactly what the checked path gives, for any line.

A line the fast path takes becomes an item holding an ``EncodedAnnotation`` whose ``decode()`` equals the
checked path's annotation and whose ``payload`` equals the codec's storage form of it; every other line
goes through the checked path unchanged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from labelport.formats.base import Problem, ReadContext
from labelport.formats.labelbox import ndjson
from labelport.model import EncodedAnnotation, LabeledItem
from labelport.model.codec import to_json

UUID = "0b8fd7ad-6c2e-4bd4-9f0b-7b0b55d0c4f1"
CHECKED = ReadContext(options={"fast": False})


def plain(**fields: Any) -> dict[str, Any]:
    return {"uuid": UUID, "dataRow": {"globalKey": "row-1"}, "name": "box", **fields}


def encoded(item: LabeledItem | Problem) -> EncodedAnnotation | None:
    if isinstance(item, Problem):
        return None
    annotation = item.labels[0].annotations[0]
    return annotation if isinstance(annotation, EncodedAnnotation) else None


def same_as_read(values: list[Any]) -> list[LabeledItem | Problem]:
    """Read ``values`` both ways and check they agree; returns the fast path's items."""
    fast = list(ndjson.read(values))
    slow = list(ndjson.read(values, CHECKED))
    assert len(fast) == len(slow)
    for got, want in zip(fast, slow, strict=True):
        annotation = encoded(got)
        if annotation is not None:
            assert isinstance(got, LabeledItem) and isinstance(want, LabeledItem), (got, want)
            assert got.data_row == want.data_row and got.location == want.location
            model = want.labels[0].annotations[0]
            assert annotation.decode() == model
            # As JSON, so 1 and 1.0 differ: the stored bytes are the same whichever path wrote them.
            sort = orjson.OPT_SORT_KEYS
            assert orjson.dumps(annotation.payload, option=sort) == orjson.dumps(to_json(model), option=sort)
            assert (annotation.uuid, annotation.name, annotation.schema_id, annotation.confidence) == (
                model.uuid,  # type: ignore[union-attr]
                model.name,  # type: ignore[union-attr]
                model.schema_id,  # type: ignore[union-attr]
                model.confidence,  # type: ignore[union-attr]
            )
            assert annotation.geometry == type(model.geometry).__name__  # type: ignore[union-attr]
        else:
            assert got == want
    return fast


def test_plain_shapes_take_the_fast_path() -> None:
    box = {"top": 10.0, "left": 20.0, "height": 30.0, "width": 40.0}
    square = [{"x": 0.0, "y": 0.0}, {"x": 4.0, "y": 0.0}, {"x": 4.0, "y": 4.0}]
    items = same_as_read(
        [
            plain(bbox=box, confidence=0.5),
            plain(polygon=square, name=None, schemaId="ckpoly"),
            plain(line=[{"x": 1, "y": 2}, {"x": 3, "y": 4}]),  # ints are stored as floats, as the model does
            plain(point={"x": 1.5, "y": 2.5}, dataRow={"id": "ckrow"}),
        ]
    )
    annotations = [encoded(i) for i in items]
    assert [a.geometry for a in annotations if a is not None] == ["Rectangle", "Polygon", "Line", "Point"]
    polygon = annotations[1]
    assert polygon is not None
    assert polygon.payload["geometry"]["points"][-1] == square[0]  # closed as the model closes it
    assert square[-1] == {"x": 4.0, "y": 4.0}  # the input is not changed
    first = items[0]
    assert isinstance(first, LabeledItem) and first.data_row.global_key == "row-1"


def test_anything_else_takes_the_model_path() -> None:
    box = {"top": 10.0, "left": 20.0, "height": 30.0, "width": 40.0}
    items = same_as_read(
        [
            plain(bbox=box, classifications=[]),  # a key the fast path does not know
            plain(bbox={**box, "width": -4.0}),  # normalised by the model
            plain(bbox=box, uuid=UUID.upper()),  # normalised by the model
            plain(bbox=box, uuid=12),
            plain(bbox=box, name=" "),  # an error the model words
            plain(bbox=box, confidence=1.5),
            plain(bbox=box, dataRow={"id": "a", "globalKey": "b"}),
            plain(bbox=box, polygon=[{"x": 0.0, "y": 0.0}] * 3),
            plain(polygon=[{"x": 0.0, "y": 0.0}] * 3),
            plain(line=[{"x": 1.0, "y": True}, {"x": 3.0, "y": 4.0}]),
            plain(point={"x": 10**400, "y": 1.0}),
            plain(point={"x": math.nan, "y": 1.0}),
            plain(line=[{"x": 1.0, "y": 2.0}]),
        ]
    )
    assert not any(encoded(i) for i in items)
    assert sum(isinstance(i, Problem) for i in items) == 10


def test_file_input_locates_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    box = {"top": 1.0, "left": 2.0, "height": 3.0, "width": 4.0}
    path.write_bytes(b"\n".join(orjson.dumps(v) for v in (plain(bbox=box), plain(bbox={}))) + b"\n")
    fast = list(ndjson.read(path))
    assert isinstance(fast[0], LabeledItem) and encoded(fast[0]) is not None and fast[0].location.line == 1
    assert fast[0].location.file == str(path)
    assert isinstance(fast[1], Problem) and fast[1].location.line == 2
    from_bytes = list(ndjson.read(path.read_bytes()))
    assert [i.location.line for i in from_bytes] == [1, 2]
    assert isinstance(from_bytes[0], LabeledItem) and from_bytes[0].location.file is None
    a, b = encoded(from_bytes[0]), encoded(fast[0])
    assert a is not None and b is not None and a.payload == b.payload and a.decode() == b.decode()


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**60), 2**60),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 10**400, True, None, "1"]),
)
point_dicts = st.one_of(
    st.fixed_dictionaries({"x": numbers, "y": numbers}),
    st.dictionaries(st.sampled_from(["x", "y", "z"]), numbers, max_size=3),
)
simple_points = st.fixed_dictionaries({"x": st.integers(0, 3).map(float), "y": st.integers(0, 3).map(float)})
point_lists = st.lists(st.one_of(simple_points, point_dicts), max_size=6)
boxes = st.one_of(
    st.fixed_dictionaries({"top": numbers, "left": numbers, "height": numbers, "width": numbers}),
    st.dictionaries(st.sampled_from(["top", "left", "height", "width", "x"]), numbers, max_size=5),
)
texts = st.one_of(st.none(), st.sampled_from(["box", " ", "", "poly"]), st.integers())
rows = st.one_of(
    st.fixed_dictionaries({"globalKey": texts}),
    st.fixed_dictionaries({"id": texts}),
    st.dictionaries(st.sampled_from(["id", "globalKey", "other"]), texts, max_size=3),
    texts,
)
# (no missing uuid: the model path gives those a random one, so the two reads could not be compared)
uuids = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.integers())
geometry_fields = st.dictionaries(
    st.sampled_from(["bbox", "polygon", "line", "point"]),
    st.one_of(boxes, point_lists, point_dicts, numbers),
    min_size=0,
    max_size=2,
)
good_numbers = st.one_of(st.integers(-8, 8), st.integers(-8, 8).map(lambda v: v / 2))
good_points = st.fixed_dictionaries({"x": good_numbers, "y": good_numbers})
good_geometries = st.one_of(
    st.fixed_dictionaries(
        {
            "bbox": st.fixed_dictionaries(
                {"top": good_numbers, "left": good_numbers, "height": good_numbers, "width": good_numbers}
            )
        }
    ),
    st.fixed_dictionaries({"polygon": st.lists(good_points, min_size=2, max_size=6)}),
    st.fixed_dictionaries({"line": st.lists(good_points, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"point": good_points}),
)
good_lines = st.builds(
    lambda base, geometry: {**base, **geometry},
    st.fixed_dictionaries(
        {"uuid": st.uuids().map(str), "dataRow": st.sampled_from([{"globalKey": "k"}, {"id": "i"}])},
        optional={"name": st.sampled_from(["box", "poly"]), "schemaId": st.just("ck1"), "confidence": st.floats(0, 1)},
    ),
    good_geometries,
)
noisy_lines = st.builds(
    lambda base, geometry, extra: {**base, **geometry, **extra},
    st.fixed_dictionaries(
        {"uuid": uuids, "dataRow": rows},
        optional={"name": texts, "schemaId": texts, "confidence": numbers},
    ),
    geometry_fields,
    st.dictionaries(st.sampled_from(["classifications", "messageId", "answer"]), st.just([]), max_size=1),
)
lines = st.one_of(good_lines, noisy_lines)


@settings(max_examples=800, deadline=None)
@given(st.lists(lines, max_size=4))
def test_fast_path_agrees_with_read_on_any_line(values: list[dict[str, Any]]) -> None:
    same_as_read(values)
