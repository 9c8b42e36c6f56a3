"""Mask pixels for imports: resolving sources safely, checking sizes, building DICOM label volumes.

``instanceURI`` is read only from local files under the configured roots (``LABELPORT_FILE_ROOTS``; by
default the working directory and the folder of the file being imported) and over http(s) only when
``LABELPORT_ALLOW_HTTP=1``; any other scheme is an error.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt

from labelport import imaging
from labelport.errors import ValidationError
from labelport.imaging import Grid, PlaneView, decode_png_composite, grid_from_attributes, plane_from_attributes
from labelport.imaging.codecs import png_size
from labelport.model.annotation import AnyAnnotation, FrameMask, FrameMasks, ObjectAnnotation
from labelport.model.geometry import Mask, RasterSource
from labelport.model.media import MediaAttributes, PlaneGroup
from labelport.service.hub import Settings
from labelport.store.blobs import BlobStore

HTTP_TIMEOUT_SECONDS = 30
MAX_MASK_BYTES = 64 * 1024 * 1024


def resolve(source: RasterSource, settings: Settings, roots: Sequence[Path]) -> bytes:
    """The PNG bytes of a mask source (inline, a permitted local file, or a permitted http(s) URL)."""
    if source.png is not None:
        return source.png
    uri = source.uri or ""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        path = Path(unquote(parsed.path) if scheme == "file" else uri).expanduser()
        allowed = [*settings.file_roots, *roots]
        resolved = path.resolve()
        if not any(resolved.is_relative_to(root.resolve()) for root in allowed):
            raise ValidationError(
                f"mask file {uri!r} is outside the permitted folders "
                f"({', '.join(str(r) for r in allowed) or 'none'}); set LABELPORT_FILE_ROOTS",
                field="instanceURI",
                value=uri,
            )
        if not resolved.is_file():
            raise ValidationError(f"mask file {uri!r} does not exist", field="instanceURI", value=uri)
        return resolved.read_bytes()
    if scheme in ("http", "https"):
        if not settings.allow_http:
            raise ValidationError(
                f"mask URL {uri!r} needs http(s) fetching, which is off; set LABELPORT_ALLOW_HTTP=1 to allow it",
                field="instanceURI",
                value=uri,
            )
        with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_SECONDS) as response:  # scheme checked above
            data: bytes = response.read(MAX_MASK_BYTES + 1)
        if len(data) > MAX_MASK_BYTES:
            raise ValidationError(f"mask URL {uri!r} is larger than {MAX_MASK_BYTES} bytes", field="instanceURI")
        return data
    raise ValidationError(
        f"mask URI {uri!r} has scheme {parsed.scheme!r}; only local files and http(s) are supported",
        field="instanceURI",
        value=uri,
    )


def check_size(data: bytes, width: int | None, height: int | None, what: str) -> None:
    """The PNG must be ``width`` x ``height`` (when known)."""
    found_w, found_h = png_size(data)
    if width is not None and height is not None and (found_w, found_h) != (width, height):
        raise ValidationError(
            f"mask is {found_w} x {found_h} px but {what} is {width} x {height} px",
            field="mask",
            value=[found_w, found_h],
        )


def grid_of(attributes: MediaAttributes) -> Grid:
    """The voxel grid of a DICOM or NIfTI data row from its stored media attributes."""
    return grid_from_attributes(attributes)


def plane(attributes: MediaAttributes, group: PlaneGroup) -> PlaneView:
    return plane_from_attributes(attributes, group)


def label_volume(
    masks: FrameMasks, frames: Sequence[bytes], view: PlaneView
) -> tuple[npt.NDArray[np.uint8], list[int]]:
    """A label volume on the series grid: instance i of ``masks`` is label i + 1; also the voxel counts."""
    volume = np.zeros(view.grid.shape, dtype=np.uint8)
    counts = [0] * len(masks.instances)
    for frame, data in zip(masks.frames, frames, strict=True):
        rgb = decode_png_composite(data)
        plane_image = np.zeros(rgb.shape[:2], dtype=np.uint8)
        for i, instance in enumerate(masks.instances):
            selected = np.all(rgb == np.array(instance.color, dtype=np.uint8), axis=2)
            plane_image[selected] = i + 1
            counts[i] += int(selected.sum())
        view.insert(volume, frame.frame, plane_image)
    return volume, counts


def encode_label_volume(volume: npt.NDArray[np.uint8], grid: Grid) -> bytes:
    """The label volume as gzipped NIfTI bytes on the series grid (RAS affine), made in memory."""
    return imaging.encode_label_volume(volume, grid)


def decode_label_volume(data: bytes) -> npt.NDArray[np.integer]:
    return imaging.decode_label_volume(data)


def frame_png(
    volume: npt.NDArray[np.integer], view: PlaneView, frame: int, label: int, color: tuple[int, int, int]
) -> bytes:
    """One frame of a stored label volume as a composite PNG: ``color`` where the label is, black elsewhere."""
    from labelport.imaging import encode_png_composite

    plane_image = view.extract(volume, frame) == label
    rgb = np.zeros((*plane_image.shape, 3), dtype=np.uint8)
    rgb[plane_image] = color
    return encode_png_composite(rgb)


def inline_masks(
    blobs: BlobStore, annotation: AnyAnnotation, attributes: MediaAttributes | None = None, label: int = 1
) -> AnyAnnotation:
    """The annotation with stored mask blobs replaced by PNG bytes, ready for a writer.

    Image masks and video frames are stored as PNGs; a DICOM mask is a label volume, cut back into one
    composite PNG per frame (``label`` selects the instance, drawn in its colour).
    """
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        source = annotation.geometry.source
        if source.blob is not None:
            png = blobs.get(source.blob)
            return replace(annotation, geometry=Mask(RasterSource(png=png), annotation.geometry.color))
        return annotation
    if isinstance(annotation, FrameMasks) and any(f.source.blob for f in annotation.frames):
        if annotation.group is not None and attributes is not None:
            blob = next(f.source.blob for f in annotation.frames if f.source.blob)
            volume = decode_label_volume(blobs.get(blob or ""))
            view = plane(attributes, annotation.group)
            color = annotation.instances[0].color
            frames = tuple(
                FrameMask(f.frame, RasterSource(png=frame_png(volume, view, f.frame, label, color)))
                for f in annotation.frames
            )
        else:
            frames = tuple(
                FrameMask(f.frame, RasterSource(png=blobs.get(f.source.blob)) if f.source.blob else f.source)
                for f in annotation.frames
            )
        return replace(annotation, frames=frames)
    return annotation
