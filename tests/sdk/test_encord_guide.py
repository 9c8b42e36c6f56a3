"""Acceptance: Encord's guide "Import labels" (tests/fixtures/guides/encord-import-labels.txt) against the
embedded client and over HTTP. Each example is the guide's code as Encord's documentation writes it, with only
its import lines changed: ``from encord ... import X`` became ``from labelport.sdk.encord import X``. Over
HTTP, ``LABELPORT_ENDPOINT`` and ``LABELPORT_API_KEY`` name a real server on the same store, whose clients the
guide's ``EncordUserClient`` then hands out.

The guide's project ("Blueberries and Cherries") is set up first with its ontology; its media are generated
(the bitmask examples' sizes as the guide gives them: images 1254 x 836, videos 1920 x 1080). After each
example, what the project stores is checked in pixels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

# ---------------------------------------------------------------------------------------------------------
from labelport.formats import get_format
from labelport.model import ClassificationAnnotation, FrameMasks, ObjectAnnotation, TrackedObject
from labelport.sdk import Client

# --- the guide's imports, changed -------------------------------------------------------------------------
from labelport.sdk.encord import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    Classification,
    EncordUserClient,
    Object,
    ObjectInstance,
    Option,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    Project,
    Range,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from labelport.sdk.http import HttpBackend
from labelport.service.imports import input_ontology, stored_annotations
from labelport.service.synthetic import write_image
from tests.api.server import thread_server

GUIDE_ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "Cherry", "color": "#D33115", "shape": "bounding_box", "featureNodeHash": "cherryBB"},
        {
            "id": "2",
            "name": "Other type of fruit",
            "color": "#E27300",
            "shape": "rotatable_bounding_box",
            "featureNodeHash": "otherRBB",
        },
        {"id": "3", "name": "Persimmon", "color": "#16406C", "shape": "polygon", "featureNodeHash": "persPoly"},
        {"id": "4", "name": "Branch", "color": "#FE9200", "shape": "polyline", "featureNodeHash": "branchPL"},
        {"id": "5", "name": "Pedicel", "color": "#FCDC00", "shape": "point", "featureNodeHash": "pedicelP"},
        {"id": "6", "name": "Blueberry", "color": "#DBDF00", "shape": "bitmask", "featureNodeHash": "bluebBM0"},
        {"id": "7", "name": "Strawberry", "color": "#A4DD00", "shape": "skeleton", "featureNodeHash": "strawSK0"},
    ],
    "classifications": [
        {
            "id": "8",
            "featureNodeHash": "bOrC0001",
            "attributes": [
                {
                    "id": "8.1",
                    "name": "Blueberry or cherry?",
                    "type": "radio",
                    "featureNodeHash": "bOrCattr",
                    "options": [
                        {"id": "8.1.1", "label": "Blueberry", "value": "blueberry", "featureNodeHash": "optBlueb"},
                        {"id": "8.1.2", "label": "Cherry", "value": "cherry", "featureNodeHash": "optCherr"},
                    ],
                }
            ],
        },
        {
            "id": "9",
            "featureNodeHash": "manyFrut",
            "attributes": [
                {
                    "id": "9.1",
                    "name": "Many types of fruit?",
                    "type": "checklist",
                    "featureNodeHash": "manyAttr",
                    "options": [
                        {"id": "9.1.1", "label": "Apple", "value": "apple", "featureNodeHash": "optApple"},
                        {"id": "9.1.2", "label": "Kiwi", "value": "kiwi", "featureNodeHash": "optKiwi0"},
                        {"id": "9.1.3", "label": "Banana", "value": "banana", "featureNodeHash": "optBanan"},
                    ],
                }
            ],
        },
    ],
}
IMAGES = {
    "cherry_001.png": (640, 480),
    "apple_001.png": (640, 480),
    "persimmon_001.jpg": (640, 480),
    "blueberry_003.png": (1254, 836),
    "blueberry_003.jpg": (1254, 836),
    "strawberries_10.jpg": (640, 480),
    "apple_003.jpg": (640, 480),
}
VIDEOS = ("Cherries_video.mp4", "Blueberries_video.mp4")
VIDEO_FRAMES = 460


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1920 x 1080 video of 460 black frames (the guide tracks objects up to frame 448)."""
    path = tmp_path_factory.mktemp("video") / "fruit.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1920, 1080))
    frame = np.zeros((1080, 1920, 3), np.uint8)
    for _ in range(VIDEO_FRAMES):
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(params=["embedded", "http"])
def guide(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, video: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The guide's project, ontology and media; LABELPORT_HOME is the store the guide's client opens (over
    HTTP: the store a server on 127.0.0.1 serves, which the guide's client talks to)."""
    home = tmp_path / "home"
    monkeypatch.setenv("LABELPORT_HOME", str(home))
    monkeypatch.setenv("LABELPORT_DATABASE_URL", database_url)
    for name in ("LABELPORT_ENDPOINT", "LABELPORT_API_KEY"):  # embedded unless the fixture names a server
        monkeypatch.delenv(name, raising=False)
    client = Client(home=home, database_url=database_url)
    dataset = client.create_dataset("fruit")
    assets = [
        {"row_data": str(write_image(tmp_path / name.replace(".jpg", ".png"), *size)), "global_key": name}
        for name, size in IMAGES.items()
    ]
    assets += [{"row_data": str(video), "global_key": name} for name in VIDEOS]
    assert dataset.create_data_rows(assets).errors is None
    images = client.create_project("Blueberries and Cherries", media_type="image")
    videos = client.create_project("Blueberries and Cherries (video)", media_type="video")
    ontology = tmp_path / "ontology.json"
    ontology.write_text(json.dumps(GUIDE_ONTOLOGY))
    for project, keys in ((images, list(IMAGES)), (videos, list(VIDEOS))):
        input_ontology(client.hub, project.uid, get_format("encord"), ontology)
        project.create_batch("all", global_keys=keys)
    found = {"client": client, "image": images.uid, "video": videos.uid}
    if request.param == "embedded":
        yield found
    else:
        with thread_server(home, database_url, file_roots=(tmp_path,)) as server:
            monkeypatch.setenv("LABELPORT_ENDPOINT", server.url)
            monkeypatch.setenv("LABELPORT_API_KEY", server.admin_key)
            assert isinstance(EncordUserClient.create_with_ssh_private_key().backend, HttpBackend)
            yield found
    client.close()


def stored(guide: dict[str, Any], kind: str, title: str) -> list[Any]:
    client: Client = guide["client"]
    [row_id] = client.get_data_row_ids_for_global_keys([title])["results"]
    return [a for _, a in stored_annotations(client.hub, guide[kind], row_id, "ground_truth")]


SSH_PATH = "/Users/chris-encord/ssh-private-key.txt"


def bounding_box_example_1(PROJECT_HASH: str) -> None:
    # Create user client using ssh key
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(
        ssh_private_key_path=SSH_PATH,
    )

    # Get project for which labels are to be added
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (cherry_001.png) to add a bounding box to
    label_row = project.list_label_rows_v2(data_title_eq="cherry_001.png")[0]

    # Initialize labels for label_rows_v2
    label_row.initialise_labels()

    # Find a bounding box annotation object in the project ontology
    bbox_object: Object = label_row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)

    # Instantiate an object instance from the bounding box ontology node
    bbox_object_instance: ObjectInstance = bbox_object.create_instance()

    bbox_object_instance.set_for_frames(
        coordinates=BoundingBoxCoordinates(
            height=0.1,
            width=0.1,
            top_left_x=0.5,
            top_left_y=0.5,
        ),
        # Add the bounding box to the first frame
        frames=0,
        # There are multiple additional fields that can be set optionally:
        manual_annotation=True,
    )

    # Link the object instance to the label row.
    label_row.add_object_instance(bbox_object_instance)

    # Upload the label to the server
    label_row.save()


def bounding_box_example_2(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (Cherries_video.mp4) to add a bounding box to
    label_row = project.list_label_rows_v2(data_title_eq="Cherries_video.mp4")[0]
    label_row.initialise_labels()

    bbox_object: Object = label_row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)
    bbox_object_instance: ObjectInstance = bbox_object.create_instance()

    # The x,y coordinates of each frame are specified as follows
    coordinates_per_frame = {
        103: BoundingBoxCoordinates(height=0.1474, width=0.1377, top_left_x=0.5716, top_left_y=0.6466),
        104: BoundingBoxCoordinates(height=0.1474, width=0.1377, top_left_x=0.5716, top_left_y=0.6500),
        105: BoundingBoxCoordinates(height=0.1474, width=0.1377, top_left_x=0.5716, top_left_y=0.6550),
    }

    # Add the bounding box to the frames
    for frame_number, coordinates in coordinates_per_frame.items():
        bbox_object_instance.set_for_frames(coordinates=coordinates, frames=frame_number)

    label_row.add_object_instance(bbox_object_instance)
    label_row.save()


def bounding_box_example_3(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)
    label_row = project.list_label_rows_v2(data_title_eq="cherry_001.png")[0]
    label_row.initialise_labels()
    bbox_object: Object = label_row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)

    # Define the coordinates of the three bounding boxes
    bbox_coordinates = [
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1),
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.4, top_left_y=0.4),
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.7, top_left_y=0.7),
    ]

    # Add each bounding box to the image
    for coordinates in bbox_coordinates:
        bbox_object_instance: ObjectInstance = bbox_object.create_instance()
        bbox_object_instance.set_for_frames(coordinates=coordinates, frames=0, manual_annotation=True)
        label_row.add_object_instance(bbox_object_instance)

    label_row.save()


