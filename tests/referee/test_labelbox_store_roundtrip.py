"""Referee for the whole path: labels generated with the labelbox SDK's own types (image, video and DICOM, with
relationships and masks), serialised by the SDK, imported into labelport in a shuffled line order, exported by
labelport as NDJSON and deserialised by the SDK again: the SDK reads the same annotations from our export as
from its own serialisation.

The SDK (labelbox[data]==5.2.1) runs in .venv-referee through ``labelbox_store_script.py``: one call builds and
serialises every label, one more reads our export back.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import secrets
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelport.imaging.grids import plane_of
from labelport.model.media import PlaneGroup
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from labelport.service import exports
from labelport.service.synthetic import write_image, write_series, write_video

from .test_labelbox_sdk import referee_python  # noqa: F401 - the fixture that makes the referee venv

pytestmark = pytest.mark.referee

SCRIPT = Path(__file__).with_name("labelbox_store_script.py")
IMAGE = (20, 14)  # width, height
VIDEO = (24, 16, 10)  # width, height, frames
SERIES = {"rows": 16, "columns": 12, "slices": 8}
COLOURS = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 255, 255)]


def run(python: Path, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(SCRIPT)], input=json.dumps(request).encode(), capture_output=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _png(rgb: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class Specs:
    """Random label specs (the referee script builds them with the SDK's types), with unique tool names."""

    def __init__(self, rng: random.Random, planes: dict[str, tuple[int, int, int]]) -> None:
        self.rng = rng
        self.planes = planes  # group -> (width, height, frames) of the generated series
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def xy(self, width: int, height: int) -> list[float]:
        return [self.rng.randint(0, width * 4) / 4, self.rng.randint(0, height * 4) / 4]

    def classification(self) -> dict[str, Any]:
        kind = self.rng.choice(["radio", "checklist", "text"])
        name = self.name("q")
        if kind == "text":
            return {"name": name, "kind": kind, "text": self.rng.choice(["ok", "blurred", "artefact"])}
        answers = self.rng.sample(["a", "b", "c"], 1 if kind == "radio" else self.rng.randint(1, 3))
        return {"name": name, "kind": kind, "answers": answers}

    def geometry(self, kind: str, width: int, height: int) -> Any:
        if kind == "box":
            x, y = self.xy(width - 4, height - 4)
            return [x, y, self.rng.randint(1, 12) / 4, self.rng.randint(1, 12) / 4]
        if kind == "polygon":
            points = [self.xy(width, height) for _ in range(self.rng.randint(3, 5))]
            points[1][0] += 1  # not all on one spot
            return points
        if kind == "line":
            return [self.xy(width, height) for _ in range(self.rng.randint(2, 4))]
        if kind == "point":
            return self.xy(width, height)
        mask = np.zeros((height, width), np.uint8)
        top, left = self.rng.randint(0, height - 3), self.rng.randint(0, width - 3)
        mask[top : top + self.rng.randint(1, 3), left : left + self.rng.randint(1, 3)] = 1
        return mask.tolist()

    def composite_frames(self, width: int, height: int, frames: list[int], colours: list[Any]) -> list[list[Any]]:
        """One composite PNG per frame; every frame holds some instance, every instance some frame."""
        out = []
        for k, frame in enumerate(frames):
            rgb = np.zeros((height, width, 3), np.uint8)
            present = {k % len(colours)} | {i for i in range(len(colours)) if self.rng.random() < 0.5}
            for i in sorted(present):
                top, left = self.rng.randint(0, height - 3), self.rng.randint(0, width - 3)
                rgb[top : top + 2, left : left + 3] = colours[i]
            out.append([frame, _png(rgb)])
        return out

    def masks(self, width: int, height: int, last_frame: int) -> tuple[list[list[Any]], list[list[Any]]]:
        colours = self.rng.sample(COLOURS, self.rng.randint(1, 2))
        count = max(len(colours), self.rng.randint(1, 3))
        frames = sorted(self.rng.sample(range(1, last_frame + 1), count))
        instances = [[list(c), self.name("seg")] for c in colours]
        return self.composite_frames(width, height, frames, colours), instances

    def keyframes(self, last_frame: int, value: Any) -> list[list[Any]]:
        frames = sorted(self.rng.sample(range(1, last_frame + 1), self.rng.randint(1, 4)))
        out, segment = [], 0
        for i, frame in enumerate(frames):
            if i and self.rng.random() < 0.4:
                segment += 1
            out.append([frame, segment, value()])
        return out

    def image(self, key: str) -> dict[str, Any]:
        width, height = IMAGE
        annotations: list[dict[str, Any]] = []
        for _ in range(self.rng.randint(2, 5)):
            kind = self.rng.choice(["box", "polygon", "line", "point", "mask"])
            classifications = [self.classification() for _ in range(self.rng.randint(0, 1))]
            annotations.append(
                {
                    "t": kind,
                    "name": self.name(kind),
                    "value": self.geometry(kind, width, height),
                    "classifications": classifications,
                }
            )
        objects = list(range(len(annotations)))
        self.rng.shuffle(objects)
        while len(objects) >= 2 and self.rng.random() < 0.7:  # each object in one relationship at most
            source, target = objects.pop(), objects.pop()
            kind = self.rng.choice(["unidirectional", "bidirectional"])
            annotations.append(
                {"t": "relationship", "name": self.name("rel"), "source": source, "target": target, "type": kind}
            )
        annotations.append({"t": "classification", "cls": self.classification()})
        return {"global_key": key, "media": "image", "annotations": annotations}

    def video(self, key: str) -> dict[str, Any]:
        width, height, frames = VIDEO
        annotations: list[dict[str, Any]] = []
        for _ in range(self.rng.randint(1, 3)):
            geometry = self.rng.choice(["box", "point", "line"])
            keyframes = self.keyframes(frames, lambda g=geometry: self.geometry(g, width, height))
            annotations.append(
                {"t": "track", "name": self.name(geometry), "geometry": geometry, "keyframes": keyframes}
            )
        ranged = sorted(self.rng.sample(range(1, frames + 1), self.rng.randint(1, 4)))
        annotations.append({"t": "video_classification", "name": self.name("q"), "frames": ranged, "answer": "a"})
        mask_frames, instances = self.masks(width, height, frames)
        annotations.append({"t": "video_mask", "frames": mask_frames, "instances": instances})
        annotations.append({"t": "classification", "cls": self.classification()})
        return {"global_key": key, "media": "video", "annotations": annotations}

    def dicom(self, key: str) -> dict[str, Any]:
        annotations: list[dict[str, Any]] = []
        for _ in range(self.rng.randint(1, 2)):
            group = self.rng.choice(sorted(self.planes))
            width, height, frames = self.planes[group]
            points = lambda w=width, h=height: [self.xy(w, h) for _ in range(self.rng.randint(2, 3))]  # noqa: E731
            annotations.append(
                {
                    "t": "dicom_line",
                    "name": self.name("line"),
                    "group": group,
                    "keyframes": self.keyframes(frames, points),
                }
            )
        for group in self.rng.sample(sorted(self.planes), self.rng.randint(1, 2)):
            width, height, frames = self.planes[group]
            mask_frames, instances = self.masks(width, height, frames)
            annotations.append({"t": "dicom_mask", "group": group, "frames": mask_frames, "instances": instances})
        return {"global_key": key, "media": "dicom", "annotations": annotations}


TOOLS = {
    "box": "rectangle",
    "polygon": "polygon",
    "line": "line",
    "point": "point",
    "mask": "raster-segmentation",
    "relationship": "edge",
}


def _question(spec: dict[str, Any]) -> dict[str, Any]:
    options = [] if spec["kind"] == "text" else [{"label": a, "value": a} for a in ("a", "b", "c")]
    return {"type": spec["kind"], "name": spec["name"], "options": options}


def ontology(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """The tools and classifications the specs name (every name is unique)."""
    tools: list[dict[str, Any]] = []
    classifications: list[dict[str, Any]] = []
    for spec in specs:
        for ann in spec["annotations"]:
            kind = ann["t"]
            if kind in ("box", "polygon", "line", "point", "mask"):
                tools.append(
                    {
                        "tool": TOOLS[kind],
                        "name": ann["name"],
                        "classifications": [_question(c) for c in ann["classifications"]],
                    }
                )
            elif kind == "relationship":
                tools.append({"tool": "edge", "name": ann["name"]})
            elif kind == "track":
                tools.append({"tool": TOOLS[ann["geometry"]], "name": ann["name"]})
            elif kind == "dicom_line":
                tools.append({"tool": "line", "name": ann["name"]})
            elif kind in ("video_mask", "dicom_mask"):
                tools += [{"tool": "raster-segmentation", "name": name} for _, name in ann["instances"]]
            elif kind == "video_classification":
                classifications.append(
                    {"type": "radio", "name": ann["name"], "options": [{"label": "a", "value": "a"}]}
                )
            else:
                classifications.append(_question(ann["cls"]))
    return {"tools": tools, "classifications": classifications}


def _media(client: Client, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """One asset per media kind (rows are created per label from these files)."""
    series = tmp_path / "series"
    write_series(series, **SERIES)
    return {
        "image": {"row_data": str(write_image(tmp_path / "image.png", *IMAGE))},
        "video": {"row_data": str(write_video(tmp_path / "video.mp4", *VIDEO)), "media_type": "video"},
        "dicom": {"row_data": str(series), "media_type": "dicom"},
    }


def test_sdk_labels_through_import_and_export_read_back_the_same(referee_python: Path, tmp_path: Path) -> None:  # noqa: F811
    # A new draw every run; LABELPORT_REFEREE_SEED replays one (the seed is in every failure message).
    seed = int(os.environ.get("LABELPORT_REFEREE_SEED") or secrets.randbits(32))
    rng = random.Random(seed)
    with Client(home=tmp_path / "home") as client:
        media = _media(client, tmp_path)
        dataset = client.create_dataset("referee")
        keys = {
            kind: [f"{kind}-{i}" for i in range(count)] for kind, count in (("image", 8), ("video", 5), ("dicom", 5))
        }
        task = dataset.create_data_rows([{**media[kind], "global_key": k} for kind, ks in keys.items() for k in ks])
        assert task.errors is None, task.errors
        ids = {row.global_key: row.id for row in task.created}
        dicom_row = client.get_data_row(ids["dicom-0"]).model
        planes = {}
        for group in PlaneGroup:
            view = plane_of(dicom_row.media_attributes, group)
            planes[group.value] = (view.width, view.height, view.frames)
        generator = Specs(rng, planes)
        specs = [getattr(generator, kind)(k) for kind, ks in keys.items() for k in ks]

        built = run(referee_python, {"build": specs})
        lines: list[dict[str, Any]] = built["lines"]
        sdk_facts: dict[str, list[str]] = built["facts"]
        assert sorted(sdk_facts) == sorted(ids), seed
        assert any("relationship" in line for line in lines) and any("masks" in line for line in lines)

        exported: list[dict[str, Any]] = []
        for kind in keys:
            project = client.create_project(kind, media_type=kind)
            project.connect_ontology(
                client.create_ontology(kind, ontology([s for s in specs if s["media"] == kind]), media_type=kind)
            )
            project.create_batch("all", global_keys=keys[kind])
            mine = [line for line in lines if line["dataRow"]["globalKey"] in keys[kind]]
            rng.shuffle(mine)  # relationships before or after their objects, masks anywhere
            job = LabelImport.create_from_objects(client, project.uid, "sdk labels", mine)
            assert job.errors == [], (seed, job.errors[:3])
            out = tmp_path / f"{kind}.ndjson"
            report = exports.export(client.hub, project.uid, "labelbox_ndjson", out)
            assert report.losses == [] and report.problems == []
            exported += [json.loads(line) for line in out.read_text().splitlines()]

        by_id = {row_id: key for key, row_id in ids.items()}
        for line in exported:  # our export names rows by id; the SDK's lines named them by global key
            line["dataRow"] = {"globalKey": by_id[line["dataRow"]["id"]]}
        ours = run(referee_python, {"describe": exported})["facts"]
        for key in ids:
            assert ours.get(key) == sdk_facts[key], f"{key} (LABELPORT_REFEREE_SEED={seed})"
