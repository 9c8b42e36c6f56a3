"""Encord label rows and ontologies: what the fixtures hold, the legacy forms, what is written, bad input.

Values are worked out from the raw fixture files (coordinates times the image size, hashes as written) or
from Encord's own COCO export of the same rows; the SDK itself referees in tests/referee.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelport.formats import get_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.formats.encord.hashes import hash_of_uuid, uuid_of_hash
from labelport.formats.encord.ontology import load_ontology, match_ontology, read_ontology, write_ontology
from labelport.formats.labelbox.ontology import from_normalized
from labelport.imaging import decode_coco_rle
from labelport.model import (
    Checklist,
    ClassificationAnnotation,
    FrameMasks,
    LabeledItem,
    Mask,
    ObjectAnnotation,
    Polygon,
    Radio,
    Rectangle,
    RotatedRectangle,
    Skeleton,
    Text,
    TrackedObject,
    decoded,
    normalise_uuid,
)
from labelport.model.ontology import ClassificationType, ToolType

from ..fixtures import ENCORD
from .conformance import items_of

ROWS = get_format("encord_label_rows")


def read(path: Path | bytes | list[dict[str, Any]], ontology: Path | None = None, **options: Any) -> list[Any]:
    model = load_ontology(ontology).ontology if ontology is not None else None
    return list(ROWS.read(path, ReadContext(ontology=model, options=options)))


def annotations_of(item: LabeledItem) -> dict[str, Any]:
    """An item's annotations by the hash Encord named them with."""
    return {hash_of_uuid(decoded(a).uuid or ""): decoded(a) for label in item.labels for a in label.annotations}


def raw(path: str) -> Any:
    return json.loads((ENCORD / path).read_text())


# --- ontologies ------------------------------------------------------------------------------------------


def test_every_shape_of_the_all_types_ontology_is_read_or_named_as_left_out() -> None:
    result = load_ontology(ENCORD / "ontology/all_types_structure.json")
    tools = {t.name: t for t in result.ontology.tools}
    assert {n: t.type for n, t in tools.items()} == {
        "Box": ToolType.BBOX,
        "Polygon": ToolType.POLYGON,
        "Polyline": ToolType.LINE,
        "Keypoint Dynamic Answers": ToolType.POINT,
        "Nested Box": ToolType.BBOX,
        "Deeply Nested Polygon": ToolType.POLYGON,
        "cone object": ToolType.SKELETON,
    }
    assert sorted(o.kind for o in result.omitted) == [
        "audio",
        "audio",
        "audio",
        "cuboid",
        "cuboid_2d",
        "segmentation",
        "text",
    ]
    assert all(o.reason for o in result.omitted)
    # Nested to depth four: radio -> option -> radio -> option, every hash kept as the Encord id.
    polygon = tools["Deeply Nested Polygon"]
    radio = next(c for c in polygon.classifications if c.name == "Radio level 1 ")
    nested = radio.options[1].classifications[0]
    assert (nested.name, nested.type, nested.external_ids.encord) == ("Mood", ClassificationType.CHECKLIST, "ODc666Ay")
    assert [o.external_ids.encord for o in nested.options] == ["MT66665Q3", "Nzg66665E3"]
    dynamic = tools["Keypoint Dynamic Answers"].classifications
    assert [c.dynamic for c in dynamic] == [True, True, True]
    assert [c.global_scope for c in result.ontology.classifications].count(True) == 1


def test_an_ontology_written_back_reads_to_the_same_features() -> None:
    for path in sorted((ENCORD / "ontology").glob("*.json")):
        first = load_ontology(path).ontology
        again = read_ontology(write_ontology(first)).ontology

        def shape(o: Any) -> Any:
            def c(x: Any) -> Any:
                return (
                    x.name,
                    x.type,
                    x.dynamic,
                    x.global_scope,
                    [(p.value, p.label, [c(s) for s in p.classifications]) for p in x.options],
                )

            return (
                [(t.name, t.type, t.color, [c(x) for x in t.classifications]) for t in o.tools],
                [c(x) for x in o.classifications],
            )

        assert shape(again) == shape(first), path.name
        # the hashes a label row names are the same on both
        ids_first = [n.external_ids.encord or n.schema_id for n in first.walk()]
        ids_again = [n.external_ids.encord for n in again.walk()]
        assert ids_again == ids_first, path.name