def bounding_box_example_4(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)
    label_row = project.list_label_rows_v2(data_title_eq="Cherries_video.mp4")[0]
    label_row.initialise_labels()
    bbox_object: Object = label_row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)

    # Define the frames and coordinates of each of the three objects
    bbox_instances = {
        "object1": {
            103: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1),
            104: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.11, top_left_y=0.1),
            105: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.12, top_left_y=0.1),
        },
        "object2": {
            206: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.4, top_left_y=0.4),
            207: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.41, top_left_y=0.4),
            208: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.42, top_left_y=0.4),
        },
        "object3": {
            313: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.7, top_left_y=0.7),
            315: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.71, top_left_y=0.7),
            317: BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.72, top_left_y=0.7),
        },
    }

    # Add each object across its frames
    for object_name, frame_coordinates in bbox_instances.items():  # noqa: B007 (the guide's code)
        bbox_object_instance: ObjectInstance = bbox_object.create_instance()
        for frame_number, coordinates in frame_coordinates.items():
            bbox_object_instance.set_for_frames(
                coordinates=coordinates, frames=frame_number, manual_annotation=True, confidence=1.0
            )
        label_row.add_object_instance(bbox_object_instance)

    label_row.save()


def rotatable_bounding_box_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (apple_001.png) to add a rotatable bounding box to
    label_row = project.list_label_rows_v2(data_title_eq="apple_001.png")[0]
    label_row.initialise_labels()

    # Find a rotatable bounding box annotation object in the project ontology
    rbb_object: Object = label_row.ontology_structure.get_child_by_title(title="Other type of fruit", type_=Object)
    rbb_object_instance: ObjectInstance = rbb_object.create_instance()

    rbb_object_instance.set_for_frames(
        coordinates=RotatableBoundingBoxCoordinates(
            height=0.3,
            width=0.2,
            top_left_x=0.1,
            top_left_y=0.1,
            # angle of rotation originating at center of box
            theta=25,
        ),
        frames=0,
        manual_annotation=True,
    )

    label_row.add_object_instance(rbb_object_instance)
    label_row.save()


