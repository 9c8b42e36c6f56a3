"""The 64 ``process_upload`` vectors of redbrick-sdk's own tests (16 cases x label_validate x prune), against
our merge: each returned instance's voxels (its value and its groups) equal the SDK's expected arrays, and
where the SDK returned nothing (an error, or everything pruned), ours gives no instance either.

Source: redbrick-ai/redbrick-sdk ``tests/test_utils/test_process_upload.py`` @ ea6c01c (fixtures SOURCES.md).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from labelport.formats.redbrick.merge import ArrayFile, MergeError, merge

from ...fixtures import REDBRICK

VECTORS = json.loads((REDBRICK / "upstream" / "process_upload_vectors.json").read_text())
# The SDK's tests write arrays with nibabel's dtype="compat": 64-bit types become their 32-bit kin.
COMPAT = {"int64": np.int32, "float64": np.float32}


def _array(spec: dict[str, Any]) -> np.ndarray[Any, Any]:
    return np.array(spec["data"], dtype=COMPAT.get(spec["dtype"], spec["dtype"])).reshape(spec["shape"])


def _cases() -> list[tuple[str, dict[str, Any], bool, bool]]:
    out = []
    for case in VECTORS["cases"]:
        for validate in (False, True):
            for prune in (False, True):
                out.append((case["name"], case, validate, prune))
    return out


@pytest.mark.parametrize(
    ("name", "case", "validate", "prune"), _cases(), ids=[f"{c[0]}-v{c[2]:d}-p{c[3]:d}" for c in _cases()]
)
def test_process_upload_vector(name: str, case: dict[str, Any], validate: bool, prune: bool) -> None:
    files: list[ArrayFile] = []
    masks: dict[int, int] = {}
    for entry in case["files"]:
        key = entry["instance_key"]
        for index, spec in enumerate(entry["arrays"]):
            if key is not None and key not in masks:
                masks[key] = len(files)
            files.append(ArrayFile(f"{key or 0}-{index}.nii.gz", _array(spec)))
    instances = {int(k): v for k, v in case["segment_map_instances"].items()}
    expected = case["expected"][f"label_validate={validate},prune_segmentations={prune}"]
    try:
        result = merge(files, instances, binary=case["binary_mask"], masks=masks, label_validate=validate, prune=prune)
    except MergeError:
        assert expected == {}
        return
    if result.labels is None:
        assert expected == {} and result.instances == {}
        return
    assert result.labels.dtype == (np.uint8 if int(result.labels.max(initial=0)) < 256 else np.uint16)
    got = {
        str(instance): np.isin(result.labels, [instance, *groups]).astype(np.int64).tolist()
        for instance, groups in result.instances.items()
    }
    assert got == {k: v["data"] for k, v in expected.items()}


@pytest.mark.parametrize(
    ("given", "recorded", "instances"),
    [
        ("float.nii.gz", "upload_float_rounding.nii.gz", {1: None, 3: None}),
        ("neg.nii.gz", "upload_negative_values.nii.gz", {1: None}),
        ("empty.nii.gz", "upload_empty.nii.gz", {1: None}),
    ],
)
def test_values_are_read_as_process_upload_reads_them(given: str, recorded: str, instances: dict[int, Any]) -> None:
    """Fractions rounded, negative values wrapped, an empty file kept: what redbrick-sdk 2.35.4 wrote for these
    inputs (sdk_outputs/process_upload). labelport's import refuses the first two before merging."""
    import nibabel as nib

    array = np.asanyarray(nib.load(str(REDBRICK / "nifti" / "inputs" / given)).dataobj)
    result = merge([ArrayFile(given, array)], instances)
    expected = np.asanyarray(nib.load(str(REDBRICK / "sdk_outputs" / "process_upload" / recorded)).dataobj)
    assert result.labels is not None
    assert np.array_equal(result.labels, expected) and result.labels.dtype == expected.dtype
