"""Volumes and pixels: DICOM series -> Volume (voxels + LPS affine), NIfTI, planes, rasters, mask codecs,
label volumes in memory, grids from stored media attributes, and what a file holds by its bytes.

Geometry conventions are in docs/imaging.md and DESIGN.md ("Geometry conventions"). Depends on
``labelport.model`` (``PlaneGroup``, ``MediaAttributes``, ``MediaType``) and ``labelport.errors`` only.
"""

from __future__ import annotations

from labelport.imaging.attributes import (
    grid_from_attributes,
    image_attributes,
    nifti_attributes,
    plane_from_attributes,
    series_attributes,
)
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
    encode_png_grey,
)
from labelport.imaging.nifti import (
    PlacedArray,
    Placement,
    decode_label_volume,
    encode_label_volume,
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
from labelport.imaging.sniff import is_dicom_file, is_nifti_file, sniff_media
from labelport.imaging.volume import (
    LPS_TO_RAS,
    Grid,
    SeriesHeader,
    SlicePixels,
    SliceSource,
    Volume,
    load_series,
    load_slice,
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
    "SlicePixels",
    "SliceSource",
    "Volume",
    "check_mask_size",
    "decode_coco_rle",
    "decode_encord_rle",
    "decode_label_volume",
    "decode_png_binary",
    "decode_png_composite",
    "draw_point",
    "draw_polygon",
    "draw_polyline",
    "draw_rectangle",
    "encode_coco_rle",
    "encode_encord_rle",
    "encode_label_volume",
    "encode_png_binary",
    "encode_png_composite",
    "encode_png_grey",
    "grid_from_attributes",
    "image_attributes",
    "is_dicom_file",
    "is_nifti_file",
    "label_map_dtype",
    "load_series",
    "load_slice",
    "nifti_attributes",
    "orientation_codes",
    "place_on_grid",
    "plane_from_attributes",
    "plane_views",
    "read_label_map",
    "read_nifti",
    "read_series_header",
    "series_attributes",
    "sniff_media",
    "to_nifti_image",
    "write_label_map",
    "write_nifti",
]