def rotatable_bounding_box_example_2(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)
    label_row = project.list_label_rows_v2(data_title_eq="Cherries_video.mp4")[0]
    label_row.initialise_labels()
    rbb_object: Object = label_row.ontology_structure.get_child_by_title(title="Other type of fruit", type_=Object)
    rbb_object_instance: ObjectInstance = rbb_object.create_instance()

    coordinates_per_frame = {
        120: RotatableBoundingBoxCoordinates(height=0.3, width=0.2, top_left_x=0.1, top_left_y=0.1, theta=25),
        121: RotatableBoundingBoxCoordinates(height=0.3, width=0.2, top_left_x=0.11, top_left_y=0.1, theta=26),
        122: RotatableBoundingBoxCoordinates(height=0.3, width=0.2, top_left_x=0.12, top_left_y=0.1, theta=27),
    }
    for frame_number, coordinates in coordinates_per_frame.items():
        rbb_object_instance.set_for_frames(coordinates=coordinates, frames=frame_number, manual_annotation=True)

    label_row.add_object_instance(rbb_object_instance)
    label_row.save()


def polygon_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (persimmon_001.jpg) to add a polygon to
    label_row = project.list_label_rows_v2(data_title_eq="persimmon_001.jpg")[0]
    label_row.initialise_labels()

    polygon_object: Object = label_row.ontology_structure.get_child_by_title(title="Persimmon", type_=Object)
    polygon_object_instance: ObjectInstance = polygon_object.create_instance()

    polygon_object_instance.set_for_frames(
        coordinates=PolygonCoordinates(
            [
                PointCoordinate(0.2, 0.2),
                PointCoordinate(0.3, 0.3),
                PointCoordinate(0.4, 0.2),
                PointCoordinate(0.3, 0.1),
            ]
        ),
        frames=0,
        manual_annotation=True,
    )

    label_row.add_object_instance(polygon_object_instance)
    label_row.save()