def test_the_api_envelope_and_empty_or_repeated_names() -> None:
    envelope = load_ontology(ENCORD / "ontology/ontology_blurb.json")
    assert envelope.ontology.name == json.loads((ENCORD / "ontology/ontology_blurb.json").read_text())["title"]
    repeated = load_ontology(ENCORD / "ontology/image_group_ontology.json")
    assert [r.name for r in repeated.renamed] == ["Bin"]
    assert {t.name for t in repeated.ontology.tools} >= {"Bin", "Bin (polygon)"}
    unnamed = load_ontology(ENCORD / "ontology/video_data_1_ontology.json")
    assert [r.reason for r in unnamed.renamed] == ["it has no name: named 'unnamed 7f14717c'"]


def test_a_labelbox_ontology_and_an_encord_one_describe_the_same_features_by_name_and_kind() -> None:
    encord = load_ontology(ENCORD / "ontology/skeleton_coordinates_ontology.json").ontology
    labelbox = from_normalized(
        "lb",
        {
            "tools": [{"tool": "skeleton", "name": "Square"}, {"tool": "polygon", "name": "Species"}],
            "classifications": [
                {"type": "radio", "name": "Species", "options": [{"value": "Cat"}, {"value": "Dog"}, {"value": "Cow"}]}
            ],
        },
    )
    linked = match_ontology(labelbox, encord)
    assert linked.tools[0].external_ids.encord == "lwsBaDE5"
    assert linked.tools[1].external_ids.encord is None  # a polygon named Species is not the radio Species
    species = linked.classifications[0]
    assert species.external_ids.encord == "RiMTY4XH"
    assert [o.external_ids.encord for o in species.options] == ["1dCoCi8n", "Z9Bb73XM", None]
    # names and schema ids are the Labelbox ontology's own
    assert [t.schema_id for t in linked.tools] == [t.schema_id for t in labelbox.tools]


# --- what the fixtures hold ------------------------------------------------------------------------------


def test_an_image_row_in_pixels_with_nested_answers() -> None:
    [item] = [i for i in read(ENCORD / "labels/native_image_data.json", ENCORD / "ontology/all_ontology_types.json")]
    row = raw("labels/native_image_data.json")
    unit = next(iter(row["data_units"].values()))
    width, height = unit["width"], unit["height"]
    assert item.data_row.names == (row["data_hash"], row["data_title"])
    found = annotations_of(item)
    for obj in unit["labels"]["objects"]:
        annotation = found[obj["objectHash"]]
        assert isinstance(annotation, ObjectAnnotation)
        if obj["shape"] == "bounding_box":
            box = obj["boundingBox"]
            assert isinstance(annotation.geometry, Rectangle)
            corners = [
                annotation.geometry.start.x,
                annotation.geometry.start.y,
                annotation.geometry.end.x,
                annotation.geometry.end.y,
            ]
            wanted = [
                box["x"] * width,
                box["y"] * height,
                (box["x"] + box["w"]) * width,
                (box["y"] + box["h"]) * height,
            ]
            assert corners == pytest.approx(wanted)
        else:
            points = [v for p in obj["polygon"].values() for v in (p["x"] * width, p["y"] * height)]
            assert isinstance(annotation.geometry, Polygon)
            assert [v for p in annotation.geometry.points[:-1] for v in (p.x, p.y)] == pytest.approx(points)
    # A text nested under a radio option of a classification, from the older per-frame placement
    classification = found["3AqiIPrF"]
    assert isinstance(classification, ClassificationAnnotation) and isinstance(classification.answer, Radio)
    answer = classification.answer.answer
    assert answer.schema_id == "MjUzMTg1"
    assert [(c.name, c.answer) for c in answer.classifications] == [("cl 1 2 text", Text("The moon is pretty"))]
    # a checklist answered with nothing is unanswered, as the SDK has it
    assert "37vDK5u0" not in found


def test_a_video_row_tracks_objects_across_frames_with_dynamic_answers() -> None:
    [item] = read(
        ENCORD / "labels/video_with_dynamic_classifications.json",
        ENCORD / "ontology/ontology_with_many_dynamic_classifications.json",
    )
    row = raw("labels/video_with_dynamic_classifications.json")
    frames: dict[str, list[int]] = {}
    for frame, labels in next(iter(row["data_units"].values()))["labels"].items():
        for obj in labels["objects"]:
            frames.setdefault(obj["objectHash"], []).append(int(frame))
    found = annotations_of(item)
    for object_hash, wanted in frames.items():
        track = found[object_hash]
        assert isinstance(track, TrackedObject)
        assert [k.frame for k in track.keyframes] == sorted(wanted)
    actions = row["object_actions"]
    for object_hash, entry in actions.items():
        track = found[object_hash]
        for action in entry["actions"]:
            spans = [
                [r.start, r.end]
                for c in track.classifications
                if c.schema_id == action["featureHash"]
                for r in c.frames
            ]
            for start, end in action["range"]:
                assert any(s <= start and end <= e for s, e in spans), (action, spans)


