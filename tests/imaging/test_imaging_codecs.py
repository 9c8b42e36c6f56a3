"""Mask codecs: Encord vectors, pycocotools as referee, round trips, and the size limit."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from pycocotools import mask as coco_mask

from labelport.errors import ValidationError
from labelport.imaging import (
    decode_coco_rle,
    decode_encord_rle,
    decode_png_binary,
    decode_png_composite,
    encode_coco_rle,
    encode_encord_rle,
    encode_png_binary,
    encode_png_composite,
)
from labelport.imaging.codecs import counts_to_string, string_to_counts
from tests.fixtures import ENCORD

# pycocotools 2.0.x on numpy 2 warns about its own __array__; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

VECTORS: list[dict[str, Any]] = json.loads((ENCORD / "expected/bitmask_rle_vectors.json").read_text())["cases"]


def vector_mask(case: dict[str, Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.array([[c == "1" for c in row] for row in case["rows"]], dtype=bool)


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_encord_vectors_decode_and_reencode_exactly(case: dict[str, Any]) -> None:
    mask = vector_mask(case)
    assert mask.shape == (case["height"], case["width"])
    np.testing.assert_array_equal(decode_encord_rle(case["encord_rleString"], case["height"], case["width"]), mask)
    assert encode_encord_rle(mask) == case["encord_rleString"]
    assert string_to_counts(case["encord_rleString"]).tolist() == case["encord_counts"]
    assert encode_coco_rle(mask) == {"size": [case["height"], case["width"]], "counts": case["coco_counts_string"]}
    assert encode_coco_rle(mask, compressed=False)["counts"] == case["coco_counts"]


masks = hnp.arrays(
    dtype=np.bool_,
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    elements=st.booleans(),
)


def blocky(data: st.DataObject) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Masks with long runs too (counts above 31 need several 5-bit groups and negative deltas)."""
    height = data.draw(st.integers(1, 300), label="height")
    width = data.draw(st.integers(1, 300), label="width")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(int(rng.integers(0, 6))):
        r0, c0 = rng.integers(0, height), rng.integers(0, width)
        mask[r0 : r0 + rng.integers(1, 120), c0 : c0 + rng.integers(1, 120)] ^= True
    return mask


@settings(max_examples=80, deadline=None)
@given(mask=masks)
def test_coco_rle_equals_pycocotools(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> None:
    reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    ours = encode_coco_rle(mask)
    assert ours["counts"] == reference["counts"].decode("ascii")
    assert ours["size"] == list(reference["size"])
    np.testing.assert_array_equal(decode_coco_rle(reference), mask)  # bytes counts, as pycocotools returns
    np.testing.assert_array_equal(coco_mask.decode({"size": ours["size"], "counts": ours["counts"]}), mask)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_long_runs_match_pycocotools_and_encord_layout(data: st.DataObject) -> None:
    mask = blocky(data)
    reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode("ascii")
    assert encode_coco_rle(mask)["counts"] == reference
    # Encord's row-major string is pycocotools' string of the transpose (notes/encord.md section 4).
    transposed = coco_mask.encode(np.asfortranarray(mask.T.astype(np.uint8)))["counts"].decode("ascii")
    assert encode_encord_rle(mask) == transposed


@settings(max_examples=80, deadline=None)
@given(mask=masks)
def test_mask_round_trips_through_every_codec(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> None:
    height, width = mask.shape
    coco = encode_coco_rle(mask)
    coco_list = encode_coco_rle(mask, compressed=False)
    encord = encode_encord_rle(mask)
    np.testing.assert_array_equal(decode_coco_rle(coco), mask)
    np.testing.assert_array_equal(decode_coco_rle(coco_list), mask)
    np.testing.assert_array_equal(decode_encord_rle(encord, height, width), mask)
    png = encode_png_binary(decode_encord_rle(encord, height, width))
    np.testing.assert_array_equal(decode_png_binary(png), mask)
    assert string_to_counts(counts_to_string(coco_list["counts"])).tolist() == coco_list["counts"]
    # the PNG holds 0 and 1, grey (Labelbox's mask.png)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "L" and set(np.unique(np.asarray(image))) <= {0, 1}


def test_composite_png_round_trip_and_tolerant_reading() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png_composite(encode_png_composite(rgb)), rgb)
    rgba = np.dstack([rgb, np.full((5, 7), 128, np.uint8)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_png_composite(buffer.getvalue()), rgb)  # alpha dropped
    grey = encode_png_binary(rgb[..., 0] > 100)
    composite = decode_png_composite(grey)
    assert composite.shape == (5, 7, 3) and np.array_equal(composite[..., 0], composite[..., 2])
    with pytest.raises(ValidationError, match="differing channels"):
        decode_png_binary(encode_png_composite(rgb))
    # 0/255 grey masks are read as binary too
    buffer = io.BytesIO()
    Image.fromarray((rgb[..., 0] > 100).astype(np.uint8) * 255, mode="L").save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_png_binary(buffer.getvalue()), rgb[..., 0] > 100)


def test_masks_above_9000_px_are_rejected_with_the_size() -> None:
    message = r"mask is 9001 x 20 px \(width x height\); masks larger than 9000 px on a side are rejected"
    big = np.zeros((20, 9001), dtype=bool)
    with pytest.raises(ValidationError, match=message):
        encode_encord_rle(big)
    with pytest.raises(ValidationError, match=message):
        encode_coco_rle(big)
    with pytest.raises(ValidationError, match=message):
        decode_encord_rle("0", 20, 9001)
    with pytest.raises(ValidationError, match=message):
        decode_coco_rle({"size": [20, 9001], "counts": [180020]})
    buffer = io.BytesIO()
    Image.new("L", (9001, 20)).save(buffer, format="PNG")
    with pytest.raises(ValidationError, match=message):  # refused from the header, before decoding
        decode_png_binary(buffer.getvalue())
    encode_encord_rle(np.zeros((9000, 1), dtype=bool))  # the limit itself is allowed


def test_bad_inputs_name_what_was_found() -> None:
    with pytest.raises(ValidationError, match=r"invalid character ' ' at position 2"):
        string_to_counts("01 ")
    with pytest.raises(ValidationError, match="ends inside a count"):
        string_to_counts("0P")
    with pytest.raises(ValidationError, match="run lengths cover 5 pixels but the mask has 6"):
        decode_coco_rle({"size": [2, 3], "counts": [2, 3]})
    with pytest.raises(ValidationError, match="run lengths cover 7 pixels but the mask has 6"):
        decode_encord_rle("52", 2, 3)
    with pytest.raises(ValidationError, match="not a PNG image"):
        decode_png_binary(b"GIF89a....")
    with pytest.raises(ValidationError, match=r"a mask is a 2-D \[row, column\] array, found shape \(2, 2, 2\)"):
        encode_coco_rle(np.zeros((2, 2, 2)))


def test_encord_string_shorter_than_the_mask_is_zero_filled() -> None:
    # Encord's decoder zero-fills to height x width (notes/encord.md section 4).
    np.testing.assert_array_equal(decode_encord_rle("11", 2, 3), [[False, True, False], [False, False, False]])
    np.testing.assert_array_equal(decode_encord_rle("", 1, 2), [[False, False]])