def polygon_example_4(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)
    label_row = project.list_label_rows_v2(data_title_eq="Cherries_video.mp4")[0]
    label_row.initialise_labels()
    polygon_object: Object = label_row.ontology_structure.get_child_by_title(title="Persimmon", type_=Object)

    polygon_instances = {
        "object1": {
            f: [PointCoordinate(0.2, 0.2), PointCoordinate(0.3, 0.3), PointCoordinate(0.4, 0.2)]
            for f in (153, 154, 155)
        },
        "object2": {
            f: [PointCoordinate(0.5, 0.5), PointCoordinate(0.6, 0.6), PointCoordinate(0.7, 0.5)]
            for f in (242, 244, 246)
        },
        "object3": {
            f: [PointCoordinate(0.1, 0.7), PointCoordinate(0.2, 0.8), PointCoordinate(0.3, 0.7)]
            for f in (343, 345, 347)
        },
    }
    for object_name, frame_points in polygon_instances.items():  # noqa: B007 (the guide's code)
        polygon_object_instance: ObjectInstance = polygon_object.create_instance()
        for frame_number, points in frame_points.items():
            polygon_object_instance.set_for_frames(
                coordinates=PolygonCoordinates(points), frames=frame_number, manual_annotation=True
            )
        label_row.add_object_instance(polygon_object_instance)

    label_row.save()


def polyline_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (persimmon_001.jpg) to add a polyline to
    label_row = project.list_label_rows_v2(data_title_eq="persimmon_001.jpg")[0]
    label_row.initialise_labels()

    polyline_object: Object = label_row.ontology_structure.get_child_by_title(title="Branch", type_=Object)
    polyline_object_instance: ObjectInstance = polyline_object.create_instance()

    polyline_object_instance.set_for_frames(
        coordinates=PolylineCoordinates(
            [PointCoordinate(0.1, 0.1), PointCoordinate(0.2, 0.2), PointCoordinate(0.3, 0.1)]
        ),
        frames=0,
        manual_annotation=True,
    )

    label_row.add_object_instance(polyline_object_instance)
    label_row.save()


