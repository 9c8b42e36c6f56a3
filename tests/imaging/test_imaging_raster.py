"""Rasterisation against the Labelbox golden grids, and MaskData / Mask."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelport.errors import ValidationError
from labelport.imaging import Mask, MaskData, draw_point, draw_polygon, draw_polyline, draw_rectangle
from tests.fixtures import LABELBOX

CASES: dict[str, Any] = json.loads((LABELBOX / "referee/draw_semantics.json").read_text())["cases"]


def expected(name: str) -> np.ndarray[Any, Any]:
    return np.array(CASES[name]["raster"], dtype=np.uint8)


@pytest.mark.parametrize("name", ["polygon_int_fill_h5w6", "polygon_float_fill_h5w6_truncates"])
def test_polygon_fill(name: str) -> None:
    raster = draw_polygon(CASES[name]["points"], 5, 6)
    np.testing.assert_array_equal(raster, expected(name))


def test_polygon_outline() -> None:
    case = "polygon_outline_thickness1_h6w7"
    np.testing.assert_array_equal(draw_polygon(CASES[case]["points"], 6, 7, thickness=1), expected(case))


def test_rectangle_fill_includes_the_boundary() -> None:
    raster = draw_rectangle((1, 1), (3, 2), 4, 5)
    np.testing.assert_array_equal(raster, expected("rectangle_fill_start11_end32_h4w5"))
    # corner order does not matter
    np.testing.assert_array_equal(draw_rectangle((3, 2), (1, 1), 4, 5), raster)


def test_polyline() -> None:
    case = "line_thickness1_h3w5"
    np.testing.assert_array_equal(draw_polyline(CASES[case]["points"], 3, 5), expected(case))


@pytest.mark.parametrize(
    ("name", "size", "radius"), [("point_thickness1_h5w5", 5, 1), ("point_default_thickness10_h25w25", 25, None)]
)
def test_point_is_a_filled_circle(name: str, size: int, radius: int | None) -> None:
    kwargs = {} if radius is None else {"thickness": radius}
    raster = draw_point(CASES[name]["point"], size, size, **kwargs)
    np.testing.assert_array_equal(raster, expected(name))


def test_drawing_on_a_caller_canvas_with_a_colour() -> None:
    canvas = np.zeros((5, 6, 3), dtype=np.uint8)
    out = draw_polygon(CASES["polygon_int_fill_h5w6"]["points"], canvas=canvas, color=(255, 0, 9))
    assert out is canvas
    np.testing.assert_array_equal(canvas[..., 2] == 9, expected("polygon_int_fill_h5w6") == 1)
    layered = draw_point((2, 2), 5, 5, thickness=0, color=3)
    assert layered[2, 2] == 3 and layered.sum() == 3


def test_drawing_checks_its_inputs() -> None:
    with pytest.raises(ValidationError, match=r"a polygon needs at least 3 \(x, y\) points, found shape \(2, 2\)"):
        draw_polygon([(0, 0), (1, 1)], 4, 4)
    with pytest.raises(ValidationError, match="mask is 9001 x 4 px"):
        draw_polyline([(0, 0), (1, 1)], 4, 9001)
    with pytest.raises(ValidationError, match="give height and width, or a canvas"):
        draw_point((1, 1))


def test_mask_draw_selects_one_colour() -> None:
    case = CASES["mask_color2_draw"]
    data = MaskData.from_2D_array(np.array(case["mask2d"], dtype=np.uint8))
    mask = Mask(data, 2)
    np.testing.assert_array_equal(mask.draw(), np.array(case["draw()"]))
    assert mask.draw(color=(9, 9, 9)).shape == tuple(case["draw(color=(9,9,9)) shape"])
    assert Mask(data, (1,)).color == (1, 1, 1)
    resized = Mask(data, 2).draw(height=4, width=6)
    assert resized.shape == (4, 6) and set(np.unique(resized)) <= {0, 2}


def test_composite_mask_colours() -> None:
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[2, 3] = (0, 255, 0)
    data = MaskData(arr=rgb)
    assert Mask(data, (255, 0, 0)).pixels().sum() == 1
    assert Mask(data, (0, 255, 0)).pixels()[2, 3]
    assert not Mask(data, 255).pixels().any()  # an int colour must match all three channels


def test_mask_data_sources(tmp_path: Path) -> None:
    grey = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG")
    png = buffer.getvalue()
    (tmp_path / "m.png").write_bytes(png)
    for data in (
        MaskData(im_bytes=png),
        MaskData(file_path=tmp_path / "m.png"),
        MaskData(url=(tmp_path / "m.png").resolve().as_uri()),  # file:// URL, no network
        MaskData.from_2D_arr(grey),
        MaskData.from_2D_array(grey.astype(bool)),
        MaskData.from_2D_array(grey.astype(np.int64)),
    ):
        assert data.value.shape == (2, 2, 3)
        np.testing.assert_array_equal(data.value[..., 1], grey)


def test_mask_data_is_valid_by_construction() -> None:
    with pytest.raises(ValidationError, match=r"exactly one of arr, im_bytes, file_path, url; found \['arr', 'url'\]"):
        MaskData(arr=np.zeros((1, 1, 3), np.uint8), url="https://example.org/m.png")
    with pytest.raises(ValidationError, match=r"uint8 H x W x 3, found uint8 \(2, 2\)"):
        MaskData(arr=np.zeros((2, 2), np.uint8))
    with pytest.raises(ValidationError, match=r"values 0\.\.255, found 256"):
        MaskData.from_2D_array(np.array([[256]]))
    with pytest.raises(ValidationError, match=r"colour is an int or \(r, g, b\) with 0..255 each, found \(1, 2\)"):
        Mask(MaskData.from_2D_array(np.zeros((1, 1), np.uint8)), (1, 2))
    with pytest.raises(ValidationError, match="mask is 20 x 9001 px"):
        MaskData(arr=np.zeros((9001, 20, 3), np.uint8))