def test_classifications_with_a_range_without_answer_metadata_and_global() -> None:
    [with_meta] = read(ENCORD / "labels/video_with_classifications.json", ENCORD / "ontology/all_types_structure.json")
    [without] = read(
        ENCORD / "labels/video_with_classifications_without_answer_meta.json",
        ENCORD / "ontology/all_types_structure.json",
    )
    for item in (with_meta, without):
        [classification] = item.labels[0].annotations
        assert isinstance(classification, ClassificationAnnotation)
        assert [(r.start, r.end) for r in classification.frames] == [(0, 1)]
    [glob] = read(ENCORD / "labels/global_classification_labels.json", ENCORD / "ontology/all_types_structure.json")
    [classification] = glob.labels[0].annotations
    assert isinstance(classification, ClassificationAnnotation) and classification.frames == ()
    assert isinstance(classification.answer, Checklist)


def test_skeleton_visibility_and_the_older_boolean_flags() -> None:
    [item] = read(ENCORD / "labels/skeleton_coordinates.json", ENCORD / "ontology/skeleton_coordinates_ontology.json")
    expected = raw("expected/skeleton_expected_coordinates.json")
    [skeleton] = [a for a in annotations_of(item).values() if isinstance(a, ObjectAnnotation)]
    assert isinstance(skeleton.geometry, Skeleton)
    assert [(n.name, n.point.x / 500, n.point.y / 375, n.visible) for n in skeleton.geometry.nodes] == [
        (p["name"], pytest.approx(p["x"]), pytest.approx(p["y"]), p["visibility"] == "visible")
        for p in expected.values()
    ]
    # the object's answers are keyed by another hash: dangling, skipped
    assert len(item.labels[0].annotations) == 1
    older = next(i for i in read(ENCORD / "coco_exporter/labels_list.json") if isinstance(i, LabeledItem))
    rows = raw("coco_exporter/labels_list.json")
    flags = {
        o["objectHash"]: [
            not any(p.get(k) for k in ("invisible", "occluded", "selfOccluded")) for p in o["skeleton"].values()
        ]
        for u in rows[0]["data_units"].values()
        for f in u["labels"].values()
        for o in f["objects"]
        if o["shape"] == "skeleton"
    }
    for object_hash, visible in flags.items():
        geometry = annotations_of(older)[object_hash].geometry
        assert [n.visible for n in geometry.nodes] == visible
    assert False in next(iter(flags.values()))


def test_bitmasks_equal_encords_own_coco_export() -> None:
    """Each bitmask of the COCO exporter's rows, decoded, has the area and box Encord's COCO export gives it, and
    its pixels equal the COCO RLE decoded (row-major Encord string vs column-major COCO counts)."""
    coco = raw("coco_exporter/coco_expected.json")
    rows = [i for i in read(ENCORD / "coco_exporter/labels_list.json") if isinstance(i, LabeledItem)]
    ours: list[tuple[str, float, list[float], Any]] = []
    for item in rows:
        for annotation in item.labels[0].annotations:
            model = decoded(annotation)
            if isinstance(model, ObjectAnnotation) and isinstance(model.geometry, Mask):
                masks = [(model.uuid, model.geometry.source.pixels)]
            elif isinstance(model, TrackedObject) and isinstance(model.keyframes[0].geometry, Mask):
                masks = [(model.uuid, k.geometry.source.pixels) for k in model.keyframes]  # type: ignore[union-attr]
            elif isinstance(model, FrameMasks):
                masks = [(model.uuid, f.source.pixels) for f in model.frames]
            else:
                continue
            for uuid, pixels in masks:
                assert pixels is not None
                array = np.asarray(pixels.array())
                ys, xs = np.nonzero(array)
                box = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
                ours.append((hash_of_uuid(uuid), float(array.sum()), box, array))
    theirs = [a for a in coco["annotations"] if isinstance(a.get("segmentation"), dict)]
    assert len(ours) == len(theirs) == 9
    for annotation in theirs:
        track = annotation["attributes"]["encord_track_uuid"]
        size = annotation["segmentation"]["size"]
        size = json.loads(size) if isinstance(size, str) else size
        coco_mask = decode_coco_rle({"size": size, "counts": annotation["segmentation"]["counts"]})
        match = [o for o in ours if o[0] == track and o[1] == annotation["area"] and o[2] == annotation["bbox"]]
        assert match, (track, annotation["area"], annotation["bbox"])
        assert any(np.array_equal(o[3], coco_mask) for o in match)


