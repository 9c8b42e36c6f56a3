"""Acceptance: Labelbox fixtures imported as ground truth export to the upstream expected annotation blocks.

The expected blocks are tests/fixtures/labelbox/derived (export_v2 fixtures of labelbox-python). Their
generated ids (feature ids, cuid keys) are ignored, as the upstream tests ignore them.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from labelport.service.synthetic import write_image
from tests.export.helpers import IDS, NEWER_KEYS, load, without

CHECKLIST = {
    "name": "checklist",
    "type": "checklist",
    "options": [
        {"label": "first_checklist_answer", "value": "first_checklist_answer"},
        {"label": "second_checklist_answer", "value": "second_checklist_answer"},
    ],
}
TEXT = {"name": "text", "type": "text", "options": []}


def project_with(client: Client, media: str, rows: list[dict[str, Any]], ontology: dict[str, Any]) -> Any:
    dataset = client.create_dataset(f"{media}-data")
    assert dataset.create_data_rows(rows).errors is None
    created = client.create_ontology(f"{media}-ontology", ontology, media_type=media)
    project = client.create_project(f"{media}-project", media_type=media)
    project.connect_ontology(created)
    project.create_batch("batch", global_keys=[r["global_key"] for r in rows])
    return project


def ground_truth(client: Client, project: Any, items: list[dict[str, Any]]) -> None:
    job = LabelImport.create_from_objects(client, project.uid, f"gt-{uuid.uuid4()}", items)
    assert job.errors == [], job.errors


def only_label(task: Any, project: Any) -> dict[str, Any]:
    assert task.errors is None
    [row] = task.result
    [label] = row["projects"][project.uid]["labels"]
    return label


def test_image_block_equals_the_upstream_fixture(client: Client, tmp_path: Path) -> None:
    image = write_image(tmp_path / "img.png", 256, 256)
    ontology = {
        "tools": [
            {"tool": "polygon", "name": "polygon"},
            {"tool": "rectangle", "name": "bbox"},
            {"tool": "line", "name": "polyline"},
        ],
        "classifications": [CHECKLIST, TEXT],
    }
    project = project_with(client, "image", [{"row_data": str(image), "global_key": "img"}], ontology)
    ref = {"globalKey": "img"}
    polygon = [
        {"x": 147.692, "y": 118.154},
        {"x": 142.769, "y": 104.923},
        {"x": 57.846, "y": 118.769},
        {"x": 28.308, "y": 169.846},
    ]
    ground_truth(
        client,
        project,
        [
            {"uuid": str(uuid.uuid4()), "dataRow": ref, "name": "polygon", "polygon": polygon},
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": ref,
                "name": "bbox",
                "bbox": {"top": 48, "left": 58, "height": 65, "width": 12},
            },
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": ref,
                "name": "polyline",
                "line": [{"x": 147.692, "y": 118.154}, {"x": 150.692, "y": 160.154}],
            },
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": ref,
                "name": "checklist",
                "answer": [{"name": "first_checklist_answer"}, {"name": "second_checklist_answer"}],
            },
            {"uuid": str(uuid.uuid4()), "dataRow": ref, "name": "text", "answer": "free form text..."},
        ],
    )
    label = only_label(project.export_v2(), project)
    assert label["label_kind"] == "Default"
    assert without(label["annotations"], IDS) == load("export_v2_expected_annotations_by_media_type.json")["image"]


def test_video_and_dicom_blocks_equal_the_upstream_fixtures(client: Client, tmp_path: Path) -> None:
    video = project_with(
        client,
        "video",
        [{"row_data": "https://example.org/sample-video-1.mp4", "global_key": "vid", "media_type": "video"}],
        {"tools": [], "classifications": [CHECKLIST]},
    )
    ground_truth(
        client,
        video,
        [
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": {"globalKey": "vid"},
                "name": "checklist",
                "answer": [{"name": "first_checklist_answer"}, {"name": "second_checklist_answer"}],
                "frames": [{"start": 7, "end": 13}, {"start": 18, "end": 19}],
            }
        ],
    )
    expected = load("export_v2_expected_annotations_by_media_type.json")
    assert without(only_label(video.export_v2(), video)["annotations"], IDS) == expected["video"]

    from labelport.service.synthetic import write_series

    series = tmp_path / "series"
    write_series(series, rows=200, columns=200, slices=2)
    dicom = project_with(
        client,
        "dicom",
        [{"row_data": str(series), "global_key": "ct"}],
        {"tools": [{"tool": "line", "name": "polyline"}]},
    )
    line = [{"x": 147.692, "y": 118.154}, {"x": 150.692, "y": 160.154}]
    ground_truth(
        client,
        dicom,
        [
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": {"globalKey": "ct"},
                "name": "polyline",
                "groupKey": "axial",
                "segments": [{"keyframes": [{"frame": 1, "line": line}]}],
            }
        ],
    )
    label = only_label(dicom.export_v2(), dicom)
    assert label["label_kind"] == "DICOM"
    assert without(label["annotations"], IDS) == expected["dicom"]


def test_video_label_equals_the_streamable_fixture(client: Client) -> None:
    ontology = {
        "tools": [
            {
                "tool": "rectangle",
                "name": "bbox",
                "classifications": [
                    {
                        "name": "nested",
                        "type": "radio",
                        "options": [{"label": "radio_option_1", "value": "radio_option_1"}],
                    }
                ],
            }
        ]
    }
    project = project_with(
        client,
        "video",
        [{"row_data": "https://example.org/v.mp4", "global_key": "v", "media_type": "video"}],
        ontology,
    )
    box = {"top": 98.0, "left": 146.0, "height": 243.0, "width": 236.0}
    nested = [{"name": "nested", "answer": {"name": "radio_option_1"}}]
    ground_truth(
        client,
        project,
        [
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": {"globalKey": "v"},
                "name": "bbox",
                "segments": [
                    {"keyframes": [{"frame": 13, "bbox": box, "classifications": nested}]},
                    {
                        "keyframes": [
                            {"frame": 18, "bbox": box, "classifications": nested},
                            {"frame": 19, "bbox": box},
                        ]
                    },
                ],
            }
        ],
    )
    task = project.export(params={"performance_details": False, "label_details": True})
    label = only_label(task, project)
    expected = load("export_v2_video_label_from_test_export_video_streamable.json")
    assert label["label_kind"] == expected["label_kind"] == "Video"
    assert label["version"] == expected["version"]
    assert label.keys() == expected.keys()
    assert label["label_details"].keys() == expected["label_details"].keys()
    assert label["label_details"]["reviews"] == []
    ignored = ("feature_id", *NEWER_KEYS)
    assert without(label["annotations"], ignored) == without(expected["annotations"], ignored)

    interpolated = only_label(project.export(params={"interpolated_frames": True}), project)["annotations"]
    assert list(interpolated["frames"]) == ["13", "18", "19"]  # the gap between segments is not filled
    assert next(iter(interpolated["key_frame_feature_map"].values())) == {"13": True, "18": False, "19": True}


def test_interpolated_frames_are_linear_between_keyframes() -> None:
    from labelport.formats.labelbox.export_v2_annotations import Entry, Features, annotations_block
    from labelport.model import Keyframe, Point, Rectangle, Segment, TrackedObject
    from labelport.model.media import MediaType

    track = TrackedObject(
        str(uuid.uuid4()),
        (
            Segment(
                (
                    Keyframe(0, Rectangle(Point(0, 0), Point(10, 10))),
                    Keyframe(4, Rectangle(Point(40, 0), Point(50, 10))),
                )
            ),
        ),
        name="box",
    )
    lost: list[Any] = []
    block = annotations_block(
        MediaType.VIDEO,
        [Entry(track.uuid, "s", "box", track)],
        Features(None),
        str,
        lambda mask, group: [],
        lambda entry, exc: lost.append((entry, exc)),
        interpolated_frames=True,
    )
    assert lost == []
    lefts = [f["objects"][track.uuid]["bounding_box"]["left"] for f in block["frames"].values()]
    assert list(block["frames"]) == ["1", "2", "3", "4", "5"] and lefts == [0, 10, 20, 30, 40]
    assert block["key_frame_feature_map"][track.uuid] == {"1": True, "2": False, "3": False, "4": False, "5": True}
    assert block["segments"][track.uuid] == [[1, 5]]
