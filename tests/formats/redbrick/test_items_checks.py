"""Each check RedBrick skips, with a bad input and the exact error; the good task of the same items list still
reads (and, through the service, lands: see test_items_import.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelport.formats.base import Problem
from labelport.model import LabeledItem, VolumeMask, decoded

from .helpers import AXIAL, INPUTS, LPS_TO_RAS, label_map, read, save_on, series_grid, write_items

GOOD = {"segmentations": "in/axial_seg_labelmap.nii.gz", "segmentMap": {"1": "a", "2": "b", "3": "c"}}
BIN_A, BIN_B = "in/axial_bin_a.nii.gz", "in/axial_bin_b.nii.gz"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The axial series and the label inputs beside an items list, with the bad files the checks need."""
    shutil.copytree(AXIAL, tmp_path / "ax")
    shutil.copytree(INPUTS, tmp_path / "in")
    grid = series_grid(AXIAL)
    labels = label_map()
    save_on(labels[:, :, :5], grid, tmp_path / "five.nii.gz")
    shifted = LPS_TO_RAS @ grid.affine_lps
    shifted[0, 3] += 2.0
    save_on(labels, grid, tmp_path / "shifted.nii.gz", shifted)
    save_on(np.where(labels == 3, -1, labels.astype(np.int16)).astype(np.int16), grid, tmp_path / "neg.nii.gz")
    save_on(np.where(labels == 3, 2.5, labels).astype(np.float32), grid, tmp_path / "frac.nii.gz")
    save_on(labels[..., np.newaxis], grid, tmp_path / "four.nii.gz")
    return tmp_path


def _task(name: str, **series: Any) -> dict[str, Any]:
    items = [f"ax/{p.name}" for p in sorted(AXIAL.iterdir())]
    return {"name": name, "series": [{"name": "CT", "items": items, **series}]}


CASES = [
    (
        "segmentation shape against the image",
        {"segmentations": "in/mismatch_big.nii.gz", "segmentMap": {"5": "x"}},
        "[0].series[0]",
        "segmentation 'in/mismatch_big.nii.gz' has shape (14, 10, 6); the series is 12 columns x 10 rows x 6 slices",
    ),
    (
        "slices against the DICOM instance count",
        {**GOOD, "segmentations": "five.nii.gz"},
        "[0].series[0]",
        "segmentation 'five.nii.gz' has 5 slices but the series has 6 (6 DICOM instances)",
    ),
    (
        "shape between files",
        {**GOOD, "segmentations": ["in/axial_seg_labelmap.nii.gz", "five.nii.gz"]},
        "[0].series[0].segmentations",
        "segmentation 'five.nii.gz' has shape (12, 10, 5) but 'in/axial_seg_labelmap.nii.gz' (the first file) has "
        "(12, 10, 6)",
    ),
    (
        "affines that disagree",
        {**GOOD, "segmentations": "shifted.nii.gz"},
        "[0].series[0]",
        "segmentation 'shifted.nii.gz' does not lie on the series grid: its affine (RAS) is [[-0.8, 0, 0, 7], "
        "[0, -0.9, 0, 4], [0, 0, 2.5, 10], [0, 0, 0, 1]], the series' [[-0.8, 0, 0, 5], [0, -0.9, 0, 4], "
        "[0, 0, 2.5, 10], [0, 0, 0, 1]] (tolerance 0.001 mm)",
    ),
    (
        "negative values",
        {"segmentations": "neg.nii.gz", "segmentMap": {"1": "a", "2": "b"}},
        "[0].series[0]",
        "segmentation 'neg.nii.gz' holds negative values (-1); a segmentation holds whole numbers 0..65535 (RedBrick "
        "would round or wrap them)",
    ),
    (
        "non-integer values",
        {"segmentations": "frac.nii.gz", "segmentMap": {"1": "a", "2": "b"}},
        "[0].series[0]",
        "segmentation 'frac.nii.gz' holds non-integer values (2.5); a segmentation holds whole numbers 0..65535 "
        "(RedBrick would round or wrap them)",
    ),
    (
        "values missing from the segmentMap",
        {**GOOD, "segmentMap": {"1": "a", "2": "b"}},
        "[0].series[0].segmentMap",
        "value 3 of 'in/axial_seg_labelmap.nii.gz' is not in the segmentMap (keys 1, 2); map it, or import with "
        "keep_unmapped to keep it as view-only voxels (as RedBrick does) or prune_segmentations to drop it",
    ),
    (
        "segmentMap keys with no voxels",
        {**GOOD, "segmentMap": {"1": "a", "2": "b", "3": "c", "7": "d", "8": 4}},
        "[0].series[0].segmentMap",
        "segmentMap keys 7 ('d'), 8 (class id 4) have no voxels in 'in/axial_seg_labelmap.nii.gz'; remove them, or "
        "import with prune_segmentations to drop them",
    ),
    (
        "a binary file mapping to more than one instance",
        {
            "segmentations": [BIN_A],
            "binaryMask": True,
            "segmentMap": {"1": {"category": "a", "mask": BIN_A}, "2": {"category": "b", "mask": BIN_A}},
        },
        "[0].series[0].segmentMap",
        "binary segmentation 'in/axial_bin_a.nii.gz' is the mask of segmentMap entries 1, 2; a binary file holds "
        "one instance",
    ),
    (
        "a binary file mapping to no instance",
        {"segmentations": [BIN_A, BIN_B], "binaryMask": True, "segmentMap": {"1": {"category": "a", "mask": BIN_A}}},
        "[0].series[0].segmentations",
        "binary segmentation 'in/axial_bin_b.nii.gz' is the mask of no segmentMap entry (RedBrick would ignore it, "
        "or keep its raw values if it is the first file)",
    ),
    (
        "a volume of four dimensions",
        {"segmentations": "four.nii.gz", "segmentMap": {"1": "a"}},
        "[0].series[0]",
        "segmentation 'four.nii.gz' has 4 dimensions (shape (12, 10, 6, 1)); it must be a 3-D volume "
        "[column, row, slice]",
    ),
    (
        "PNG masks without binary mode",
        {"segmentations": "in/axial_bin_a.nii.gz", "pngMask": True, "segmentMap": {"1": "a"}},
        "[0].series[0].pngMask",
        "pngMask needs binaryMask (RedBrick: PNG mask upload only supports binary masks)",
    ),
    (
        "a missing segmentation file",
        {"segmentations": "in/nope.nii.gz", "segmentMap": {"1": "a"}},
        "[0].series[0].segmentations",
        "segmentation 'in/nope.nii.gz' does not exist in the items list's folder",
    ),
]


