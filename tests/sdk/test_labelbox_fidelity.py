"""Import and export fidelity for what the labelbox SDK ecosystem writes: relationships before the objects they
link, composite masks whose colour is missing on a frame, RLE masks, and the data row's identity, creator
and video attributes in the export. Every test runs on both backends and both databases."""

from __future__ import annotations

import base64
import io
import json
import random
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

import labelport as lb
from labelport.formats.base import WriteContext
from labelport.formats.labelbox import ndjson
from labelport.imaging import decode_png_composite
from labelport.imaging.codecs import decode_png_binary
from labelport.model import (
    DataRowKey,
    Label,
    LabeledItem,
    LabelKind,
    ObjectAnnotation,
    Point,
    Rectangle,
    Relationship,
)
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from labelport.service.exports import StorePixels
from labelport.service.imports import import_annotations, stored_annotations
from labelport.service.synthetic import write_image, write_series, write_video
from tests.fixtures import LABELBOX
from tests.formats.ndjson_compare import assert_same_ndjson

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def png(array: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def project_of(
    client: Client, media_type: str, assets: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> tuple[Any, list[str]]:
    dataset = client.create_dataset(media_type)
    task = dataset.create_data_rows(assets)
    assert task.errors is None, task.errors
    ontology = client.create_ontology(media_type, {"tools": tools}, media_type=media_type)
    project = client.create_project(media_type, media_type=media_type)
    project.connect_ontology(ontology)
    project.create_batch("all", global_keys=[a["global_key"] for a in assets])
    return project, [r.id for r in task.created]


def gt(client: Client, project_id: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    job = LabelImport.create_from_objects(client, project_id, "gt-" + str(uuid.uuid4()), lines)
    job.wait_until_done()
    assert job.state == "FINISHED", job.error
    return job.statuses


def written(client: Client, project_id: str, row_id: str, key: DataRowKey) -> list[dict[str, Any]]:
    """The stored ground truth of a row written back as Labelbox NDJSON."""
    stored = tuple(a for _, a in stored_annotations(client.hub, project_id, row_id, "ground_truth"))
    item = LabeledItem(key, (Label(LabelKind.GROUND_TRUTH, stored),), media=client.get_data_row(row_id).model)
    out = io.BytesIO()
    report = ndjson.write([item], out, WriteContext(pixels=StorePixels(client.hub)))
    assert report.losses == [], report.losses
    return [json.loads(line) for line in out.getvalue().splitlines()]


# ---------------------------------------------------------------------------------------------- relationships


def test_the_sdks_relationship_lines_import_in_any_order(client: Client, tmp_path: Path) -> None:
    recorded = json.loads((LABELBOX / "referee" / "labelbox-5.2.1_relationships_serialize.json").read_text())
    lines: list[dict[str, Any]] = recorded["output"]
    assert [("relationship" in line) for line in lines] == [True, True, False, False, False, False]  # as the SDK writes
    image = write_image(tmp_path / "a.png", 40, 30)
    project, [row_id] = project_of(
        client,
        "image",
        [{"row_data": str(image), "global_key": "rel/img-0"}],
        [{"tool": "rectangle", "name": "box"}, {"tool": "edge", "name": "rel"}],
    )
    statuses = gt(client, project.uid, lines)
    assert [(s["uuid"], s["status"]) for s in statuses] == [(line["uuid"], "SUCCESS") for line in lines]
    assert_same_ndjson(written(client, project.uid, row_id, DataRowKey(global_key="rel/img-0")), lines, ordered=False)
    # The same lines in any other order import alike (importing a uuid again replaces it).
    shuffled = random.Random(7).sample(lines, len(lines))
    assert [s["status"] for s in gt(client, project.uid, shuffled)] == ["SUCCESS"] * 6
    assert_same_ndjson(written(client, project.uid, row_id, DataRowKey(global_key="rel/img-0")), lines, ordered=False)


def test_relationship_ends_must_be_objects_of_the_row(client: Client, tmp_path: Path) -> None:
    images = [write_image(tmp_path / f"{i}.png", 40, 30) for i in range(2)]
    project, _ids = project_of(
        client,
        "image",
        [{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)],
        [{"tool": "rectangle", "name": "box"}, {"tool": "edge", "name": "rel"}],
    )
    a, b, elsewhere, bad = (str(uuid.uuid4()) for _ in range(4))

    def box(u: str, key: str, top: Any = 1) -> dict[str, Any]:
        return {
            "uuid": u,
            "dataRow": {"globalKey": key},
            "name": "box",
            "bbox": {"top": top, "left": 1, "height": 2, "width": 3},
        }

    def rel(source: str, target: str) -> dict[str, Any]:
        return {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img-0"},
            "name": "rel",
            "relationship": {"source": source, "target": target, "type": "unidirectional"},
        }

    lines = [
        rel(a, b),  # both ends come later: fine
        rel(a, elsewhere),  # the target is on another data row
        rel(b, bad),  # the target fails its own checks
        rel(a, str(uuid.uuid4())),  # the target is nowhere
        box(a, "img-0"),
        box(b, "img-0"),
        box(elsewhere, "img-1"),
        box(bad, "img-0", top="high"),
    ]
    statuses = gt(client, project.uid, lines)
    assert [s["status"] for s in statuses] == [
        "SUCCESS",
        "FAILURE",
        "FAILURE",
        "FAILURE",
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
        "FAILURE",
    ]
    for index, end in ((1, elsewhere), (2, bad), (3, lines[3]["relationship"]["target"])):
        [error] = statuses[index]["errors"]
        assert error["message"] == (
            f"relationship target {end} is not an object on the same data row (in this import or stored)"
        )
        assert error["additionalInfo"]["line"] == 1 and error["additionalInfo"]["path"] == f"[{index}]"
    # A later import may point at what is stored.
    assert [s["status"] for s in gt(client, project.uid, [rel(b, a)])] == ["SUCCESS"]


def boxes_and_relations(client: Client, tmp_path: Path) -> Any:
    """A project of one image (global key ``img``) with a box tool and a relationship tool."""
    image = write_image(tmp_path / "a.png", 40, 30)
    project, _ids = project_of(
        client,
        "image",
        [{"row_data": str(image), "global_key": "img"}],
        [{"tool": "rectangle", "name": "box"}, {"tool": "edge", "name": "rel"}],
    )
    return project


def test_a_failed_relationship_leaves_no_label_behind(client: Client, tmp_path: Path) -> None:
    project = boxes_and_relations(client, tmp_path)
    nowhere = {"source": str(uuid.uuid4()), "target": str(uuid.uuid4()), "type": "unidirectional"}
    line = {"uuid": str(uuid.uuid4()), "dataRow": {"globalKey": "img"}, "name": "rel", "relationship": nowhere}
    assert [s["status"] for s in gt(client, project.uid, [line])] == ["FAILURE"]
    # The row was never labelled: no (empty) label in the export, and its task still waits to be labelled.
    [row] = project.export_v2(params={"project_details": True}).result
    assert row["projects"][project.uid]["labels"] == []
    assert row["projects"][project.uid]["project_details"]["workflow_status"] == "TO_LABEL"


def test_relationships_of_any_format_are_checked_at_the_end(client: Client, tmp_path: Path) -> None:
    project = boxes_and_relations(client, tmp_path)
    a, b = (str(uuid.uuid4()) for _ in range(2))
    boxes = tuple(ObjectAnnotation(u, Rectangle(Point(1, 1), Point(4, 4)), "box") for u in (a, b))
    relation = Relationship(str(uuid.uuid4()), a, b, "rel")
    item = LabeledItem(DataRowKey(global_key="img"), (Label(LabelKind.GROUND_TRUTH, (relation, *boxes)),))
    job = import_annotations(client.hub, project.uid, "model items", [item], "ground_truth")
    assert (job.succeeded, job.failed) == (3, 0)


# ---------------------------------------------------------------------------------------------- mask colours


def _masks_line(
    key: str, frames: dict[int, np.ndarray[Any, Any]], instances: list[tuple[tuple[int, ...], str]], group: str | None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "dataRow": {"globalKey": key},
        "masks": {
            "frames": [{"index": i, "imBytes": png(f)} for i, f in frames.items()],
            "instances": [{"colorRGB": list(c), "name": n} for c, n in instances],
        },
    }
    if group is not None:
        line["groupKey"] = group
    return line


def test_a_mask_colour_missing_on_a_frame_is_refused(client: Client, tmp_path: Path) -> None:
    series = tmp_path / "series"
    write_series(series, rows=12, columns=10, slices=6)
    video = write_video(tmp_path / "v.mp4", width=10, height=12, frames=8)
    tools = [{"tool": "raster-segmentation", "name": "red"}, {"tool": "raster-segmentation", "name": "green"}]
    dicom, _ = project_of(client, "dicom", [{"row_data": str(series), "global_key": "ct"}], tools)
    clip, _ = project_of(client, "video", [{"row_data": str(video), "global_key": "clip"}], tools)
    white = np.full((12, 10, 3), 255, np.uint8)
    red_only = np.zeros((12, 10, 3), np.uint8)
    red_only[2:5, 3:6] = RED
    for project, key, group in ((dicom, "ct", "axial"), (clip, "clip", None)):
        statuses = gt(
            client,
            project.uid,
            [
                _masks_line(key, {1: red_only, 2: white}, [(RED, "red")], group),
                _masks_line(key, {1: red_only}, [(RED, "red"), (GREEN, "green")], group),
                _masks_line(key, {1: red_only}, [(RED, "red")], group),
            ],
        )
        assert [s["status"] for s in statuses] == ["FAILURE", "FAILURE", "SUCCESS"], (key, statuses)
        assert (
            statuses[0]["errors"][0]["message"] == "mask colour [255, 0, 0] does not occur in the mask image of frame 2"
        )
        assert (
            statuses[1]["errors"][0]["message"]
            == "mask colour [0, 255, 0] does not occur in the mask image of any frame"
        )


def test_each_mask_instance_is_exported_on_the_frames_where_it_has_pixels(client: Client, tmp_path: Path) -> None:
    series = tmp_path / "series"
    write_series(series, rows=12, columns=10, slices=6)
    video = write_video(tmp_path / "v.mp4", width=10, height=12, frames=8)
    tools = [{"tool": "raster-segmentation", "name": "red"}, {"tool": "raster-segmentation", "name": "green"}]
    first = np.zeros((12, 10, 3), np.uint8)
    first[2:5, 3:6] = RED
    second = np.zeros((12, 10, 3), np.uint8)
    second[6:9, 1:4] = GREEN
    both = first + second
    for media, asset, group in (
        ("dicom", {"row_data": str(series), "global_key": "ct"}, "axial"),
        ("video", {"row_data": str(video), "global_key": "clip"}, None),
    ):
        project, [row_id] = project_of(client, media, [asset], tools)
        line = _masks_line(asset["global_key"], {1: first, 2: second, 3: both}, [(RED, "red"), (GREEN, "green")], group)
        assert [s["status"] for s in gt(client, project.uid, [line])] == ["SUCCESS"]
        project.approve([row_id])
        [row] = project.export_v2().result
        annotations = row["projects"][project.uid]["labels"][0]["annotations"]
        frames = annotations["groups"]["Axial"]["frames"] if group else annotations["frames"]
        names = {f: sorted(o["name"] for o in frames[f]["objects"].values()) for f in frames}
        assert names == {"1": ["red"], "2": ["green"], "3": ["green", "red"]}, media
        keyframes = annotations["key_frame_feature_map"]
        for feature_frames in keyframes.values():
            frames_marked = feature_frames["Axial"] if group else feature_frames
            assert all(frames_marked.values())
        lines = written(client, project.uid, row_id, DataRowKey(global_key=asset["global_key"]))
        by_name = {x["masks"]["instances"][0]["name"]: [f["index"] for f in x["masks"]["frames"]] for x in lines}
        assert by_name == {"red": [1, 3], "green": [2, 3]}, media
        for x in lines:
            colour = x["masks"]["instances"][0]["colorRGB"]
            for frame in x["masks"]["frames"]:
                pixels = decode_png_composite(base64.b64decode(frame["imBytes"]))
                assert np.all(pixels == colour, axis=2).any(), (media, frame["index"], colour)


# ---------------------------------------------------------------------------------------------- RLE masks


def _runs(mask: np.ndarray[Any, Any]) -> list[int]:
    """COCO run lengths of the column-major flattening, zeros first (written out, as a test oracle)."""
    flat = mask.ravel(order="F")
    runs, current, count = [], 0, 0
    for value in flat:
        if value != current:
            runs.append(count)
            current, count = value, 0
        count += 1
    runs.append(count)
    return runs


def test_rle_masks_decode_as_coco_column_major(client: Client, tmp_path: Path) -> None:
    image = write_image(tmp_path / "a.png", 9, 7)
    project, [row_id] = project_of(
        client,
        "image",
        [{"row_data": str(image), "global_key": "img"}],
        [{"tool": "raster-segmentation", "name": "seg"}],
    )
    mask = np.zeros((7, 9), np.uint8)
    mask[1:4, 2:8] = 1
    mask[5, 0] = 1
    compressed = coco_mask.encode(np.asfortranarray(mask))
    lines = [
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img"},
            "name": "seg",
            "mask": {"counts": _runs(mask), "size": [7, 9]},
        },
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img"},
            "name": "seg",
            "mask": {"counts": compressed["counts"].decode(), "size": [7, 9]},
        },
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img"},
            "name": "seg",
            "mask": {"counts": [3, 2], "size": [7, 9]},
        },
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img"},
            "name": "seg",
            "mask": {"counts": [63], "size": [9, 7]},
        },
    ]
    statuses = gt(client, project.uid, lines)
    assert [s["status"] for s in statuses] == ["SUCCESS", "SUCCESS", "FAILURE", "FAILURE"]
    assert statuses[2]["errors"][0]["message"] == "run lengths add up to 5 pixels but size [7, 9] has 63"
    assert statuses[3]["errors"][0]["message"] == "mask is 7 x 9 px but the image is 9 x 7 px"
    for line in written(client, project.uid, row_id, DataRowKey(global_key="img")):
        pixels = decode_png_binary(base64.b64decode(line["mask"]["png"]))
        assert np.array_equal(pixels, coco_mask.decode(compressed).astype(bool)), line["uuid"]


