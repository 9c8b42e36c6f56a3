"""Encord's SDK referees the Encord format, at two versions either side of its classification change
(notes/encord.md sections 5 and 9): ``encord==0.1.211`` and ``encord==0.1.190``, each in its own venv
(``.venv-referee-encord-<version>`` at the repo root, created here when missing, as ``make test`` does).

1. Every label row of the corpus, read by us with the ontology it pairs with and written by us, is read by
   the SDK (with the ontology we write) to the same objects, frames, coordinates and answers as the fixture
   holds, modulo what notes section 9 lists and what labelport documents as lossy (skeleton visibility
   is visible or not; an image group is written as one row per image).
2. Every ontology of the corpus, written by us, is read by the SDK with the same features and hashes.
3. Generated label rows (all shapes, video tracks with gaps, nested and dynamic answers, DICOM series):
   our write -> SDK read -> SDK write -> our read gives back the same geometry and answers.

Each version gets ONE subprocess call per test, every case batched into it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labelport.errors import NotFoundError
from labelport.formats import get_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.formats.encord.hashes import uuid_of_hash
from labelport.formats.encord.ontology import load_ontology, read_ontology, write_ontology
from labelport.formats.encord.slices import SliceMap, ranges
from labelport.imaging import decode_encord_rle
from labelport.model import (
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    DataRow,
    DataRowKey,
    FrameMask,
    FrameMasks,
    Keyframe,
    Label,
    LabeledItem,
    LabelKind,
    Line,
    Mask,
    MaskInstance,
    MediaAttributes,
    ObjectAnnotation,
    Placement,
    Point,
    Polygon,
    Radio,
    RasterSource,
    Rectangle,
    RotatedRectangle,
    Segment,
    Skeleton,
    Text,
    TrackedObject,
    VolumeMask,
    VolumeSource,
    decoded,
)
from labelport.model.geometry import SkeletonNode
from labelport.model.pixels import Pixels

from ..conftest import REPO
from ..formats.encord_helpers import paired, rounded

pytestmark = pytest.mark.referee

VERSIONS = ("0.1.211", "0.1.190")
SCRIPT = Path(__file__).with_name("encord_referee_script.py")
ROWS = get_format("encord_label_rows")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the Encord referee is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=VERSIONS)
def referee(request: pytest.FixtureRequest) -> tuple[str, Path]:
    """(version, python) of a referee venv, created when missing (about 30 s)."""
    version: str = request.param
    venv = REPO / f".venv-referee-encord-{version}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import importlib.metadata as m, sys; sys.exit(m.version('encord') != '{version}')"]
    if python.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return version, python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"encord=={version}"],
            check=True,
            capture_output=True,
            timeout=900,
        )
        subprocess.run(check, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _unavailable(f"cannot create {venv} with encord=={version}: {exc} {detail[-500:]!r}")
    return version, python


def run_referee(python: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(python), str(SCRIPT)], input=json.dumps({"cases": cases}).encode(), capture_output=True, timeout=900
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)["results"]
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors[0]
    return results


# --- a description of a label row: what two rows must share -------------------------------------------------


def _r(value: Any) -> float:
    return round(float(value), 9) + 0.0


def _points(raw: Any) -> tuple[tuple[float, float], ...]:
    items = sorted(raw.items(), key=lambda kv: int(kv[0])) if isinstance(raw, Mapping) else enumerate(raw)
    return tuple((_r(p["x"]), _r(p["y"])) for _, p in items)


def _coordinates(obj: Mapping[str, Any]) -> Any:
    shape = obj["shape"]
    if shape in ("bounding_box", "rotatable_bounding_box"):
        box = obj["boundingBox" if shape == "bounding_box" else "rotatableBoundingBox"]
        return tuple(_r(box[k]) for k in ("x", "y", "w", "h")) + ((_r(box["theta"]),) if "theta" in box else ())
    if shape == "polygon":
        if obj.get("polygons"):
            flat = obj["polygons"][0][0]
            points = tuple((_r(flat[i]), _r(flat[i + 1])) for i in range(0, len(flat), 2))
        else:
            points = _points(obj["polygon"])
        return points[:-1] if len(points) > 3 and points[-1] == points[0] else points
    if shape == "polyline":
        return _points(obj["polyline"])
    if shape == "point":
        return (_r(obj["point"]["0"]["x"]), _r(obj["point"]["0"]["y"]))
    if shape == "bitmask":
        b = obj["bitmask"]
        mask = decode_encord_rle(b["rleString"], b["height"], b["width"])
        return (b["width"], b["height"], hashlib.sha1(np.ascontiguousarray(mask).tobytes()).hexdigest())
    if shape == "skeleton":
        nodes = sorted(obj["skeleton"].items(), key=lambda kv: int(kv[0]))
        hidden = ("invisible", "occluded", "selfOccluded")
        return tuple(
            (
                p["name"],
                _r(p["x"]),
                _r(p["y"]),
                p.get("visibility", "visible" if not any(p.get(h) for h in hidden) else "") == "visible",
            )
            for _, p in nodes
        )
    if shape == "ellipse":
        e = obj["ellipse"]
        return tuple(_r(e[k]) for k in ("x", "y", "rx", "ry", "theta"))
    raise AssertionError(shape)


def _atoms(entry: Mapping[str, Any]) -> list[Any]:
    answers = entry.get("answers")
    if isinstance(answers, str):
        return [answers]
    return [a["featureHash"] for a in answers or ()]


def _static(entries: Any) -> frozenset[tuple[str, Any]]:
    return frozenset((e["featureHash"], atom) for e in entries or () for atom in _atoms(e))


def _dynamic(entries: Any) -> frozenset[tuple[str, int, Any]]:
    return frozenset(
        (e["featureHash"], frame, atom)
        for e in entries or ()
        for start, end in e.get("range") or ()
        for frame in range(start, end + 1)
        for atom in _atoms(e)
    )


def _on(dynamic: frozenset[tuple[str, int, Any]], image: int | None) -> frozenset[tuple[str, int, Any]]:
    """Dynamic answers of an object on an image: those on its place in a group, on its one frame."""
    if image is None:
        return dynamic
    return frozenset((feature, 0, atom) for feature, frame, atom in dynamic if frame == image)


def group_units(rows: list[dict[str, Any]]) -> set[str]:
    """The images of image groups: written one row per image, an object on several of them gets a hash per image."""
    return {u["data_hash"] for r in rows if r["data_type"] == "img_group" for u in r["data_units"].values()}


def describe(rows: list[dict[str, Any]], grouped: set[str] = frozenset()) -> Any:  # type: ignore[assignment]
    """Objects (per image, or per frame), with their answers, and the classifications with their frames; objects
    on the images ``grouped`` without their hash."""
    objects: list[Any] = []
    classifications: list[Any] = []
    for row in rows:
        image_like = row["data_type"] in ("image", "img_group")
        answers = row.get("object_answers") or {}
        actions = row.get("object_actions") or {}
        per_frame: dict[str, set[int]] = {}
        features: dict[str, str] = {}
        sequences: dict[str, int] = {}
        for unit in row["data_units"].values():
            labels = unit.get("labels") or {}
            frames = {int(unit.get("data_sequence") or 0): labels} if "objects" in labels else labels
            # a one-unit row's unit is the row (the fixtures' unit hashes are not always the row's)
            name = unit["data_hash"] if row["data_type"] == "img_group" else row["data_hash"]
            sequences[name] = int(unit.get("data_sequence") or 0)
            for frame, content in frames.items():
                for entry in content.get("classifications") or ():
                    per_frame.setdefault(entry["classificationHash"], set()).add(int(frame))
                    features.setdefault(entry["classificationHash"], entry.get("featureHash"))
                for obj in content.get("objects") or ():
                    h = obj["objectHash"]
                    objects.append(
                        (
                            (unit["data_hash"] if row["data_type"] == "img_group" else row["data_hash"])
                            if image_like
                            else None,
                            None if image_like else int(frame),
                            None if unit["data_hash"] in grouped else h,
                            obj["featureHash"],
                            obj["shape"],
                            _coordinates(obj),
                            _static((answers.get(h) or {}).get("classifications")),
                            _on(_dynamic((actions.get(h) or {}).get("actions")), int(frame) if image_like else None),
                        )
                    )
        for h, answer in (row.get("classification_answers") or {}).items():
            content = _static(answer.get("classifications"))
            feature = answer.get("featureHash") or features.get(h)
            if not content:
                continue
            spans = answer.get("range") or []
            frames = {f for s, e in spans for f in range(s, e + 1)} or per_frame.get(h, set())
            if not frames and answer.get("range") != []:
                continue  # placed nowhere
            if image_like:
                for data_hash, sequence in sequences.items():
                    if not frames or sequence in frames:
                        classifications.append((data_hash, feature, content))
            else:
                classifications.append((None, feature, content, frozenset(frames)))
    return sorted(objects, key=repr), sorted(classifications, key=repr)


# --- 1 and 2: the corpus ------------------------------------------------------------------------------------


def our_rows(path: Path, ontology: Path | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    model = load_ontology(ontology).ontology if ontology is not None else read_ontology({"objects": []}).ontology
    read = list(ROWS.read(path, ReadContext(ontology=model if ontology is not None else None)))
    assert not [p for p in read if isinstance(p, Problem)]
    buffer = io.BytesIO()
    ROWS.write([i for i in read if isinstance(i, LabeledItem)], buffer, WriteContext(ontology=model))
    return json.loads(buffer.getvalue()), write_ontology(model)


def test_the_sdk_reads_our_export_of_every_corpus_row_as_the_corpus_has_it(referee: tuple[str, Path]) -> None:
    version, python = referee
    cases, expected = [], []
    for path, ontology in paired():
        if ontology is None:
            continue
        rows, written = our_rows(path, ontology)
        original = json.loads(path.read_text())
        original = original if isinstance(original, list) else [original]
        expected.append((path.name, group_units(original), describe(original, group_units(original))))
        cases.extend({"ontology": written, "row": row, "file": path.name} for row in rows)
    results = run_referee(python, cases)
    for name, grouped, wanted in expected:
        got = describe([r["row"] for c, r in zip(cases, results, strict=True) if c["file"] == name], grouped)
        assert got == wanted, f"{name} (encord {version})"


def test_the_sdk_reads_our_ontologies_with_the_same_features(referee: tuple[str, Path]) -> None:
    _, python = referee
    paths = sorted((REPO / "tests/fixtures/encord/ontology").glob("*.json"))
    paths.append(REPO / "tests/fixtures/encord/coco_exporter/ontology_structure.json")
    ours = [write_ontology(load_ontology(p).ontology) for p in paths]
    results = run_referee(python, [{"ontology": o} for o in ours])

    def features(structure: Mapping[str, Any]) -> list[Any]:
        def attribute(a: Mapping[str, Any]) -> Any:
            options = [
                (o["featureNodeHash"], o["value"], [attribute(s) for s in o.get("options", [])])
                for o in a.get("options", [])
            ]
            return (a["featureNodeHash"], a["type"], bool(a.get("dynamic")), options)

        objects = [
            (o["featureNodeHash"], o["shape"], [attribute(a) for a in o.get("attributes", [])])
            for o in structure["objects"]
        ]
        classes = [
            (c["featureNodeHash"], c.get("level"), [attribute(a) for a in c["attributes"]])
            for c in structure["classifications"]
        ]
        return [objects, classes]

    for path, result in zip(paths, results, strict=True):
        original = json.loads(path.read_text())
        original = original.get("editor", original)
        kept = [
            o for o in original["objects"] if o["shape"] not in ("audio", "text", "cuboid", "cuboid_2d", "segmentation")
        ]
        assert features(result["ontology"]) == features({**original, "objects": kept}), path.name


# --- 3: generated rows through the SDK and back ----------------------------------------------------------------

GENERATED_ONTOLOGY = {
    "objects": [
        {
            "id": "1",
            "name": "Box",
            "color": "#D33115",
            "shape": "bounding_box",
            "featureNodeHash": "boxFNH01",
            "attributes": [
                {
                    "id": "1.1",
                    "name": "Moving",
                    "type": "radio",
                    "featureNodeHash": "moveAttr",
                    "dynamic": True,
                    "options": [
                        {"id": "1.1.1", "label": "Yes", "value": "yes", "featureNodeHash": "optYes01"},
                        {"id": "1.1.2", "label": "No", "value": "no", "featureNodeHash": "optNo001"},
                    ],
                }
            ],
        },
        {
            "id": "2",
            "name": "Turned",
            "color": "#E27300",
            "shape": "rotatable_bounding_box",
            "featureNodeHash": "rbbFNH01",
        },
        {
            "id": "3",
            "name": "Outline",
            "color": "#16406C",
            "shape": "polygon",
            "featureNodeHash": "polyFNH1",
            "attributes": [
                {
                    "id": "3.1",
                    "name": "Quality",
                    "type": "radio",
                    "featureNodeHash": "qualAttr",
                    "options": [
                        {
                            "id": "3.1.1",
                            "label": "Good",
                            "value": "good",
                            "featureNodeHash": "optGood1",
                            "options": [
                                {"id": "3.1.1.1", "name": "Why", "type": "text", "featureNodeHash": "whyText1"}
                            ],
                        },
                        {"id": "3.1.2", "label": "Bad", "value": "bad", "featureNodeHash": "optBad01"},
                    ],
                },
                {
                    "id": "3.2",
                    "name": "Tags",
                    "type": "checklist",
                    "featureNodeHash": "tagsAttr",
                    "options": [
                        {"id": "3.2.1", "label": "Red", "value": "red", "featureNodeHash": "optRed01"},
                        {"id": "3.2.2", "label": "Blue", "value": "blue", "featureNodeHash": "optBlue1"},
                    ],
                },
            ],
        },
        {"id": "4", "name": "Edge", "color": "#FE9200", "shape": "polyline", "featureNodeHash": "lineFNH1"},
        {"id": "5", "name": "Tip", "color": "#FCDC00", "shape": "point", "featureNodeHash": "pointFN1"},
        {"id": "6", "name": "Lesion", "color": "#DBDF00", "shape": "bitmask", "featureNodeHash": "maskFNH1"},
        {"id": "7", "name": "Pose", "color": "#A4DD00", "shape": "skeleton", "featureNodeHash": "skelFNH1"},
    ],
    "classifications": [
        {
            "id": "8",
            "featureNodeHash": "clsFNH01",
            "attributes": [
                {
                    "id": "8.1",
                    "name": "Weather",
                    "type": "radio",
                    "featureNodeHash": "weathAtt",
                    "options": [
                        {"id": "8.1.1", "label": "Sunny", "value": "sunny", "featureNodeHash": "optSunny"},
                        {"id": "8.1.2", "label": "Rainy", "value": "rainy", "featureNodeHash": "optRainy"},
                    ],
                }
            ],
        },
        {
            "id": "9",
            "featureNodeHash": "globFNH1",
            "level": "global",
            "attributes": [
                {
                    "id": "9.1",
                    "name": "Scene",
                    "type": "checklist",
                    "featureNodeHash": "sceneAtt",
                    "options": [
                        {"id": "9.1.1", "label": "Indoor", "value": "indoor", "featureNodeHash": "optIndor"},
                        {"id": "9.1.2", "label": "Night", "value": "night", "featureNodeHash": "optNight"},
                    ],
                }
            ],
        },
    ],
}
MODEL = read_ontology(GENERATED_ONTOLOGY).ontology
TOOLS = {t.name: t for t in MODEL.tools}
WEATHER, SCENE = MODEL.classifications
HASHES = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/", min_size=8, max_size=8)
SIZES = st.sampled_from([(16, 12), (24, 16), (32, 24)])
VIDEO_FRAMES, SLICES = 30, 6


def _pixel(size: int) -> st.SearchStrategy[float]:
    return st.integers(0, size * 4).map(lambda v: v / 4)


@st.composite
def geometry(draw: Any, kind: str, width: int, height: int) -> Any:

    x, y = _pixel(width), _pixel(height)
    if kind == "Box":
        x0, x1 = sorted(draw(st.lists(x, min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(y, min_size=2, max_size=2, unique=True)))
        return Rectangle(Point(x0, y0), Point(x1, y1))
    if kind == "Turned":
        w, h = draw(st.integers(1, width // 2)), draw(st.integers(1, height // 2))
        centre = Point(draw(st.integers(w, width - w)) + 0.0, draw(st.integers(h, height - h)) + 0.0)
        return RotatedRectangle(centre, float(w), float(h), float(draw(st.integers(-179, 180))))
    if kind == "Outline":
        points = draw(st.lists(st.tuples(x, y), min_size=3, max_size=6, unique=True))
        return Polygon(tuple(Point(a, b) for a, b in points))
    if kind == "Edge":
        return Line(tuple(Point(a, b) for a, b in draw(st.lists(st.tuples(x, y), min_size=2, max_size=5))))
    if kind == "Tip":
        return Point(draw(x), draw(y))
    if kind == "Pose":
        nodes = tuple(SkeletonNode(f"point_{i}", Point(draw(x), draw(y)), draw(st.booleans())) for i in range(3))
        return Skeleton(nodes)
    raise AssertionError(kind)


def segments(keyframes: list[tuple[int, Any]]) -> tuple[Segment, ...]:
    """Keyframes in segments broken where a frame is missing, as Encord tracks read."""
    out: list[list[Keyframe]] = []
    for frame, shape in keyframes:
        if out and out[-1][-1].frame == frame - 1:
            out[-1].append(Keyframe(frame, shape))
        else:
            out.append([Keyframe(frame, shape)])
    return tuple(Segment(tuple(s)) for s in out)


def mask(draw: Any, width: int, height: int) -> np.ndarray[Any, Any]:
    seed = draw(st.integers(0, 2**16))
    array = np.random.default_rng(seed).random((height, width)) < 0.3
    array[0, 0] = True
    return array


def _answers_for(draw: Any, tool: Any) -> tuple[Any, ...]:

    out = []
    if tool.name == "Outline":
        quality, tags = tool.classifications
        option = draw(st.sampled_from(quality.options))
        nested = ()
        if option.classifications and draw(st.booleans()):
            why = option.classifications[0]
            nested = (
                ClassificationAnnotation(Text(draw(st.text("abc ", min_size=1, max_size=5))), why.name, why.schema_id),
            )
        out.append(
            ClassificationAnnotation(
                Radio(ClassificationAnswer(option.value, option.schema_id, classifications=nested)),
                quality.name,
                quality.schema_id,
            )
        )
        chosen = draw(st.lists(st.sampled_from(tags.options), min_size=1, max_size=2, unique_by=lambda o: o.value))
        chosen = sorted(chosen, key=tags.options.index)
        out.append(
            ClassificationAnnotation(
                Checklist(tuple(ClassificationAnswer(o.value, o.schema_id) for o in chosen)), tags.name, tags.schema_id
            )
        )
    return tuple(out)


def _hash_or_uuid(draw: Any) -> str:

    return uuid_of_hash(draw(HASHES)) if draw(st.booleans()) else str(draw(st.uuids(version=4)))


@st.composite
def image_item(draw: Any, index: int) -> LabeledItem:

    width, height = draw(SIZES)
    annotations: list[Any] = []
    for kind in draw(
        st.lists(st.sampled_from(["Box", "Turned", "Outline", "Edge", "Tip", "Pose", "Lesion"]), min_size=1, max_size=4)
    ):
        tool = TOOLS[kind]
        if kind == "Lesion":
            shape: Any = Mask(RasterSource(pixels=Pixels.of(mask(draw, width, height))))
        else:
            shape = draw(geometry(kind, width, height))
        confidence = draw(st.integers(0, 100)) / 100
        annotations.append(
            ObjectAnnotation(
                _hash_or_uuid(draw),
                shape,
                tool.name,
                tool.schema_id,
                confidence=confidence,
                classifications=_answers_for(draw, tool),
            )
        )
    if draw(st.booleans()):
        option = draw(st.sampled_from(WEATHER.options))
        annotations.append(
            ClassificationAnnotation(
                Radio(ClassificationAnswer(option.value, option.schema_id)),
                WEATHER.name,
                WEATHER.schema_id,
                _hash_or_uuid(draw),
                1.0,
            )
        )
    media = DataRow(
        f"row-{index}",
        f"/images/{index}.png",
        "image",
        global_key=f"img-{index}.png",
        media_attributes=MediaAttributes(mime_type="image/png", width=width, height=height),
    )
    return LabeledItem(
        DataRowKey(names=(media.id, media.global_key or "")),
        (Label(LabelKind.GROUND_TRUTH, tuple(annotations)),),
        media,
    )


@st.composite
def video_item(draw: Any, index: int) -> LabeledItem:

    width, height = draw(SIZES)
    annotations: list[Any] = []
    for kind in draw(st.lists(st.sampled_from(["Box", "Outline", "Tip", "Lesion"]), min_size=1, max_size=3)):
        tool = TOOLS[kind]
        frames = sorted(draw(st.lists(st.integers(0, VIDEO_FRAMES - 1), min_size=1, max_size=5, unique=True)))
        uuid = _hash_or_uuid(draw)
        if kind == "Lesion":
            masks = tuple(FrameMask(f, RasterSource(pixels=Pixels.of(mask(draw, width, height)))) for f in frames)
            annotations.append(FrameMasks(uuid, masks, (MaskInstance((255, 255, 255), tool.name, tool.schema_id),)))
            continue
        keyframes = [(f, draw(geometry(kind, width, height))) for f in frames]
        classifications: tuple[Any, ...] = _answers_for(draw, tool)
        if kind == "Box":
            moving = tool.classifications[0]
            spans = []
            for option in moving.options:
                on = [f for f in frames if draw(st.booleans())]
                if on:
                    spans.append(
                        ClassificationAnnotation(
                            Radio(ClassificationAnswer(option.value, option.schema_id)),
                            moving.name,
                            moving.schema_id,
                            frames=ranges(on),
                        )
                    )
            classifications = tuple(spans)
        annotations.append(
            TrackedObject(
                uuid,
                segments(keyframes),
                tool.name,
                tool.schema_id,
                confidence=draw(st.integers(0, 100)) / 100,
                classifications=classifications,
            )
        )
    option = draw(st.sampled_from(WEATHER.options))
    on = sorted(draw(st.lists(st.integers(0, VIDEO_FRAMES - 1), min_size=1, max_size=6, unique=True)))
    annotations.append(
        ClassificationAnnotation(
            Radio(ClassificationAnswer(option.value, option.schema_id)),
            WEATHER.name,
            WEATHER.schema_id,
            _hash_or_uuid(draw),
            1.0,
            frames=ranges(on),
        )
    )
    scene = draw(st.lists(st.sampled_from(SCENE.options), min_size=1, max_size=2, unique_by=lambda o: o.value))
    scene = sorted(scene, key=SCENE.options.index)
    annotations.append(
        ClassificationAnnotation(
            Checklist(tuple(ClassificationAnswer(o.value, o.schema_id) for o in scene)),
            SCENE.name,
            SCENE.schema_id,
            _hash_or_uuid(draw),
            1.0,
        )
    )
    media = DataRow(
        f"row-{index}",
        f"/videos/{index}.mp4",
        "video",
        global_key=f"vid-{index}.mp4",
        media_attributes=MediaAttributes(
            mime_type="video/mp4", width=width, height=height, frames=VIDEO_FRAMES, frame_rate=25.0
        ),
    )
    return LabeledItem(
        DataRowKey(names=(media.id, media.global_key or "")),
        (Label(LabelKind.GROUND_TRUTH, tuple(annotations)),),
        media,
    )


@st.composite
def dicom_item(draw: Any, index: int) -> LabeledItem:

    columns, rows = draw(SIZES)
    orientation = draw(st.sampled_from([(1, 0, 0, 0, 1, 0), (0, 1, 0, 1, 0, 0), (1, 0, 0, 0, 0, -1)]))
    row_dir, col_dir = np.array(orientation[:3], float), np.array(orientation[3:], float)
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = row_dir * 0.8, col_dir * 0.8, np.cross(row_dir, col_dir) * 2.5
    uids = tuple(f"1.2.826.0.1.{index}.{k}" for k in range(SLICES))
    attributes = MediaAttributes(
        mime_type="application/dicom",
        width=columns,
        height=rows,
        frames=SLICES,
        rows=rows,
        columns=columns,
        slices=SLICES,
        affine=tuple(affine.reshape(-1)),
        instance_uids=uids,
    )
    slices = SliceMap.of(attributes)
    annotations: list[Any] = []
    for kind in draw(st.lists(st.sampled_from(["Box", "Tip", "Outline"]), min_size=1, max_size=3)):
        tool = TOOLS[kind]
        frames = sorted(draw(st.lists(st.integers(0, SLICES - 1), min_size=1, max_size=3, unique=True)))
        keyframes = [(f, slices.to_plane(draw(geometry(kind, columns, rows)))) for f in frames]
        uuid = _hash_or_uuid(draw)
        confidence = draw(st.integers(0, 100)) / 100
        answers = _answers_for(draw, tool)
        if len(frames) == 1:
            annotations.append(
                ObjectAnnotation(
                    uuid,
                    keyframes[0][1],
                    tool.name,
                    tool.schema_id,
                    Placement(frames[0], slices.plane),
                    confidence,
                    classifications=answers,
                )
            )
        else:
            annotations.append(
                TrackedObject(
                    uuid,
                    segments(keyframes),
                    tool.name,
                    tool.schema_id,
                    slices.plane,
                    confidence,
                    classifications=answers,
                )
            )
    if draw(st.booleans()):
        lesion = TOOLS["Lesion"]
        volume = (np.random.default_rng(draw(st.integers(0, 2**16))).random((columns, rows, SLICES)) < 0.2).astype(
            np.uint8
        )
        volume[0, 0, 0] = 1
        annotations.append(
            VolumeMask(
                _hash_or_uuid(draw),
                VolumeSource(pixels=Pixels.of(volume)),
                (1,),
                lesion.name,
                lesion.schema_id,
                slices.plane,
                confidence=0.5,
            )
        )
    media = DataRow(f"row-{index}", f"/series/{index}", "dicom", global_key=f"ct-{index}", media_attributes=attributes)
    return LabeledItem(
        DataRowKey(names=(media.id, media.global_key or "")),
        (Label(LabelKind.GROUND_TRUTH, tuple(annotations)),),
        media,
    )


@st.composite
def items(draw: Any) -> list[LabeledItem]:
    kinds = draw(st.lists(st.sampled_from(["image", "video", "dicom"]), min_size=24, max_size=24))
    build = {"image": image_item, "video": video_item, "dicom": dicom_item}
    return [draw(build[kind](index)) for index, kind in enumerate(kinds)]


def canonical(annotation: Any) -> Any:
    """An annotation as both sides must agree on it: rounded, a volume mask by its voxels, frames as ranges."""

    if isinstance(annotation, VolumeMask):
        assert annotation.source.pixels is not None
        voxels = np.isin(np.asarray(annotation.source.pixels.array()), annotation.values)
        digest = hashlib.sha1(np.ascontiguousarray(voxels).tobytes()).hexdigest()
        return ("VolumeMask", annotation.uuid, annotation.name, annotation.group, annotation.confidence, digest)
    if hasattr(annotation, "classifications") and annotation.classifications:
        annotation = replace(annotation, classifications=tuple(sorted(annotation.classifications, key=repr)))
    return rounded(annotation)


def read_back(rows: list[dict[str, Any]], media: dict[str, Any], *, shuffled: bool = False) -> list[Any]:

    def lookup(key: Any) -> Any:
        for name in key.names:
            if name in media:
                return media[name]
        raise NotFoundError(f"no data row with {key}")

    read = list(ROWS.read(rows, ReadContext(ontology=MODEL, media=lookup)))
    problems = [str(p) for p in read if isinstance(p, Problem)]
    assert not problems, problems
    return [
        (item.data_row.names[0], sorted((canonical(decoded(a)) for a in item.labels[0].annotations), key=repr))
        for item in read
        if isinstance(item, LabeledItem)
    ]


def shuffle_slices(row: dict[str, Any], seed: int) -> dict[str, Any]:
    """A DICOM row with its slices renumbered as another tool might (each keeps its instance UID)."""
    if row["data_type"] != "dicom":
        return row

    unit = next(iter(row["data_units"].values()))
    keys = list(unit["labels"])
    renumbered = list(range(SLICES))
    random.Random(seed).shuffle(renumbered)
    unit["labels"] = {str(renumbered[int(k)]): unit["labels"][k] for k in keys}
    return row


@settings(
    max_examples=1,
    phases=[Phase.explicit, Phase.generate],  # one batch; shrinking would re-run the SDK many times
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(items())
def test_generated_rows_survive_the_sdk(referee: tuple[str, Path], items: list[LabeledItem]) -> None:
    version, python = referee
    buffer = io.BytesIO()
    report = ROWS.write(items, buffer, WriteContext(ontology=MODEL))
    assert report.losses == [] and report.problems == []
    rows = json.loads(buffer.getvalue())
    media = {item.data_row.names[0]: item.media for item in items}
    original = [
        (item.data_row.names[0], sorted((canonical(a) for a in item.labels[0].annotations), key=repr)) for item in items
    ]
    # our write -> our read is the identity, and stays so with DICOM slices renumbered (found by their UIDs)
    assert read_back(rows, media) == original
    renumbered = [shuffle_slices(json.loads(json.dumps(r)), i) for i, r in enumerate(rows)]
    assert read_back(renumbered, media) == original
    # our write -> SDK read -> SDK write -> our read is the identity
    results = run_referee(python, [{"ontology": write_ontology(MODEL), "row": r} for r in rows])
    assert read_back([r["row"] for r in results], media) == original, f"encord {version}"
