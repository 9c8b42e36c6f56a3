"""The labelbox SDK 5.2.1 is the referee for labelbox_ndjson and labelport.types (notes/labelbox.md §6).

The SDK runs in its own venv (``.venv-referee`` at the repo root, created here when missing) through
``labelbox_referee_script.py``; every generated example goes to ONE subprocess call.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import labelport.types as lp_types
from labelport.formats.base import Problem
from labelport.formats.labelbox import ndjson as labelbox_ndjson
from labelport.model import LabeledItem

from ..conftest import REPO
from ..fixtures import LABELBOX
from ..formats.ndjson_compare import assert_same_ndjson, canonical
from . import labelbox_referee_script as script

pytestmark = pytest.mark.referee

REFEREE_VENV = REPO / ".venv-referee"
REFEREE_PYTHON = REFEREE_VENV / "bin" / "python"
REFEREE_REQUIREMENTS = ["labelbox[data]==5.2.1", "pillow<11", "packaging"]
SCRIPT = Path(__file__).with_name("labelbox_referee_script.py")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the labelbox referee is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def referee_python() -> Path:
    """The referee venv's python, creating the venv when missing (about 20-40 s)."""
    check = [str(REFEREE_PYTHON), "-c", "import labelbox, sys; sys.exit(labelbox.__version__ != '5.2.1')"]
    if REFEREE_PYTHON.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return REFEREE_PYTHON
    try:
        subprocess.run([sys.executable, "-m", "venv", str(REFEREE_VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(REFEREE_PYTHON), "-m", "pip", "install", "--quiet", *REFEREE_REQUIREMENTS],
            check=True,
            capture_output=True,
            timeout=600,
        )
        subprocess.run(check, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _unavailable(f"cannot create {REFEREE_VENV} with {REFEREE_REQUIREMENTS}: {exc} {detail[-500:]!r}")
    return REFEREE_PYTHON


def run_referee(python: Path, examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    request = json.dumps({"examples": examples})
    done = subprocess.run(
        [str(python), str(SCRIPT)], input=request.encode(), capture_output=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)["results"]
    return results


def our_ndjson(spec: dict[str, Any]) -> list[dict[str, Any]]:
    label = script.build(spec, lp_types)
    return list(json.loads(orjson.dumps(list(lp_types.NDJsonConverter.serialize([label])))))


def rewritten(ndjson: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = list(labelbox_ndjson.read(ndjson))
    problems = [str(i) for i in items if isinstance(i, Problem)]
    assert not problems, problems
    buffer = io.BytesIO()
    report = labelbox_ndjson.write([i for i in items if isinstance(i, LabeledItem)], buffer)
    assert report.losses == [], report.losses
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


def our_description(ndjson: list[dict[str, Any]]) -> Any:
    return canonical(script.describe(list(lp_types.NDJsonConverter.deserialize(ndjson))))


# ------------------------------------------------------------------ generated labels

coord = st.integers(0, 4000).map(lambda v: v / 4)  # quarter pixels: exact, so a bbox's width survives
xy = st.tuples(coord, coord).map(list)
word = st.text("abcdefghij", min_size=1, max_size=6)
uuid4 = st.uuids(version=4).map(str)


def _answers(depth: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    nested = st.just([]) if depth == 0 else st.lists(classification_spec(depth - 1), max_size=2)
    return st.lists(st.fixed_dictionaries({"name": word, "classifications": nested}), min_size=1, max_size=2)


def classification_spec(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"name": word, "kind": st.just("text"), "text": word}),
        st.fixed_dictionaries(
            {"name": word, "kind": st.sampled_from(["radio", "checklist"]), "answers": _answers(depth)}
        ),
    )


geometry_spec = st.one_of(
    st.fixed_dictionaries({"bbox": st.tuples(coord, coord, coord, coord).map(list)}),
    st.fixed_dictionaries(
        {"polygon": st.lists(xy, min_size=3, max_size=5).filter(lambda p: len({tuple(q) for q in p}) >= 3)}
    ),
    st.fixed_dictionaries({"line": st.lists(xy, min_size=2, max_size=4)}),
    st.fixed_dictionaries({"point": xy}),
    st.fixed_dictionaries(
        {
            "mask_png": st.integers(2, 5).flatmap(
                lambda h: st.lists(st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=h, max_size=h)
            )
        }
    ),
    st.fixed_dictionaries(
        {"mask_url": st.just("https://example.org/mask.png"), "color": st.tuples(*[st.integers(0, 255)] * 3).map(list)}
    ),
)


def _dicom_frames(frames: list[int], cuts: list[bool], lines: list[list[list[float]]]) -> list[Any]:
    out, segment = [], 0
    for i, frame in enumerate(frames):
        if i and cuts[i]:
            segment += 1
        out.append([frame, segment, lines[i]])
    return out


dicom_line_spec = st.fixed_dictionaries(
    {
        "t": st.just("dicom_line"),
        "uuid": uuid4,
        "group": st.sampled_from(["axial", "sagittal", "coronal"]),
        "frames": st.builds(
            _dicom_frames,
            st.lists(st.integers(1, 60), min_size=1, max_size=4, unique=True).map(sorted),
            st.lists(st.booleans(), min_size=4, max_size=4),
            st.lists(st.lists(xy, min_size=2, max_size=3), min_size=4, max_size=4),
        ),
    }
)
dicom_mask_spec = st.fixed_dictionaries(
    {
        "t": st.just("dicom_mask"),
        "group": st.sampled_from(["axial", "sagittal", "coronal"]),
        "frames": st.lists(st.integers(1, 40), min_size=1, max_size=3, unique=True).map(
            lambda fs: [[f, f"https://example.org/slice-{f}.png"] for f in fs]
        ),
        "instances": st.lists(
            st.tuples(st.tuples(*[st.integers(0, 255)] * 3).map(list), word).map(list), min_size=1, max_size=2
        ),
    }
)
annotation_spec = st.one_of(
    st.fixed_dictionaries(
        {
            "t": st.just("object"),
            "name": word,
            "uuid": uuid4,
            "geom": geometry_spec,
            "classifications": st.lists(classification_spec(1), max_size=2),
            "confidence": st.none() | st.floats(0, 1),
        }
    ),
    st.fixed_dictionaries({"t": st.just("classification"), "uuid": uuid4, "cls": classification_spec(2)}),
    dicom_line_spec,
    dicom_mask_spec,
)


def _label_spec(data: dict[str, str], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    for index, ann in enumerate(annotations):
        if ann["t"] == "dicom_line":
            ann["name"] = f"line_{index}"  # the SDK groups keyframes by feature name
    return {"data": data, "annotations": annotations}


label_spec = st.builds(
    _label_spec,
    st.one_of(
        st.builds(lambda k: {"global_key": f"study/{k}"}, word),
        st.builds(lambda k: {"uid": ("c" + k * 24)[:25].ljust(25, "0")}, word),
    ),
    st.lists(annotation_spec, min_size=1, max_size=4),
)


@settings(
    max_examples=1,
    phases=[Phase.explicit, Phase.generate],  # one batch; shrinking would re-run the SDK many times
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(st.lists(label_spec, min_size=25, max_size=25))
def test_sdk_agrees_with_us_on_generated_labels(referee_python: Path, specs: list[dict[str, Any]]) -> None:
    examples = [{"spec": spec, "ndjson": our_ndjson(spec)} for spec in specs]
    results = run_referee(referee_python, examples)
    for example, result in zip(examples, results, strict=True):
        ours = example["ndjson"]
        # Our NDJSON deserialises in the SDK to the same annotations, which it writes back the same.
        assert_same_ndjson(result["reserialized"], ours, ordered=False)
        assert canonical(result["deserialized"]) == our_description(ours)
        # The SDK's NDJSON from the same Python objects reads with our reader to the same geometry.
        assert_same_ndjson(rewritten(result["built_ndjson"]), ours, ordered=False)
        assert our_description(result["built_ndjson"]) == canonical(result["built"])


def test_sdk_reads_the_labelbox_fixtures_as_we_do(referee_python: Path) -> None:
    names = ["ndjson/image_import.json", "ndjson/nested_import.json", "derived/dicom_ndjson_from_test_dicom.json"]
    fixtures = [json.loads((LABELBOX / n).read_text()) for n in names]
    spec = {"data": {"global_key": "x"}, "annotations": []}
    results = run_referee(referee_python, [{"spec": spec, "ndjson": f} for f in fixtures])
    for fixture, result in zip(fixtures, results, strict=True):
        # Both sides invent the uuids the fixture lacks, so each is compared with the fixture itself.
        assert_same_ndjson(result["reserialized"], fixture, ordered=False)
        assert_same_ndjson(rewritten(fixture), fixture)
        assert canonical(result["deserialized"]) == our_description(fixture)


def test_recorded_sdk_roundtrip_matches_our_read_write() -> None:
    source = LABELBOX / "referee" / "labelbox-5.2.1_roundtrip.json"
    fixture = json.loads(source.read_text())
    assert_same_ndjson(rewritten(fixture["input"]), fixture["output"], ordered=False)
