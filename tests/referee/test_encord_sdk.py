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
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelport.formats import get_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.formats.encord.ontology import load_ontology, read_ontology, write_ontology
from labelport.imaging import decode_encord_rle
from labelport.model import LabeledItem

from ..conftest import REPO
from ..formats.encord_helpers import paired

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