# --- what is written --------------------------------------------------------------------------------------


def written(items: list[LabeledItem], ontology: Path | None = None) -> list[dict[str, Any]]:
    model = load_ontology(ontology).ontology if ontology is not None else None
    buffer = io.BytesIO()
    report = ROWS.write(items, buffer, WriteContext(ontology=model))
    assert report.losses == [] and report.problems == []
    rows: list[dict[str, Any]] = json.loads(buffer.getvalue())
    return rows


def test_the_union_both_sdk_generations_read_is_written() -> None:
    ontology = ENCORD / "ontology/all_ontology_types.json"
    items = items_of(
        ROWS, ENCORD / "labels/native_image_data.json", ReadContext(ontology=load_ontology(ontology).ontology)
    )
    [row] = written(items, ontology)
    assert row["branch_name"] == "main" and row["spaces"] == {}
    assert row["created_at"] == "Thu, 09 Feb 2023 14:12:03 UTC"
    unit = next(iter(row["data_units"].values()))
    polygons = [o for o in unit["labels"]["objects"] if o["shape"] == "polygon"]
    assert polygons and all("polygon" in o and "polygons" in o for o in polygons)
    for o in polygons:
        flat = [v for p in o["polygon"].values() for v in (p["x"], p["y"])]
        assert o["polygons"] == [[flat]]
    # every classification is both a per-frame entry and an answer with its range and metadata
    per_frame = {c["classificationHash"] for c in unit["labels"]["classifications"]}
    answers = row["classification_answers"]
    assert per_frame == set(answers) == {"3AqiIPrF", "HVwOV4hB"}
    for answer in answers.values():
        assert answer["range"] == [[0, 0]] and answer["spaces"] == {}
        assert {"createdBy", "createdAt", "manualAnnotation"} <= set(answer)


def test_objects_keep_their_hash_and_features_theirs() -> None:
    ontology = ENCORD / "ontology/video_data_1_ontology.json"
    source = raw("labels/video_data_1.json")
    items = items_of(ROWS, ENCORD / "labels/video_data_1.json", ReadContext(ontology=load_ontology(ontology).ontology))
    [row] = written(items, ontology)

    def objects(r: dict[str, Any]) -> set[tuple[str, str, str, str]]:
        return {
            (frame, o["objectHash"], o["featureHash"], o["shape"])
            for u in r["data_units"].values()
            for frame, labels in u["labels"].items()
            for o in labels["objects"]
        }

    assert objects(row) == objects(source)


# --- bad input: each record fails alone, named ---------------------------------------------------------


def image_row(objects: list[dict[str, Any]], label_hash: str = "row-1") -> dict[str, Any]:
    return {
        "label_hash": label_hash,
        "branch_name": "main",
        "created_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "last_edited_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "data_hash": "dh-1",
        "dataset_hash": "ds",
        "dataset_title": "ds",
        "data_title": "img.png",
        "data_type": "image",
        "label_status": "LABELLED",
        "data_units": {
            "dh-1": {
                "data_hash": "dh-1",
                "data_title": "img.png",
                "data_type": "image/png",
                "data_sequence": 0,
                "width": 8,
                "height": 4,
                "labels": {"objects": objects, "classifications": []},
            }
        },
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
        "unknown_key": {"ignored": True},
    }


