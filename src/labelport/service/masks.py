"""Mask pixels for imports: resolving sources safely, checking sizes, building DICOM label volumes.

A file an input names is read through ``FileResolver``, which every format's reader and the import service
share: local files by the rules of ``service.files`` (under the permitted folders, symlinks resolved first,
regular files only, never the store's own folder), http(s) only when ``LABELPORT_ALLOW_HTTP=1`` and then
only from public addresses (``service.fetch``); any other scheme is an error. Errors are ValidationErrors
(or MediaErrors) naming the reference as the input gave it, never a server path or fetched bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import ParseResult, unquote, urlparse

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging import PlaneView, decode_png_composite
from labelport.imaging.codecs import check_png, encode_png_composite, encode_png_grey
from labelport.model.annotation import FrameMasks
from labelport.model.geometry import RasterSource
from labelport.service import fetch
from labelport.service.files import FilePolicy
from labelport.service.hub import Settings

HTTP_TIMEOUT_SECONDS = fetch.TIMEOUT_SECONDS
MAX_MASK_BYTES = 64 * 1024 * 1024


def _is_drive(uri: str, scheme: str) -> bool:
    """A Windows path (``C:\\...``), which urlparse takes for a one-letter scheme."""
    return len(scheme) == 1 and uri[1:3] in (":\\", ":/")


def _short(uri: str) -> str:
    """A reference for a message: at most 200 characters, control characters replaced."""
    clean = "".join(c if c.isprintable() else "?" for c in uri[:200])
    return clean + ("..." if len(uri) > 200 else "")


def _shown(uri: str) -> str:
    return repr(_short(uri))


def _parsed(uri: str, what: str) -> ParseResult:
    if "\x00" in uri:
        raise ValidationError(f"{what} {_shown(uri)} contains a NUL character", field="uri", value=_short(uri))
    try:
        return urlparse(uri)
    except ValueError as exc:  # a malformed host such as "http://[::1"
        raise ValidationError(
            f"{what} {_shown(uri)} is not a valid URL ({exc})", field="uri", value=_short(uri)
        ) from None


class FileResolver:
    """The files and URLs an import may read (``formats.base.Resolver``): local files under the permitted
    folders (``FilePolicy.for_imports``: ``LABELPORT_FILE_ROOTS`` plus ``roots``, and embedded the working
    folder), http(s) only when ``LABELPORT_ALLOW_HTTP=1`` and only from public addresses."""

    def __init__(self, settings: Settings, roots: Sequence[Path] = (), base: Path | None = None) -> None:
        self.settings = settings
        self.roots = tuple(roots)
        self.base = base  # relative references resolve against it (the folder of the file being read)
        self.policy = FilePolicy.for_imports(settings, self.roots)

    def _local(self, uri: str, what: str) -> str:
        """The path text of a local reference (a plain path or a ``file:`` URL)."""
        parsed = _parsed(uri, what)
        scheme = parsed.scheme.lower()
        if scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise ValidationError(
                    f"{what} {_shown(uri)} names a file on another host", field="uri", value=_short(uri)
                )
            return unquote(parsed.path)
        if scheme and not _is_drive(uri, scheme):
            raise ValidationError(
                f"{what} {_shown(uri)} has scheme {scheme[:20]!r}; only local files and http(s) are supported",
                field="uri",
                value=_short(uri),
            )
        return uri

    def local_path(self, uri: str, what: str) -> Path:
        """The permitted local regular file or folder ``uri`` names (a segmentation, a series); never a
        FIFO, device or socket, which would block or never end when read."""
        return self.policy.file_or_folder(self._local(uri, what), what, base=self.base)

    def read_bytes(self, uri: str, what: str) -> bytes:
        if type(uri) is not str or not uri:
            raise ValidationError(f"{what} must be a non-empty string, found {uri!r}", field="uri", value=uri)
        if _parsed(uri, what).scheme.lower() in ("http", "https"):
            if not self.settings.allow_http:
                raise ValidationError(
                    f"{what} {_shown(uri)} needs http(s) fetching, which is off; set LABELPORT_ALLOW_HTTP=1 to "
                    "allow it",
                    field="uri",
                    value=_short(uri),
                )
            return fetch.fetch(uri, what, max_bytes=MAX_MASK_BYTES, networks=self.settings.http_networks)
        return self.policy.read_bytes(self._local(uri, what), what, MAX_MASK_BYTES, base=self.base)


def resolve(source: RasterSource, resolver: FileResolver) -> bytes:
    """The PNG bytes of a mask source (inline, decoded pixels, a permitted local file, or a permitted http(s) URL)."""
    if source.png is not None:
        return source.png
    if source.pixels is not None:
        # A mask a reader decoded (an Encord bitmask): grey, so any set pixel is white, the default colour.
        array = np.asarray(source.pixels.array())
        return encode_png_composite(array) if array.ndim == 3 else encode_png_grey(array != 0)
    return resolver.read_bytes(source.uri or "", "mask file")


def local_file(uri: str, resolver: FileResolver) -> Path:
    """A permitted local file an input names (a segmentation, a series)."""
    return resolver.local_path(uri, "file")


def check_size(data: bytes, width: int | None, height: int | None, what: str) -> None:
    """The PNG must be ``width`` x ``height`` (when known)."""
    found_w, found_h = check_png(data)
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
