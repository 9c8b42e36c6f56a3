"""Plane views: radiological display directions, frame numbering, point mapping and whole-mask transfer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelport.errors import ValidationError
from labelport.imaging import Grid, PlaneView, SliceOrder, load_series, plane_views
from labelport.model.media import PlaneGroup
from tests.fixtures import REDBRICK

from .conftest import rotation

# (LPS axis, sign) that display x, display y and the frame index must move toward (DESIGN.md).
DISPLAY = {
    PlaneGroup.AXIAL: ((0, 1), (1, 1), (2, 1)),
    PlaneGroup.CORONAL: ((0, 1), (2, -1), (1, 1)),
    PlaneGroup.SAGITTAL: ((1, 1), (2, -1), (0, 1)),
}


def test_axial_view_of_an_axial_series_is_the_acquisition_image() -> None:
    volume = load_series(REDBRICK / "dicom/axial")
    view = PlaneView.of(volume, "axial")
    assert (view.width, view.height, view.frames) == (12, 10, 6)
    for k in range(6):
        np.testing.assert_array_equal(view.extract(volume.array, k), volume.array[:, :, k].T)
    assert view.pixel_spacing == pytest.approx((0.8, 0.9))


def test_coronal_and_sagittal_views_of_an_axial_series() -> None:
    volume = load_series(REDBRICK / "dicom/axial")  # LPS: i -> L, j -> P, k -> S
    coronal = PlaneView.of(volume, PlaneGroup.CORONAL)
    # coronal frame = row j (anterior first); x = column; y = slices from superior down.
    np.testing.assert_array_equal(coronal.extract(volume.array, 3), volume.array[:, 3, ::-1].T)
    sagittal = PlaneView.of(volume, "SAGITTAL")
    # sagittal frame = column i (right first); x = row j toward posterior; y = slices from superior.
    np.testing.assert_array_equal(sagittal.extract(volume.array, 2), volume.array[2, :, ::-1].T)


def test_sagittal_acquisition_pir() -> None:
    volume = load_series(REDBRICK / "dicom/sagittal")  # PIR: i -> P, j -> I, k -> R
    view = PlaneView.of(volume, "sagittal")
    assert view.axes == (0, 1, 2) and view.flips == (False, False, True)
    # frame 0 is the rightmost slice, which is the last acquired (k increases toward R).
    np.testing.assert_array_equal(view.extract(volume.array, 0), volume.array[:, :, -1].T)


def test_point_mapping_on_the_axial_series() -> None:
    volume = load_series(REDBRICK / "dicom/axial")
    view = PlaneView.of(volume, "axial")
    # The centre of pixel (2, 3) is x = 2.5, y = 3.5; it is voxel (2, 3, k).
    np.testing.assert_allclose(view.to_voxel([1, 2.5, 3.5]), [2, 3, 1])
    lps = view.to_lps([1, 2.5, 3.5])
    np.testing.assert_allclose(lps, [-5 + 2 * 0.8, -4 + 3 * 0.9, 10 + 2.5])
    np.testing.assert_allclose(view.from_lps(lps), [1, 2.5, 3.5])


def test_frame_base_and_slice_order() -> None:
    volume = load_series(REDBRICK / "dicom/axial")
    zero = PlaneView.of(volume, "axial")
    labelbox = PlaneView.of(volume, "axial", frame_base=1)
    np.testing.assert_array_equal(labelbox.extract(volume.array, 1), zero.extract(volume.array, 0))
    np.testing.assert_allclose(labelbox.to_voxel([1, 0.5, 0.5]), zero.to_voxel([0, 0.5, 0.5]))
    descending = PlaneView.of(volume, "axial", slice_order="descending")
    assert descending.slice_order is SliceOrder.DESCENDING
    np.testing.assert_array_equal(descending.extract(volume.array, 0), zero.extract(volume.array, 5))
    with pytest.raises(ValidationError, match=r"axial frame 0 is out of range 1\.\.6"):
        labelbox.extract(volume.array, 0)
    with pytest.raises(ValidationError, match="slice order must be 'ascending' or 'descending', found 'up'"):
        PlaneView.of(volume, "axial", slice_order="up")
    with pytest.raises(ValidationError, match="plane must be one of axial, sagittal, coronal"):
        PlaneView.of(volume, "oblique")


def test_insert_writes_into_the_volume_and_checks_the_shape() -> None:
    volume = load_series(REDBRICK / "dicom/sagittal")
    labels = np.zeros(volume.shape, dtype=np.uint8)
    view = PlaneView.of(volume, "coronal")
    mask = np.zeros((view.height, view.width), dtype=np.uint8)
    mask[1, 2] = 7
    view.insert(labels, 4, mask)
    assert labels.sum() == 7
    np.testing.assert_array_equal(view.extract(labels, 4), mask)
    (i, j, k) = np.round(view.to_voxel([4, 2.5, 1.5])).astype(int)
    assert labels[i, j, k] == 7
    with pytest.raises(
        ValidationError, match=r"coronal frame 4 is 9 x 5 px \(rows x columns\); found an image of shape \(5, 9\)"
    ):
        view.insert(labels, 4, mask.T)


def _grid(data: st.DataObject) -> tuple[Grid, float]:
    shape = tuple(data.draw(st.integers(1, 6), label=f"n{a}") for a in range(3))
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    rng = np.random.default_rng(seed)
    permutation = np.eye(3)[rng.permutation(3)] * rng.choice([-1.0, 1.0], size=3)
    tilt = data.draw(st.sampled_from([0.0, 10.0, 35.0]), label="tilt")
    directions = rotation(rng, tilt) @ permutation
    affine = np.eye(4)
    affine[:3, :3] = directions * rng.uniform(0.3, 3.0, size=3)
    affine[:3, 3] = rng.uniform(-200, 200, size=3)
    return Grid((int(shape[0]), int(shape[1]), int(shape[2])), affine), tilt


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_plane_mapping_round_trips(data: st.DataObject) -> None:
    grid, tilt = _grid(data)
    array = np.arange(np.prod(grid.shape)).reshape(grid.shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000), label="points"))
    voxels = rng.uniform(-0.5, 0.5, size=(8, 3)) + rng.integers(0, grid.shape, size=(8, 3))
    for plane, view in plane_views(grid, frame_base=data.draw(st.sampled_from([0, 1]))).items():
        # voxel <-> plane <-> LPS round trips
        np.testing.assert_allclose(view.to_voxel(view.from_voxel(voxels)), voxels, atol=1e-9)
        lps = view.to_lps(view.from_voxel(voxels))
        np.testing.assert_allclose(view.from_lps(lps), view.from_voxel(voxels), atol=1e-6)
        # the stacked view and the point mapping agree on every pixel centre
        stack = view.stack(array)
        assert stack.shape == (view.frames, view.height, view.width)
        f, y, x = (int(rng.integers(0, n)) for n in stack.shape)
        ijk = np.round(view.to_voxel([f + view.frame_base, x + 0.5, y + 0.5])).astype(int)
        assert stack[f, y, x] == array[tuple(ijk)]
        # display directions move toward the patient directions of DESIGN.md
        origin = view.to_lps([view.frame_base, 0.5, 0.5])
        steps = (
            view.to_lps([view.frame_base, 1.5, 0.5]) - origin,
            view.to_lps([view.frame_base, 0.5, 1.5]) - origin,
            view.to_lps([view.frame_base + 1, 0.5, 0.5]) - origin,
        )
        for step, (axis, sign) in zip(steps, DISPLAY[plane], strict=True):
            assert step[axis] * sign > 0
            if tilt <= 10.0:
                # Tilted up to 10 degrees about each axis, every voxel axis stays nearest its patient axis; at
                # 35 degrees about all three, the nearest-axis assignment (one patient axis per voxel axis, as
                # nibabel's io_orientation chooses) can give an axis that is not each step's largest component.
                assert abs(step[axis]) == pytest.approx(np.abs(step).max())
        # a whole mask inserted into a frame comes back unchanged
        labels = np.zeros(grid.shape, dtype=np.uint8)
        mask = rng.integers(0, 2, size=(view.height, view.width)).astype(np.uint8)
        view.insert(labels, f + view.frame_base, mask)
        np.testing.assert_array_equal(view.extract(labels, f + view.frame_base), mask)
        assert labels.sum() == mask.sum()