BOX = {
    "objectHash": "good0001",
    "featureHash": "boxFNH01",
    "shape": "bounding_box",
    "name": "Box",
    "boundingBox": {"x": 0.125, "y": 0.25, "w": 0.25, "h": 0.5},
}
ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "Box", "color": "#D33115", "shape": "bounding_box", "featureNodeHash": "boxFNH01"},
        {"id": "2", "name": "Mask", "color": "#E27300", "shape": "bitmask", "featureNodeHash": "maskFNH1"},
    ],
    "classifications": [],
}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**BOX, "objectHash": "bad00001", "featureHash": "nope"}, "unknown featureHash 'nope'"),
        (
            {**BOX, "objectHash": "bad00001", "shape": "polygon", "polygon": {}},
            "shape 'polygon' does not match feature 'Box'",
        ),
        (
            {**BOX, "objectHash": "bad00001", "boundingBox": {"x": 1.5, "y": 0, "w": 0.1, "h": 0.1}},
            "boundingBox.x is 1.5, outside 0..1",
        ),
        (
            {
                "objectHash": "bad00001",
                "featureHash": "maskFNH1",
                "shape": "bitmask",
                "bitmask": {"top": 0, "left": 0, "width": 8, "height": 4, "rleString": ":3506:3506"},
            },
            "does not decode to 4 x 8 px",
        ),
        ({**BOX, "objectHash": "bad00001", "shape": "audio"}, "shape 'audio' is not supported"),
    ],
)
def test_a_bad_object_fails_alone_naming_row_frame_hash_and_value(bad: dict[str, Any], message: str) -> None:
    rows = [image_row([BOX, bad]), image_row([{**BOX, "objectHash": "good0002"}], "row-2")]
    model = read_ontology(ONTOLOGY).ontology
    out = list(ROWS.read(rows, ReadContext(ontology=model)))
    problems = [p for p in out if isinstance(p, Problem)]
    items = [i for i in out if isinstance(i, LabeledItem)]
    assert len(problems) == 1, problems
    [problem] = problems
    assert message in problem.message
    assert (
        "label row row-1" in problem.message
        and "frame 0" in problem.message
        and "objectHash bad00001" in problem.message
    )
    assert problem.uuid == uuid_of_hash("bad00001") and problem.data_row is not None
    assert problem.location.path is not None and "objects[1]" in problem.location.path
    assert [sorted(annotations_of(i)) for i in items] == [["good0001"], ["good0002"]]


def test_malformed_json_and_rows_that_are_not_label_rows() -> None:
    out = list(ROWS.read(b'{"label_hash": "a", \n'))
    assert len(out) == 1 and isinstance(out[0], Problem) and "not valid JSON" in out[0].message
    group = list(ROWS.read([{**image_row([]), "data_type": "group"}]))
    assert isinstance(group[0], Problem) and "data_type 'group' is not supported" in group[0].message
    missing = list(ROWS.read([{k: v for k, v in image_row([]).items() if k != "data_units"}]))
    assert isinstance(missing[0], Problem) and "needs 'data_units'" in missing[0].message


def test_match_names_one_side_of_the_row() -> None:
    row = image_row([BOX])
    assert [i.data_row.names for i in ROWS.read([row]) if isinstance(i, LabeledItem)] == [("dh-1", "img.png")]
    only_hash = ROWS.read([row], ReadContext(options={"match": "data_hash"}))
    assert [i.data_row.names for i in only_hash if isinstance(i, LabeledItem)] == [("dh-1",)]
    with pytest.raises(Exception, match="match must be data_hash, data_title or both"):
        list(ROWS.read([row], ReadContext(options={"match": "title"})))


def test_a_slightly_outside_point_is_kept_and_the_tolerance_is_an_option() -> None:
    slightly = {**BOX, "boundingBox": {"x": -0.005, "y": 0.0, "w": 0.5, "h": 1.004}}
    [item] = list(ROWS.read([image_row([slightly])]))
    assert isinstance(item, LabeledItem)
    strict = list(ROWS.read([image_row([slightly])], ReadContext(options={"tolerance": 0.0})))
    assert any(isinstance(p, Problem) and "outside 0..1" in p.message for p in strict)


def test_rotated_boxes_turn_about_their_centre() -> None:
    rotated = {
        "objectHash": "rot00001",
        "featureHash": "r",
        "shape": "rotatable_bounding_box",
        "rotatableBoundingBox": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5, "theta": 30.0},
    }
    [item] = list(ROWS.read([image_row([rotated])]))
    assert isinstance(item, LabeledItem)
    geometry = annotations_of(item)["rot00001"].geometry
    assert geometry == RotatedRectangle(type(geometry.center)(4.0, 2.0), 4.0, 2.0, 30.0)


def test_an_empty_legacy_polygon_with_polygons_reads_the_outer_ring_and_holes_fail() -> None:
    ring = [0.0, 0.0, 0.5, 0.0, 0.5, 0.5]
    obj = {"objectHash": "poly0001", "featureHash": "p", "shape": "polygon", "polygon": {}, "polygons": [[ring]]}
    [item] = list(ROWS.read([image_row([obj])]))
    assert isinstance(item, LabeledItem)
    assert [(p.x, p.y) for p in annotations_of(item)["poly0001"].geometry.points] == [(0, 0), (4, 0), (4, 2), (0, 0)]
    holed = {**obj, "polygons": [[ring, [0.1, 0.1, 0.2, 0.1, 0.2, 0.2]]]}
    out = list(ROWS.read([image_row([holed])]))
    assert any(isinstance(p, Problem) and "1 hole(s)" in p.message for p in out)


