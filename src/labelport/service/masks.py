"""Mask pixels for imports: resolving sources safely, checking sizes, building DICOM label volumes.

A mask file an input names is read only from local files under the configured roots (``LABELPORT_FILE_ROOTS``; by
default the working directory and the folder of the file being imported) and over http(s) only when
``LABELPORT_ALLOW_HTTP=1``; any other scheme is an error.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging import PlaneView, decode_png_composite
from labelport.imaging.codecs import encode_png_composite, encode_png_grey, png_size
from labelport.model.annotation import FrameMasks
from labelport.model.geometry import RasterSource
from labelport.service.hub import Settings

HTTP_TIMEOUT_SECONDS = 30
MAX_MASK_BYTES = 64 * 1024 * 1024


class FileResolver:
    """The files and URLs an import may read (``formats.base.Resolver``): local files under the permitted
    folders (``LABELPORT_FILE_ROOTS`` plus ``roots``), http(s) only when ``LABELPORT_ALLOW_HTTP=1``."""

    def __init__(self, settings: Settings, roots: Sequence[Path] = (), base: Path | None = None) -> None:
        self.settings = settings
        self.roots = tuple(roots)
        self.base = base  # relative references resolve against it (the folder of the file being read)

    def local_path(self, uri: str, what: str) -> Path:
        parsed = urlparse(uri)
        scheme = parsed.scheme.lower()
        if not (scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/"))):
            raise ValidationError(f"{what} {uri!r} is not a local file", field="uri", value=uri)
        path = Path(unquote(parsed.path) if scheme == "file" else uri).expanduser()
        if not path.is_absolute() and self.base is not None:
            path = self.base / path
        allowed = [*self.settings.file_roots, *self.roots]
        resolved = path.resolve()
        if not any(resolved.is_relative_to(root.resolve()) for root in allowed):
            raise ValidationError(
                f"{what} {uri!r} is outside the permitted folders "
                f"({', '.join(str(r) for r in allowed) or 'none'}); set LABELPORT_FILE_ROOTS",
                field="uri",
                value=uri,
            )
        if not resolved.exists():
            raise ValidationError(f"{what} {uri!r} does not exist", field="uri", value=uri)
        return resolved

    def read_bytes(self, uri: str, what: str) -> bytes:
        scheme = urlparse(uri).scheme.lower()
        if scheme in ("http", "https"):
            if not self.settings.allow_http:
                raise ValidationError(
                    f"{what} {uri!r} needs http(s) fetching, which is off; set LABELPORT_ALLOW_HTTP=1 to allow it",
                    field="uri",
                    value=uri,
                )
            with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_SECONDS) as response:  # scheme checked above
                data: bytes = response.read(MAX_MASK_BYTES + 1)
            if len(data) > MAX_MASK_BYTES:
                raise ValidationError(f"{what} {uri!r} is larger than {MAX_MASK_BYTES} bytes", field="uri")
            return data
        if scheme not in ("", "file") and not (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
            raise ValidationError(
                f"{what} {uri!r} has scheme {scheme!r}; only local files and http(s) are supported",
                field="uri",
                value=uri,
            )
        path = self.local_path(uri, what)
        if not path.is_file():
            raise ValidationError(f"{what} {uri!r} is not a file", field="uri", value=uri)
        return path.read_bytes()


def resolve(source: RasterSource, settings: Settings, roots: Sequence[Path]) -> bytes:
    """The PNG bytes of a mask source (inline, decoded pixels, a permitted local file, or a permitted http(s) URL)."""
    if source.png is not None:
        return source.png
    if source.pixels is not None:
        # A mask a reader decoded (an Encord bitmask): grey, so any set pixel is white, the default colour.
        array = np.asarray(source.pixels.array())
        return encode_png_composite(array) if array.ndim == 3 else encode_png_grey(array != 0)
    return FileResolver(settings, roots).read_bytes(source.uri or "", "mask file")


def local_file(uri: str, settings: Settings, roots: Sequence[Path]) -> Path:
    """A permitted local file an input names (a segmentation, a series)."""
    return FileResolver(settings, roots).local_path(uri, "file")


def check_size(data: bytes, width: int | None, height: int | None, what: str) -> None:
    """The PNG must be ``width`` x ``height`` (when known)."""
    found_w, found_h = png_size(data)
    if width is not None and height is not None and (found_w, found_h) != (width, height):
        raise ValidationError(
            f"mask is {found_w} x {found_h} px but {what} is {width} x {height} px",
            field="mask",
            value=[found_w, found_h],
        )


def label_volume(
    masks: FrameMasks, frames: Sequence[bytes], view: PlaneView
) -> tuple[npt.NDArray[np.uint8], list[list[int]]]:
    """A label volume on the series grid: instance i of ``masks`` is label i + 1; also the voxel count of each
    instance on each frame (``counts[frame][instance]``, frames in the order given)."""
    volume = np.zeros(view.grid.shape, dtype=np.uint8)
    counts: list[list[int]] = []
    for frame, data in zip(masks.frames, frames, strict=True):
        rgb = decode_png_composite(data)
        plane_image = np.zeros(rgb.shape[:2], dtype=np.uint8)
        found = []
        for i, instance in enumerate(masks.instances):
            selected = np.all(rgb == np.array(instance.color, dtype=np.uint8), axis=2)
            plane_image[selected] = i + 1
            found.append(int(selected.sum()))
        counts.append(found)
        view.insert(volume, frame.frame, plane_image)
    return volume, counts