@pytest.mark.parametrize(("check", "series", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_check_redbrick_skips_fails_the_task_and_names_it(
    folder: Path, check: str, series: dict[str, Any], path: str, message: str
) -> None:
    source = write_items(folder, [_task("bad", **series), _task("good", **GOOD)])
    found = read(source, folder)
    problems = [f for f in found if isinstance(f, Problem)]
    assert [str(p) for p in problems] == [
        f"{source}, line 1, {path}: task 'bad', series 'CT': {message.format(folder=folder)}"
    ]
    assert problems[0].data_row is not None and problems[0].data_row.global_key == "bad/CT"
    items = [f for f in found if isinstance(f, LabeledItem)]
    assert [i.data_row.global_key for i in items] == ["good/CT"]
    assert len(items[0].labels[0].annotations) == 3


def test_label_validate_gives_redbricks_message(folder: Path) -> None:
    source = write_items(folder, [_task("v", **{**GOOD, "segmentMap": {"1": "a", "2": "b"}})])
    [problem] = read(source, folder, label_validate=True)
    assert isinstance(problem, Problem)
    assert problem.message == (
        "task 'v', series 'CT': Instance IDs in segmentation file(s) and segmentMap do not match.\n"
        "Segmentation file(s) have instances: {1, 2, 3} and segmentMap has instances: {1, 2}\n"
        "Segmentation(s): ['in/axial_seg_labelmap.nii.gz']"
    )


def test_unmapped_values_stay_as_view_only_voxels_only_when_asked(folder: Path) -> None:
    source = write_items(folder, [_task("v", **{**GOOD, "segmentMap": {"1": "a", "2": "b"}})])
    [item] = read(source, folder, keep_unmapped=True)
    assert isinstance(item, LabeledItem)
    masks = [decoded(a) for a in item.labels[0].annotations]
    assert [(m.name, m.values) for m in masks if isinstance(m, VolumeMask)] == [("a", (1,)), ("b", (2,))]
    volume = masks[0].source.pixels.array()  # type: ignore[union-attr]
    assert np.array_equal(volume, label_map())  # value 3 kept, owned by no annotation (view-only)


def test_prune_drops_unmapped_values_and_empty_keys(folder: Path) -> None:
    source = write_items(folder, [_task("p", **{**GOOD, "segmentMap": {"1": "a", "3": "c", "9": "z"}})])
    [item] = read(source, folder, prune_segmentations=True)
    assert isinstance(item, LabeledItem)
    masks = [decoded(a) for a in item.labels[0].annotations]
    assert [(m.name, m.values) for m in masks if isinstance(m, VolumeMask)] == [("a", (1,)), ("c", (3,))]
    expected = np.where(label_map() == 2, 0, label_map())
    assert np.array_equal(masks[0].source.pixels.array(), expected)  # type: ignore[union-attr]


def test_duplicate_task_and_series_names_are_refused(folder: Path) -> None:
    twice = _task("t", **GOOD)
    twice["series"] = [twice["series"][0], twice["series"][0]]
    source = write_items(folder, [_task("t", **GOOD), _task("t", **GOOD), {**twice, "name": "u"}])
    found = read(source, folder)
    assert [str(f) for f in found if isinstance(f, Problem)] == [
        f"{source}, line 1, [1].name: task 't': the name is used twice (first at [0]); task names are unique, as "
        "RedBrick requires",
        f"{source}, line 1, [2].series[1].name: task 'u', series 'CT': the series name 'CT' is used twice in the task",
    ]
    assert [f.data_row.global_key for f in found if isinstance(f, LabeledItem)] == ["t/CT"]