def keypoint_example_2(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (Blueberries_video.mp4) to add a keypoint to
    label_row = project.list_label_rows_v2(data_title_eq="Blueberries_video.mp4")[0]
    label_row.initialise_labels()

    keypoint_object: Object = label_row.ontology_structure.get_child_by_title(title="Pedicel", type_=Object)
    keypoint_object_instance: ObjectInstance = keypoint_object.create_instance()

    coordinates_per_frame = {
        143: PointCoordinate(x=0.01, y=0.02),
        144: PointCoordinate(x=0.02, y=0.03),
        145: PointCoordinate(x=0.03, y=0.04),
    }
    for frame_number, coordinates in coordinates_per_frame.items():
        keypoint_object_instance.set_for_frames(coordinates=coordinates, frames=frame_number, manual_annotation=True)

    label_row.add_object_instance(keypoint_object_instance)
    label_row.save()


def bitmask_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (blueberry_003.jpg) to add a bitmask to
    label_row = project.list_label_rows_v2(data_title_eq="blueberry_003.jpg")[0]
    label_row.initialise_labels()

    # Prepare the mask itself. For simplicity, the mask covers the entire image (1254 x 836)
    numpy_coordinates = np.ones((836, 1254))
    # Bitmask annotations are boolean
    numpy_coordinates = numpy_coordinates.astype(bool)

    bitmask_ontology_object: Object = label_row.ontology_structure.get_child_by_title(title="Blueberry", type_=Object)
    bitmask_ontology_object_instance: ObjectInstance = bitmask_ontology_object.create_instance()

    bitmask_ontology_object_instance.set_for_frames(
        coordinates=BitmaskCoordinates(numpy_coordinates),
        frames=0,
        manual_annotation=True,
    )

    label_row.add_object_instance(bitmask_ontology_object_instance)
    label_row.save()


def bitmask_example_2(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (Blueberries_video.mp4) to add a bitmask to
    label_row = project.list_label_rows_v2(data_title_eq="Blueberries_video.mp4")[0]
    label_row.initialise_labels()

    # For simplicity, the mask covers the entire frame (1920 x 1080)
    numpy_coordinates = np.ones((1080, 1920)).astype(bool)

    bitmask_ontology_object: Object = label_row.ontology_structure.get_child_by_title(title="Blueberry", type_=Object)
    bitmask_ontology_object_instance: ObjectInstance = bitmask_ontology_object.create_instance()

    for frame_number in [156, 157, 159]:
        bitmask_ontology_object_instance.set_for_frames(
            coordinates=BitmaskCoordinates(numpy_coordinates), frames=frame_number, manual_annotation=True
        )

    label_row.add_object_instance(bitmask_ontology_object_instance)
    label_row.save()


def object_primitive_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (strawberries_10.jpg) to add an object primitive to
    label_row = project.list_label_rows_v2(data_title_eq="strawberries_10.jpg")[0]
    label_row.initialise_labels()

    # Find the object primitive (skeleton) ontology object
    skeleton_ontology_object: Object = label_row.ontology_structure.get_child_by_title(title="Strawberry", type_=Object)

    # The coordinates of the points of the Triangle template
    skeleton_coordinates = SkeletonCoordinates(
        values=[
            SkeletonCoordinate(x=0.25, y=0.25, name="point_0", color="#000000", value="point_0"),
            SkeletonCoordinate(x=0.35, y=0.25, name="point_1", color="#000000", value="point_1"),
            SkeletonCoordinate(x=0.30, y=0.35, name="point_2", color="#000000", value="point_2"),
        ],
        name="Triangle",
    )

    skeleton_object_instance: ObjectInstance = skeleton_ontology_object.create_instance()
    skeleton_object_instance.set_for_frames(coordinates=skeleton_coordinates, frames=0, manual_annotation=True)

    label_row.add_object_instance(skeleton_object_instance)
    label_row.save()


def radio_button_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (blueberry_003.jpg) to add a radio button classification to
    label_row = project.list_label_rows_v2(data_title_eq="blueberry_003.jpg")[0]
    label_row.initialise_labels()

    # Find the radio classification in the ontology
    radio_ontology_classification: Classification = label_row.ontology_structure.get_child_by_title(
        title="Blueberry or cherry?", type_=Classification
    )

    # Find the option to answer with
    blueberry_option = radio_ontology_classification.get_child_by_title(title="Blueberry", type_=Option)

    radio_classification_instance = radio_ontology_classification.create_instance()
    radio_classification_instance.set_answer(blueberry_option)
    radio_classification_instance.set_for_frames(frames=0)

    label_row.add_classification_instance(radio_classification_instance)
    label_row.save()


def radio_button_example_2(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)
    label_row = project.list_label_rows_v2(data_title_eq="Blueberries_video.mp4")[0]
    label_row.initialise_labels()

    radio_ontology_classification: Classification = label_row.ontology_structure.get_child_by_title(
        title="Blueberry or cherry?", type_=Classification
    )
    blueberry_option = radio_ontology_classification.get_child_by_title(title="Blueberry", type_=Option)

    radio_classification_instance = radio_ontology_classification.create_instance()
    radio_classification_instance.set_answer(blueberry_option)
    # The classification covers frames 193 to 197
    radio_classification_instance.set_for_frames(frames=Range(start=193, end=197))

    label_row.add_classification_instance(radio_classification_instance)
    label_row.save()


def checklist_example_1(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    # Specify a label_rows_v2 - data unit (apple_003.jpg) to add a checklist classification to
    label_row = project.list_label_rows_v2(data_title_eq="apple_003.jpg")[0]
    label_row.initialise_labels()

    checklist_ontology_classification: Classification = label_row.ontology_structure.get_child_by_title(
        title="Many types of fruit?", type_=Classification
    )
    apple_option = checklist_ontology_classification.get_child_by_title(title="Apple", type_=Option)
    kiwi_option = checklist_ontology_classification.get_child_by_title(title="Kiwi", type_=Option)

    checklist_classification_instance = checklist_ontology_classification.create_instance()
    checklist_classification_instance.set_answer([apple_option, kiwi_option])
    checklist_classification_instance.set_for_frames(frames=0)

    label_row.add_classification_instance(checklist_classification_instance)
    label_row.save()


def bulk_import(PROJECT_HASH: str) -> None:
    user_client: EncordUserClient = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=SSH_PATH)
    project: Project = user_client.get_project(PROJECT_HASH)

    label_rows = project.list_label_rows_v2()

    # Initialise all label rows in one bundle
    with project.create_bundle() as bundle:
        for label_row in label_rows:
            label_row.initialise_labels(bundle=bundle)

    for label_row in label_rows:
        bbox_object: Object = label_row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)
        bbox_object_instance: ObjectInstance = bbox_object.create_instance()
        bbox_object_instance.set_for_frames(
            coordinates=BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.45, top_left_y=0.45),
            frames=0,
            manual_annotation=False,
            confidence=0.8,
        )
        label_row.add_object_instance(bbox_object_instance)

    # Save all label rows in one bundle
    with project.create_bundle() as bundle:
        for label_row in label_rows:
            label_row.save(bundle=bundle)