def test_reading_the_same_input_twice_gives_the_same_uuids() -> None:
    first = [i for i in read(ENCORD / "labels/image_group.json") if isinstance(i, LabeledItem)]
    second = [i for i in ROWS.read((ENCORD / "labels/image_group.json").read_bytes()) if isinstance(i, LabeledItem)]
    assert [sorted(annotations_of(i)) for i in first] == [sorted(annotations_of(i)) for i in second]


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=14))
def test_a_short_hash_comes_back_from_its_uuid(value: str) -> None:
    uuid = uuid_of_hash(value)
    assert normalise_uuid(uuid) == uuid and hash_of_uuid(uuid) == value


@given(st.uuids(version=4))
def test_a_uuid_is_its_own_hash_and_a_long_hash_a_stable_uuid(value: Any) -> None:
    assert uuid_of_hash(str(value)) == str(value) == hash_of_uuid(str(value))
    long = f"hash-{value}"
    assert uuid_of_hash(long) == uuid_of_hash(long) and hash_of_uuid(uuid_of_hash(long)) == uuid_of_hash(long)


def test_the_fast_path_and_the_checked_path_agree() -> None:
    """Plain image objects the fast path encodes decode to what the checked path builds, and whatever it cannot
    vouch for (out of bounds, a degenerate polygon, holes, answers) takes the checked path and fails the same."""
    from labelport.model import EncodedAnnotation

    objects = [
        BOX,
        {**BOX, "objectHash": "int00001", "boundingBox": {"x": 0, "y": 0, "w": 1, "h": 1}},
        {
            "objectHash": "poly0001",
            "featureHash": "polyFNH1",
            "shape": "polygon",
            "polygon": {"0": {"x": 0.1, "y": 0.1}, "1": {"x": 0.5, "y": 0.1}, "2": {"x": 0.5, "y": 0.6}},
        },
        {
            "objectHash": "poly0002",
            "featureHash": "polyFNH1",
            "shape": "polygon",
            "polygon": [],
            "polygons": [[[0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.1]]],
        },
        {
            "objectHash": "poly0003",
            "featureHash": "polyFNH1",
            "shape": "polygon",
            "polygon": [{"x": 0.1, "y": 0.1}, {"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.5}],
        },
        {
            "objectHash": "line0001",
            "featureHash": "lineFNH1",
            "shape": "polyline",
            "polyline": {"1": {"x": 0.2, "y": 0.2}, "0": {"x": 0.1, "y": 0.1}},
        },
        {
            "objectHash": "pt000001",
            "featureHash": "pointFN1",
            "shape": "point",
            "point": {"0": {"x": 0.25, "y": 0.75}},
            "confidence": 0.5,
        },
        {"objectHash": "pt000002", "featureHash": "pointFN1", "shape": "point", "point": {"0": {"x": 1.5, "y": 0.75}}},
        {**BOX, "objectHash": "box00009", "confidence": 2},
    ]
    ontology = read_ontology(
        {
            "objects": [
                *ONTOLOGY["objects"],
                {"id": "3", "name": "Poly", "shape": "polygon", "featureNodeHash": "polyFNH1"},
                {"id": "4", "name": "Line", "shape": "polyline", "featureNodeHash": "lineFNH1"},
                {"id": "5", "name": "Point", "shape": "point", "featureNodeHash": "pointFN1"},
            ],
            "classifications": [],
        }
    ).ontology
    rows = [image_row(objects)]

    def read(fast: bool) -> tuple[dict[str, Any], list[str]]:
        out = list(ROWS.read(rows, ReadContext(ontology=ontology, options={"fast": fast})))
        items = [i for i in out if isinstance(i, LabeledItem)]
        problems = sorted(p.message for p in out if isinstance(p, Problem))
        return annotations_of(items[0]), problems

    fast, fast_problems = read(True)
    checked, checked_problems = read(False)
    assert fast == checked and fast_problems == checked_problems
    assert len(checked_problems) == 3  # the degenerate polygon, the point outside, the confidence of 2
    [item] = [i for i in ROWS.read(rows, ReadContext(ontology=ontology)) if isinstance(i, LabeledItem)]
    encoded = [a for a in item.labels[0].annotations if isinstance(a, EncodedAnnotation)]
    assert len(encoded) == 6  # the boxes, the polygons of one ring, the line, the point with its confidence


def test_objects_with_answers_take_the_fast_path_in_their_place() -> None:
    """Image objects whose static answers read cleanly are encoded (the payload the checked path's object would
    store, answers included) and keep the place the checked path gives them; a bad answer, an object twice on
    an image or dynamic answers take the checked path and fail or read the same; across an image group the
    second image's uuid is derived as a checked object's is."""
    from labelport.model import EncodedAnnotation
    from labelport.model.codec import to_json

    quality = {
        "id": "1.1",
        "name": "Quality",
        "type": "radio",
        "featureNodeHash": "qualAttr",
        "options": [
            {
                "id": "1.1.1",
                "label": "Good",
                "value": "good",
                "featureNodeHash": "optGood1",
                "options": [{"id": "1.1.1.1", "name": "Why", "type": "text", "featureNodeHash": "whyAttr1"}],
            },
            {"id": "1.1.2", "label": "Bad", "value": "bad", "featureNodeHash": "optBad01"},
        ],
    }
    ontology = read_ontology(
        {"objects": [{**ONTOLOGY["objects"][0], "attributes": [quality]}], "classifications": []}
    ).ontology

    def good(why: str) -> dict[str, Any]:
        return {
            "classifications": [
                {"name": "Why", "featureHash": "whyAttr1", "answers": why},
                {"name": "Quality", "featureHash": "qualAttr", "answers": [{"featureHash": "optGood1"}]},
            ]
        }

    objects = [
        {**BOX, "objectHash": "ans00001"},
        {**BOX, "objectHash": "plain001"},
        {**BOX, "objectHash": "bad00001"},  # an answer that is no option
        {**BOX, "objectHash": "out00001", "boundingBox": {"x": 1.5, "y": 0, "w": 0.1, "h": 0.1}},
        {**BOX, "objectHash": "twice001"},
        {**BOX, "objectHash": "ans00002", "confidence": 0.5},
        {**BOX, "objectHash": "twice001"},
        {**BOX, "objectHash": "dyn00001"},
        {**BOX, "objectHash": "plain002"},
    ]
    row = image_row(objects)
    row["object_answers"] = {
        "ans00001": good("sharp"),
        "ans00002": good("clear"),
        "twice001": good("again"),
        "dyn00001": good("x"),
        "bad00001": {"classifications": [{"featureHash": "qualAttr", "answers": [{"featureHash": "nope"}]}]},
        "plain001": {"classifications": []},
    }
    row["object_actions"] = {"dyn00001": {"actions": []}}
    group = {**image_row([]), "data_type": "img_group", "label_hash": "row-2"}
    unit = group["data_units"]["dh-1"]
    group["data_units"] = {
        f"dh-{i}": {**unit, "data_hash": f"dh-{i}", "data_title": f"img{i}.png", "data_sequence": i,
                    "labels": {"objects": [{**BOX, "objectHash": "grp00001"}]}}
        for i in (1, 2)
    }  # fmt: skip
    group["object_answers"] = {"grp00001": good("both")}

    def read(fast: bool) -> tuple[list[list[tuple[str, Any]]], list[tuple[str, str | None]], list[Any]]:
        out = list(ROWS.read([row, group], ReadContext(ontology=ontology, options={"fast": fast})))
        items = [i for i in out if isinstance(i, LabeledItem)]
        problems = sorted((p.message, p.location.path) for p in out if isinstance(p, Problem))
        stored = [
            [(hash_of_uuid(decoded(a).uuid or ""), to_json(decoded(a))) for a in i.labels[0].annotations] for i in items
        ]
        return stored, problems, [i.paths for i in items]

    fast, fast_problems, fast_paths = read(True)
    checked, checked_problems, checked_paths = read(False)
    assert fast_problems == checked_problems and len(fast_problems) == 3  # the bad answer, out of bounds, twice
    assert fast_paths == checked_paths
    # Both paths keep the image's objects in input order, whichever path each object took.
    assert fast == checked
    assert [h for h, _ in fast[0]] == ["ans00001", "plain001", "ans00002", "dyn00001", "plain002"]
    images = [i for i in ROWS.read([group], ReadContext(ontology=ontology)) if isinstance(i, LabeledItem)]
    [first, second] = [list(i.labels[0].annotations) for i in images]
    assert all(isinstance(a, EncodedAnnotation) and a.classifications for a in first + second)
    assert first[0].uuid == uuid_of_hash("grp00001") != second[0].uuid == decoded(second[0]).uuid
    [item] = [i for i in ROWS.read([row], ReadContext(ontology=ontology)) if isinstance(i, LabeledItem)]
    encoded = {hash_of_uuid(a.uuid or ""): a for a in item.labels[0].annotations if isinstance(a, EncodedAnnotation)}
    assert sorted(encoded) == ["ans00001", "ans00002", "plain001", "plain002"]
    assert encoded["ans00002"].classifications == decoded(encoded["ans00002"]).classifications


def test_flat_polygon_rings_read_the_same_on_both_paths() -> None:
    """The fast path reads a ``polygons`` ring straight from its flat list: integers, a point outside the image,
    a boolean and a pair cut short read (or fail) as the checked path reads them."""
    ontology = read_ontology(
        {
            "objects": [{"id": "3", "name": "Poly", "shape": "polygon", "featureNodeHash": "polyFNH1"}],
            "classifications": [],
        }
    ).ontology
    rings = {
        "ints0001": [0, 0, 1, 0, 1, 1],
        "mixed001": [0.25, 0, 0.5, 0.5, 1, 0.75],
        "outside1": [0.1, 0.1, 1.5, 0.1, 0.5, 0.5],
        "boolean1": [0.1, 0.1, True, 0.1, 0.5, 0.5],
        "odd00001": [0.1, 0.1, 0.9, 0.1, 0.5],
        "floats01": [0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.1],
    }
    objects = [
        {"objectHash": h, "featureHash": "polyFNH1", "shape": "polygon", "polygon": [], "polygons": [[flat]]}
        for h, flat in rings.items()
    ]

    def read(fast: bool) -> tuple[dict[str, Any], list[str]]:
        out = list(ROWS.read([image_row(objects)], ReadContext(ontology=ontology, options={"fast": fast})))
        [item] = [i for i in out if isinstance(i, LabeledItem)]
        return annotations_of(item), sorted(p.message for p in out if isinstance(p, Problem))

    assert read(True) == read(False)
    assert sorted(read(True)[0]) == ["floats01", "ints0001", "mixed001"]


def test_an_answer_entry_that_is_not_an_object_reads_as_no_answers() -> None:
    """``object_answers`` naming an object with a list (not an answer object) is read as the checked path reads
    it, with no answers; the fast path once raised on it."""
    row = image_row([BOX])
    row["object_answers"] = {"good0001": [1]}
    ontology = read_ontology(ONTOLOGY).ontology
    for fast in (True, False):
        out = list(ROWS.read([row], ReadContext(ontology=ontology, options={"fast": fast})))
        [item] = out
        assert isinstance(item, LabeledItem) and list(annotations_of(item)) == ["good0001"]
        annotation = decoded(item.labels[0].annotations[0])
        assert isinstance(annotation, ObjectAnnotation) and annotation.classifications == ()


def test_a_plain_object_twice_on_an_image_fails_on_both_paths() -> None:
    """The fast path took the first of two objects with one objectHash on an image, and once stored the second as
    well under a derived uuid; now both paths fail the object ("on this frame twice") and keep the others. On an
    image group the object stays on the image that has it once."""
    ontology = read_ontology(ONTOLOGY).ontology
    row = image_row([{**BOX, "objectHash": "twice001"}, BOX, {**BOX, "objectHash": "twice001"}])
    group = {**image_row([]), "data_type": "img_group", "label_hash": "row-2"}
    unit = group["data_units"]["dh-1"]
    group["data_units"] = {
        "dh-1": {**unit, "labels": {"objects": [{**BOX, "objectHash": "grp00001"}]}},
        "dh-2": {**unit, "data_hash": "dh-2", "data_title": "img2.png", "data_sequence": 1,
                 "labels": {"objects": [{**BOX, "objectHash": "grp00001"}, {**BOX, "objectHash": "grp00001"}]}},
    }  # fmt: skip

    def read(fast: bool) -> tuple[list[dict[str, Any]], list[tuple[str, str | None]]]:
        out = list(ROWS.read([row, group], ReadContext(ontology=ontology, options={"fast": fast})))
        items = [annotations_of(i) for i in out if isinstance(i, LabeledItem)]
        return items, sorted((p.message, p.location.path) for p in out if isinstance(p, Problem))

    items, problems = read(True)
    assert (items, problems) == read(False)
    assert [sorted(i) for i in items] == [["good0001"], ["grp00001"], []]
    assert [m for m, _ in problems] == [m for m, _ in problems if "on this frame twice" in m] and len(problems) == 2
