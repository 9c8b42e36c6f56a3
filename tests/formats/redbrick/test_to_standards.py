"""Segmentations read from a RedBrick items list are ordinary label volumes: converted to DICOM SEG (and read
back with labelport's SEG reader) each instance keeps its voxels, overlaps included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelport.formats import get_format
from labelport.imaging.grids import volume_on_grid
from labelport.model import LabeledItem, VolumeMask, decoded
from labelport.service.convert import convert

from .helpers import AXIAL, ITEMS_FIXTURE, items_only, read, series_grid

pytest.importorskip("highdicom")


def _voxels(item: LabeledItem) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    """Each mask's voxels on the axial series grid (a SEG may cover part of it: its own grid is placed)."""
    grid = series_grid(AXIAL)
    out = {}
    for annotation in item.labels[0].annotations:
        mask = decoded(annotation)
        if isinstance(mask, VolumeMask):
            out[str(mask.name)] = np.isin(volume_on_grid(mask.source, grid, Path), mask.values)
    return out


def test_items_convert_to_dicom_seg_voxel_for_voxel(tmp_path: Path) -> None:
    result = convert(str(ITEMS_FIXTURE), "dicom_seg", tmp_path)
    assert result.report.items == 3  # the sagittal task holds drawings only (dropped, listed in the report)
    ours = {i.data_row.global_key: _voxels(i) for i in items_only(read(ITEMS_FIXTURE))[:3]}
    for key, expected in ours.items():
        path = tmp_path / f"{str(key).replace('/', '_')}.SEG.dcm"
        [item] = [i for i in get_format("dicom_seg").read(path) if isinstance(i, LabeledItem)]
        seg = _voxels(item)
        assert seg.keys() == expected.keys(), key
        for name, voxels in expected.items():
            assert np.array_equal(seg[name], voxels), (key, name)
