"""Display of plane images: DICOM's window function, orientation letters, plane matrices, one slice read
alone equal to the volume's, and the PNGs the viewer gets."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelport.errors import MediaError, ValidationError
from labelport.imaging import Grid, PlaneView, load_series, load_slice, read_series_header
from labelport.imaging.display import (
    Window,
    WindowPreset,
    apply_window,
    auto_window,
    direction_letters,
    edge_letters,
    encode_png,
    overlay_png,
    plane_matrix,
)
from labelport.model.media import PlaneGroup
from tests.fixtures import HFS_SERIES
from tests.imaging.conftest import GEOMETRIES, GeneratedSeries


def test_the_window_follows_dicom_linear_voi() -> None:
    # PS3.3 C.11.2.1.2.1: x <= c - 0.5 - (w-1)/2 -> 0; x > c - 0.5 + (w-1)/2 -> 255; linear between.
    window = Window(40, 400)
    low, high = 40 - 0.5 - 399 / 2, 40 - 0.5 + 399 / 2
    values = np.array([[low - 1, low, (low + high) / 2, high, high + 1]])
    assert apply_window(values, window).tolist() == [[0, 0, 128, 255, 255]]
    # Modality values: stored * slope + intercept (CT: -1024 intercept).
    stored = np.array([[1024 + 40]], dtype=np.uint16)
    assert apply_window(stored, window, slope=1.0, intercept=-1024.0).tolist() == [[128]]
    # Width 1 is a threshold at c - 0.5.
    assert apply_window(np.array([[9.5, 10.0]]), Window(10, 1)).tolist() == [[0, 255]]
    assert apply_window(np.arange(256).reshape(16, 16), Window(128, 256)).reshape(-1).tolist() == list(range(256))


@pytest.mark.parametrize(
    ("center", "width", "message"),
    [(0, 0, "at least 1"), (float("nan"), 10, "finite"), (True, 10, "finite"), (0, "1", "finite")],
)
def test_a_bad_window_names_the_value(center: Any, width: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Window(center, width)


def test_presets_parse_and_auto_spans_the_volume() -> None:
    assert WindowPreset.parse("CT-Bone") is WindowPreset.CT_BONE
    with pytest.raises(ValidationError, match="window must be one of auto, ct-soft-tissue"):
        WindowPreset.parse("soft")
    volume = np.asfortranarray(np.arange(1000, dtype=np.int16).reshape(10, 10, 10))
    window = auto_window(volume, slope=2.0, intercept=-100.0)
    low, high = np.percentile(np.arange(1000) * 2.0 - 100, [0.5, 99.5])
    assert window == Window((low + high) / 2, high - low)
    assert auto_window(np.zeros((3, 3, 3))) == Window(0.0, 1.0)


def test_direction_letters() -> None:
    assert direction_letters([1, 0, 0]) == "L"
    assert direction_letters([0, -2, 0]) == "A"
    assert direction_letters([0, 0, -1]) == "I"
    assert direction_letters([0.6, -0.8, 0]) == "AL"
    assert direction_letters([0.9, 0, 0.1]) == "LS"
    with pytest.raises(ValidationError):
        direction_letters([0, 0, 0])


def test_edge_letters_of_a_real_sagittal_series() -> None:
    grid = load_series(HFS_SERIES).grid
    letters = {g: edge_letters(PlaneView.of(grid, g)) for g in PlaneGroup}
    assert (letters[PlaneGroup.SAGITTAL].left, letters[PlaneGroup.SAGITTAL].right) == ("A", "P")
    assert (letters[PlaneGroup.SAGITTAL].top, letters[PlaneGroup.SAGITTAL].bottom) == ("S", "I")
    assert (letters[PlaneGroup.AXIAL].left, letters[PlaneGroup.AXIAL].top) == ("R", "A")
    assert (letters[PlaneGroup.CORONAL].left, letters[PlaneGroup.CORONAL].bottom) == ("R", "I")


def _grids() -> list[Grid]:
    grids = []
    for permutation in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            affine = np.eye(4)
            affine[:3, :3] = 0
            for voxel_axis, world_axis in enumerate(permutation):
                affine[world_axis, voxel_axis] = signs[voxel_axis] * (0.5 + voxel_axis)
            affine[:3, 3] = (3.0, -7.0, 11.0)
            grids.append(Grid((4, 5, 6), affine))
    return grids


@pytest.mark.parametrize("grid", _grids())
def test_plane_matrices_and_sections_agree_with_the_plane_view(grid: Grid) -> None:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 1000, grid.shape)
    for group in PlaneGroup:
        view = PlaneView.of(grid, group)
        matrix = plane_matrix(view)
        points = rng.uniform(0, 4, size=(20, 3))  # (x, y, frame)
        fxy = points[:, [2, 0, 1]]
        ours = (matrix @ np.c_[points, np.ones(20)].T).T[:, :3]
        assert np.allclose(ours, view.to_lps(fxy))
        assert np.allclose((np.linalg.inv(matrix) @ np.c_[ours, np.ones(20)].T).T[:, :3], points)
        for frame in range(view.frames):
            section = np.take(array, view.voxel_index(frame), axis=view.axes[2])
            assert np.array_equal(view.orient(section), view.extract(array, frame))
        with pytest.raises(ValidationError, match="section across volume axis"):
            view.orient(np.zeros((2, 2)))


@pytest.mark.parametrize("name", ["flipped", "shuffled", "non_square"])
def test_one_slice_read_alone_is_the_volume_slice(name: str, make_series: Callable[..., GeneratedSeries]) -> None:
    made = make_series(**GEOMETRIES[name].arguments)
    volume = load_series(made.directory)
    header = read_series_header(made.directory)
    for k, source in enumerate(header.slice_sources):
        pixels = load_slice(source)
        assert np.array_equal(pixels.array, volume.array[:, :, k])
        assert (pixels.rescale_slope, pixels.rescale_intercept) == (volume.rescale_slope, volume.rescale_intercept)


def test_a_frame_of_a_multi_frame_file_is_read_with_its_series(make_series: Callable[..., GeneratedSeries]) -> None:
    made = make_series(enhanced=True, slices=3)
    source = read_series_header(made.directory).slice_sources[0]
    with pytest.raises(MediaError, match="multi-frame"):
        load_slice(source)


def test_pngs_for_the_viewer() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(grey)))), grey)
    rgb = np.stack([grey, grey + 1, grey + 2], axis=-1)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(rgb)))), rgb)
    mask = grey % 3 == 0
    rgba = np.asarray(Image.open(io.BytesIO(overlay_png(mask, (10, 20, 30)))))
    assert rgba.shape == (3, 4, 4)
    assert (rgba[mask] == (10, 20, 30, 255)).all() and (rgba[~mask][:, 3] == 0).all()
    with pytest.raises(ValidationError, match="uint8"):
        encode_png(grey.astype(np.uint16))