# ---------------------------------------------------------------------------------------------- data rows


def test_export_names_the_row_its_creator_and_video_attributes(client: Client, tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", width=48, height=32, frames=12, fps=10.0)
    image = write_image(tmp_path / "a.png", 40, 30)
    project, ids = project_of(
        client,
        "video",
        [{"row_data": str(video), "global_key": "clip", "external_id": "scanner-7/clip.mp4"}],
        [{"tool": "rectangle", "name": "box"}],
    )
    row = client.get_data_row(ids[0])
    assert row.media_attributes == {
        "mime_type": "video/mp4",
        "width": 48,
        "height": 32,
        "frames": 12,
        "frame_rate": 10.0,
    }
    [exported] = project.export_v2(params={"data_row_details": True}).result
    assert exported["data_row"]["external_id"] == "scanner-7/clip.mp4"
    assert exported["data_row"]["details"]["created_by"] == "local@labelport"  # who created the row
    attributes = exported["media_attributes"]
    assert {k: attributes[k] for k in ("frame_rate", "frame_count", "width", "height")} == {
        "frame_rate": 10.0,
        "frame_count": 12,
        "width": 48,
        "height": 32,
    }
    # A keyframe past the video's last frame is refused now that the length is known.
    track = {
        "uuid": str(uuid.uuid4()),
        "dataRow": {"globalKey": "clip"},
        "name": "box",
        "segments": [{"keyframes": [{"frame": 13, "bbox": {"top": 1, "left": 1, "height": 2, "width": 2}}]}],
    }
    [status] = gt(client, project.uid, [track])
    assert status["errors"][0]["message"] == "frame 13 is out of range: the video has 12 frames"
    # An image row keeps its external id too.
    other = client.create_dataset("images").create_data_rows(
        [{"row_data": str(image), "global_key": "i", "external_id": "x-1"}]
    )
    assert other.errors is None and other.created[0].external_id == "x-1"
    assert lb.MediaType.Video is row.media_type


def test_composite_image_masks_are_exported_as_the_binary_png_the_sdk_reads(client: Client, tmp_path: Path) -> None:
    image = write_image(tmp_path / "a.png", 12, 8)
    project, _ids = project_of(
        client,
        "image",
        [{"row_data": str(image), "global_key": "img"}],
        [{"tool": "raster-segmentation", "name": "a"}, {"tool": "raster-segmentation", "name": "b"}],
    )
    composite = np.zeros((8, 12, 3), np.uint8)
    composite[1:3, 2:5] = RED
    composite[5:7, 6:9] = BLUE
    shared = png(composite)
    lines = [
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img"},
            "name": n,
            "mask": {"imBytes": shared, "colorRGB": list(c)},
        }
        for n, c in (("a", RED), ("b", BLUE))
    ]
    assert [s["status"] for s in gt(client, project.uid, lines)] == ["SUCCESS", "SUCCESS"]
    out = tmp_path / "export.ndjson"
    from labelport.service import exports

    exports.export(client.hub, project.uid, "labelbox_ndjson", out)
    exported = {line["name"]: line for line in map(json.loads, out.read_text().splitlines())}
    for name, colour in (("a", RED), ("b", BLUE)):
        assert set(exported[name]["mask"]) == {"png"}  # what the SDK writes and reads; never imBytes + colorRGB
        pixels = decode_png_binary(base64.b64decode(exported[name]["mask"]["png"]))
        assert np.array_equal(pixels, np.all(composite == colour, axis=2)), name
