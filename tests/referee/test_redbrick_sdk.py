"""redbrick-sdk 2.35.4 is the referee for the RedBrick format's merge and export (notes/redbrick.md §2, §3, §7).

Hypothesis generates items lists over the axial fixture series: one to three segmentation files with
overlapping boxes, binary masks (``binaryMask`` on the series or inside ``segmentMap``) or label maps, with
and without ``label_validate``, ``prune_segmentations`` and view-only values. Our reader's merged volume and
instance/group map must equal ``redbrick.utils.nifti.process_upload``'s on the same files; and our export in
each mode (standard, binary, semantic, both), read by the SDK's ``process_download`` from our standard file
and tasks.json, must give the same arrays. Every example goes to ONE subprocess in ``.venv-redbrick`` (created
here when missing); ``process_upload`` writes under ``~/.redbrickai``, so HOME is a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labelport.formats.base import Problem, WriteContext
from labelport.formats.redbrick import tasks as redbrick
from labelport.model import LabeledItem, VolumeMask, decoded
from labelport.model.ontology import Ontology, Tool, ToolType

from ..conftest import REPO
from ..fixtures import REDBRICK
from ..formats.redbrick.helpers import AXIAL_FILES, read, save_on, series_grid, write_items

pytestmark = pytest.mark.referee

REDBRICK_VENV = REPO / ".venv-redbrick"
REDBRICK_PYTHON = REDBRICK_VENV / "bin" / "python"
REQUIREMENTS = ["redbrick-sdk==2.35.4"]
SCRIPT = Path(__file__).with_name("redbrick_referee_script.py")
SHAPE = (12, 10, 6)  # the axial fixture series: columns, rows, slices
CATEGORIES = ("a", "b", "c")
ONTOLOGY = Ontology("o", tuple(Tool(ToolType.RASTER_SEGMENTATION, c) for c in CATEGORIES))  # class ids 0, 1, 2
MODES = [(False, None), (False, False), (False, True), (True, None), (True, False), (True, True)]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the redbrick-sdk referee is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redbrick_python() -> Path:
    """The referee venv's python, creating the venv when missing (about a minute)."""
    check = [
        str(REDBRICK_PYTHON),
        "-c",
        "import importlib.metadata as m, sys; sys.exit(m.version('redbrick-sdk') != '2.35.4')",
    ]
    if REDBRICK_PYTHON.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return REDBRICK_PYTHON
    try:
        subprocess.run([sys.executable, "-m", "venv", str(REDBRICK_VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(REDBRICK_PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            check=True,
            capture_output=True,
            timeout=900,
        )
        subprocess.run(check, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _unavailable(f"cannot create {REDBRICK_VENV} with {REQUIREMENTS}: {exc} {detail[-500:]!r}")
    return REDBRICK_PYTHON


def run_referee(python: Path, request: dict[str, Any], folder: Path) -> dict[str, Any]:
    result = folder / "referee-result.json"
    env = {**os.environ, "HOME": str(folder), "REDBRICK_DISABLE_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(python), str(SCRIPT)],
        input=json.dumps({**request, "result": str(result)}).encode(),
        capture_output=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    answer: dict[str, Any] = json.loads(result.read_text())
    return answer


# ------------------------------------------------------------------ generated items lists

box = st.tuples(*[st.integers(0, n - 1) for n in SHAPE], *[st.integers(1, 5) for _ in SHAPE])


def _draw(boxes: list[tuple[int, ...]], values: list[int]) -> np.ndarray[Any, Any]:
    array = np.zeros(SHAPE, dtype=np.uint8)
    for (i, j, k, di, dj, dk), value in zip(boxes, values, strict=True):
        array[i : i + di, j : j + dj, k : k + dk] = value
    return array


label_file = st.integers(1, 3).flatmap(
    lambda n: st.builds(
        _draw, st.lists(box, min_size=n, max_size=n), st.lists(st.integers(1, 6), min_size=n, max_size=n)
    )
)
binary_file = st.integers(1, 2).flatmap(
    lambda n: st.builds(_draw, st.lists(box, min_size=n, max_size=n), st.just([1] * n))
)


@st.composite
def example(draw: st.DrawFn) -> dict[str, Any]:
    binary = draw(st.booleans())
    files = draw(st.lists(binary_file if binary else label_file, min_size=1, max_size=3))
    prune, validate = draw(st.booleans()), draw(st.booleans())
    keep = not binary and draw(st.booleans())
    if binary:
        keys = draw(st.lists(st.integers(1, 40), min_size=len(files), max_size=len(files), unique=True))
        mapped = {k: (draw(st.sampled_from(CATEGORIES)), i) for i, k in enumerate(keys)}
    else:
        present = sorted({int(v) for f in files for v in np.unique(f) if v})
        # Values the map leaves out only where the import allows them (view-only or pruned); map entries
        # without voxels only where they are pruned (labelport refuses both otherwise, RedBrick does not).
        left_out = draw(st.sets(st.sampled_from(present))) if present and (keep or prune) else set()
        extra = draw(st.sets(st.integers(7, 9), max_size=1)) if prune else set()
        mapped = {k: (draw(st.sampled_from(CATEGORIES)), None) for k in sorted((set(present) - left_out) | extra)}
    return {
        "binary": binary,
        "inside": draw(st.booleans()),
        "files": files,
        "map": mapped,
        "prune": prune,
        "validate": validate,
        "keep": keep,
    }


def _items(spec: dict[str, Any], index: int, folder: Path) -> tuple[Path, list[str]]:
    grid = series_grid(REDBRICK / "dicom" / "axial")
    names = []
    for number, array in enumerate(spec["files"]):
        path = save_on(array, grid, folder / f"ex{index}-{number}.nii.gz")
        names.append(str(path))
    segment_map: dict[str, Any] = {}
    for key, (category, file) in spec["map"].items():
        segment_map[str(key)] = {"category": category, "mask": names[file]} if spec["binary"] else category
    series: dict[str, Any] = {"name": "S", "items": AXIAL_FILES, "segmentations": names, "segmentMap": segment_map}
    if spec["binary"]:
        if spec["inside"]:
            segment_map["binaryMask"] = True
        else:
            series["binaryMask"] = True
    return write_items(folder, [{"name": f"t{index}", "series": [series]}], f"ex{index}.json"), names


@settings(
    # Each example is a batch of 40 items lists for one SDK run. Hypothesis' first batch is its simplest (one
    # small file each); the next ones are the varied ones. No shrinking: it would re-run the SDK many times.
    max_examples=3,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(st.lists(example(), min_size=40, max_size=40))
def test_sdk_merges_and_splits_as_we_do(
    redbrick_python: Path, tmp_path_factory: pytest.TempPathFactory, specs: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("referee")
    uploads, ours, downloads, expected = [], [], [], []
    for index, spec in enumerate(specs):
        source, names = _items(spec, index, folder)
        found = read(
            source,
            folder,
            label_validate=spec["validate"],
            prune_segmentations=spec["prune"],
            keep_unmapped=spec["keep"],
        )
        ours.append(found)
        uploads.append(
            {
                "files": names,
                "instances": {str(k): None for k in spec["map"]},
                "binary": spec["binary"],
                "masks": {str(k): names[f] for k, (_, f) in spec["map"].items()} if spec["binary"] else {},
                "label_validate": spec["validate"],
                "prune": spec["prune"],
                "out": str(folder / f"ex{index}-sdk.nii.gz"),
            }
        )
        items = [f for f in found if isinstance(f, LabeledItem)]
        if not items or not _masks(items[0]):
            continue
        for semantic, binary in MODES:
            out = folder / f"ex{index}-out-{int(semantic)}-{binary}"
            report = redbrick.write(
                items, out, WriteContext(ontology=ONTOLOGY, options={"semantic": semantic, "binary": binary})
            )
            assert report.losses == [] or spec["keep"], report.losses
            standard = folder / f"ex{index}-std"
            if not standard.exists():
                redbrick.write(items, standard, WriteContext(ontology=ONTOLOGY, options={"binary": False}))
            series = json.loads((standard / "tasks.json").read_text())[0]["series"][0]
            labels = [
                {
                    "classid": CATEGORIES.index(entry["category"]),
                    "dicom": {
                        "instanceid": int(key),
                        **({"groupids": entry["overlappingGroups"]} if entry.get("overlappingGroups") else {}),
                    },
                }
                for key, entry in series["segmentMap"].items()
            ]
            work = folder / f"ex{index}-dl-{int(semantic)}-{binary}"
            work.mkdir()
            copy = work / "S.nii.gz"
            shutil.copyfile(standard / series["segmentations"], copy)
            downloads.append({"labels": labels, "file": str(copy), "semantic": semantic, "binary": binary})
            expected.append(out)
    results = run_referee(redbrick_python, {"uploads": uploads, "downloads": downloads}, folder)
    compared = 0
    for spec, found, theirs in zip(specs, ours, results["uploads"], strict=True):
        problems = [f for f in found if isinstance(f, Problem)]
        if theirs["error"] is not None:
            assert problems, (spec, theirs)
            continue
        assert not problems, (spec, [str(p) for p in problems], theirs)
        [item] = found
        assert isinstance(item, LabeledItem)
        masks = _masks(item)
        if theirs["file"] is None:  # everything pruned
            assert masks == []
            continue
        sdk_volume = np.asarray(nib.load(theirs["file"]).dataobj)
        sdk_instances = {int(k): tuple(v or ()) for k, v in theirs["instances"].items()}
        assert {m.values[0]: m.values[1:] for m in masks} == {
            k: v for k, v in sdk_instances.items() if k in spec["map"]
        }
        if masks:
            volume = np.asarray(masks[0].source.pixels.array())  # type: ignore[union-attr]
            assert np.array_equal(volume, sdk_volume) and volume.dtype == sdk_volume.dtype
            compared += 1
    assert compared >= 10  # most examples merge (not all error or prune to nothing)
    for out, theirs in zip(expected, results["downloads"], strict=True):
        series = json.loads((out / "tasks.json").read_text())[0]["series"][0]
        assert (series["binaryMask"], series["semanticMask"]) == (theirs["binary_mask"], theirs["semantic_mask"])
        ours_files = series["segmentations"] if isinstance(series["segmentations"], list) else [series["segmentations"]]
        assert sorted(Path(p).name for p in ours_files) == sorted(Path(p).name for p in theirs["masks"])
        by_name = {Path(p).name: p for p in theirs["masks"]}
        for path in ours_files:
            mine = np.asarray(nib.load(str(out / path)).dataobj)
            sdk = np.asarray(nib.load(by_name[Path(path).name]).dataobj)
            assert np.array_equal(mine, sdk), (out, path)


def _masks(item: LabeledItem) -> list[VolumeMask]:
    return [a for label in item.labels for a in map(decoded, label.annotations) if isinstance(a, VolumeMask)]