# --- the checks --------------------------------------------------------------------------------------------


def boxes(annotations: list[Any]) -> list[tuple[float, float, float, float]]:
    out = []
    for a in annotations:
        if isinstance(a, ObjectAnnotation) and type(a.geometry).__name__ == "Rectangle":
            g = a.geometry
            out.append((round(g.start.x, 6), round(g.start.y, 6), round(g.end.x, 6), round(g.end.y, 6)))
    return sorted(out)


def test_the_guides_image_examples(guide: dict[str, Any]) -> None:
    project = guide["image"]
    bounding_box_example_1(project)
    assert boxes(stored(guide, "image", "cherry_001.png")) == [(320.0, 240.0, 384.0, 288.0)]
    # a second save replaces the row: the three boxes of example 3 join the one already there
    bounding_box_example_3(project)
    assert len(boxes(stored(guide, "image", "cherry_001.png"))) == 4

    rotatable_bounding_box_example_1(project)
    [rotated] = stored(guide, "image", "apple_001.png")
    assert rotated.geometry.angle == 25 and rotated.geometry.width == pytest.approx(128.0)

    polygon_example_1(project)
    polyline_example_1(project)
    shapes = sorted(type(a.geometry).__name__ for a in stored(guide, "image", "persimmon_001.jpg"))
    assert shapes == ["Line", "Polygon"]

    bitmask_example_1(project)
    radio_button_example_1(project)
    found = stored(guide, "image", "blueberry_003.jpg")
    [mask] = [a for a in found if isinstance(a, ObjectAnnotation)]
    [radio] = [a for a in found if isinstance(a, ClassificationAnnotation)]
    assert mask.geometry.source.blob is not None and radio.answer.answer.name == "blueberry"
    client: Client = guide["client"]
    from labelport.imaging import decode_png_binary

    assert decode_png_binary(client.hub.blobs.get(mask.geometry.source.blob)).all()

    object_primitive_example_1(project)
    [skeleton] = stored(guide, "image", "strawberries_10.jpg")
    assert [n.name for n in skeleton.geometry.nodes] == ["point_0", "point_1", "point_2"]
    assert skeleton.geometry.nodes[0].point.x == pytest.approx(160.0)

    checklist_example_1(project)
    [checklist] = stored(guide, "image", "apple_003.jpg")
    assert sorted(a.name for a in checklist.answer.answers) == ["apple", "kiwi"]

    bulk_import(project)
    for name in IMAGES:
        pre = [a for a in stored(guide, "image", name) if getattr(a, "confidence", None) == 0.8]
        assert len(pre) == 1, name


