"""Volumes and pixels: DICOM series -> Volume (voxels + LPS affine), NIfTI, planes, rasters, mask codecs.

Geometry conventions are in docs/imaging.md and DESIGN.md ("Geometry conventions"). Depends on
``labelport.model`` (``PlaneGroup``) and ``labelport.errors`` only.
"""

from __future__ import annotations

from labelport.imaging.codecs import (
    MAX_MASK_SIDE,
    check_mask_size,
    decode_coco_rle,
    decode_encord_rle,
    decode_png_binary,
    decode_png_composite,
    encode_coco_rle,
    encode_encord_rle,
    encode_png_binary,
    encode_png_composite,
)
from labelport.imaging.nifti import (
    PlacedArray,
    Placement,
    label_map_dtype,
    place_on_grid,
    read_label_map,
    read_nifti,
    to_nifti_image,
    write_label_map,
    write_nifti,
)
from labelport.imaging.planes import PlaneView, SliceOrder, plane_views
from labelport.imaging.raster import Mask, MaskData, draw_point, draw_polygon, draw_polyline, draw_rectangle
from labelport.imaging.volume import (
    LPS_TO_RAS,
    Grid,
    SeriesHeader,
    SliceSource,
    Volume,
    load_series,
    orientation_codes,
    read_series_header,
)

__all__ = [
    "LPS_TO_RAS",
    "MAX_MASK_SIDE",
    "Grid",
    "Mask",
    "MaskData",
    "PlacedArray",
    "Placement",
    "PlaneView",
    "SeriesHeader",
    "SliceOrder",
    "SliceSource",
    "Volume",
    "check_mask_size",
    "decode_coco_rle",
    "decode_encord_rle",
    "decode_png_binary",
    "decode_png_composite",
    "draw_point",
    "draw_polygon",
    "draw_polyline",
    "draw_rectangle",
    "encode_coco_rle",
    "encode_encord_rle",
    "encode_png_binary",
    "encode_png_composite",
    "label_map_dtype",
    "load_series",
    "orientation_codes",
    "place_on_grid",
    "plane_views",
    "read_label_map",
    "read_nifti",
    "read_series_header",
    "to_nifti_image",
    "write_label_map",
    "write_nifti",
]
