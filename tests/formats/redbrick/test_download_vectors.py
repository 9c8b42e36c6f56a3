"""The 18 ``process_download`` vectors of redbrick-sdk's own tests (3 cases x semantic x binary None/F/T),
against our split of a label volume into RedBrick's export files.

Source: redbrick-ai/redbrick-sdk ``tests/test_utils/test_process_download.py`` @ ea6c01c (SOURCES.md).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from labelport.formats.redbrick.splits import SegmentLabel, split

from ...fixtures import REDBRICK

VECTORS = json.loads((REDBRICK / "upstream" / "process_download_vectors.json").read_text())
CASES = [
    (case, semantic, binary)
    for case in VECTORS["cases"]
    for semantic in (False, True)
    for binary in (None, False, True)
]


@pytest.mark.parametrize(("case", "semantic", "binary"), CASES, ids=[f"{c['name']}-s{s:d}-b{b}" for c, s, b in CASES])
def test_process_download_vector(case: dict[str, Any], semantic: bool, binary: bool | None) -> None:
    data = case["data"]
    volume = None if data is None else np.array(data["data"], dtype=np.int32).reshape(data["shape"]).astype(np.uint16)
    labels = [
        SegmentLabel(label["dicom"]["instanceid"], label["classid"], tuple(label["dicom"].get("groupids") or ()))
        for label in case["labels"]
    ]
    expected = case["expected"][f"semantic_mask={semantic},binary_mask={binary}"]
    result = split(volume, labels, semantic=semantic, binary=binary)
    got: dict[str, Any] = {}
    if result.single is not None:
        got["None"] = result.single.astype(np.int64).tolist()
    for key, mask in result.files.items():
        got[str(key)] = mask.astype(np.int64).tolist()
    assert got == {k: v["data"] for k, v in expected["instances"].items()}
    assert (result.semantic, result.binary) == (expected["semantic_mask"], expected["binary_mask"])