def test_the_guides_video_examples(guide: dict[str, Any]) -> None:
    project = guide["video"]
    bounding_box_example_2(project)
    [track] = stored(guide, "video", "Cherries_video.mp4")
    assert isinstance(track, TrackedObject) and [k.frame for k in track.keyframes] == [103, 104, 105]
    assert track.keyframes[0].geometry.start.x == pytest.approx(0.5716 * 1920)

    bounding_box_example_4(project)
    rotatable_bounding_box_example_2(project)
    polygon_example_4(project)
    tracks = [a for a in stored(guide, "video", "Cherries_video.mp4") if isinstance(a, TrackedObject)]
    frames = sorted(tuple(k.frame for k in t.keyframes) for t in tracks)
    assert (103, 104, 105) in frames and (313, 315, 317) in frames and (242, 244, 246) in frames
    assert len(tracks) == 1 + 3 + 1 + 3
    # frames 313, 315, 317 are three one-frame segments: the object is not on 314 or 316
    [gappy] = [t for t in tracks if [k.frame for k in t.keyframes] == [313, 315, 317]]
    assert len(gappy.segments) == 3

    keypoint_example_2(project)
    bitmask_example_2(project)
    radio_button_example_2(project)
    found = stored(guide, "video", "Blueberries_video.mp4")
    [masks] = [a for a in found if isinstance(a, FrameMasks)]
    assert [f.frame for f in masks.frames] == [156, 157, 159]
    [radio] = [a for a in found if isinstance(a, ClassificationAnnotation)]
    assert [(r.start, r.end) for r in radio.frames] == [(193, 197)]
