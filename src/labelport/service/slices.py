"""The viewer's pixels: plane images of a data row's volume, frames of its image or video, and mask overlays,
rendered through ``imaging`` (``PlaneView``, ``imaging.display``) and kept in ``service.media_cache``.

Every plane image is ``PlaneView.extract`` of the row's voxels on the grid its stored attributes describe, the
same mapping the formats use, windowed to 8-bit grey (``imaging.display.apply_window``) and encoded as PNG. A
series is read once and kept decoded; before that, a frame of the acquisition plane (the plane whose frames are
the series' instances) is read from its one file, so the first look at a long series does not wait for all of
it. Label volumes come from the blob store (``hub.blobs``); media from the row's ``row_data``, which must lie
within ``LABELPORT_FILE_ROOTS`` when that is set. Remote media (URLs) are not fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson

from labelport.errors import LabelportError, MediaError, NotFoundError, ValidationError
from labelport.imaging.attributes import grid_from_attributes
from labelport.imaging.codecs import decode_png_composite
from labelport.imaging.display import (
    PRESETS,
    Window,
    WindowPreset,
    apply_window,
    auto_window,
    encode_png,
    overlay_png,
)
from labelport.imaging.nifti import decode_label_volume
from labelport.imaging.planes import PlaneView
from labelport.imaging.volume import Grid, SeriesHeader, load_series, load_slice, read_series_header
from labelport.model.annotation import AnyAnnotation, FrameMasks, ObjectAnnotation, VolumeMask
from labelport.model.geometry import Mask
from labelport.model.media import DataRow, MediaType, PlaneGroup
from labelport.service import media as media_service
from labelport.service.hub import Hub
from labelport.service.media_cache import MEDIA_CACHE, MediaCache

# The affine a series has on disk must be the one stored with its row, within DICOM's decimal rounding.
AFFINE_TOLERANCE_MM = 1e-3

T = TypeVar("T")


def _cached(cache: MediaCache, key: tuple[Hashable, ...], load: Callable[[], tuple[object, int]], kind: type[T]) -> T:
    """``cache.arrays``' value for ``key`` (loaded once), which is a ``kind``: keys are namespaced by their first
    item, so anything else is a bug here, not bad input."""
    found = cache.arrays.get_or_load(key, load)
    if not isinstance(found, kind):
        raise TypeError(f"cache entry {key[0]!r} holds a {type(found).__name__}, not a {kind.__name__}")
    return found


@dataclass(frozen=True, eq=False)
class LoadedVolume:
    """A row's voxels [column, row, slice] on its stored grid, with the rescale to modality values."""

    array: npt.NDArray[Any]
    grid: Grid
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0


@dataclass(frozen=True, slots=True)
class Rendered:
    """A PNG and the window it was rendered with (None for colour images and video frames)."""

    png: bytes
    window: Window | None = None


WindowChoice = WindowPreset | Window


def window_choice(preset: str | None, center: float | None, width: float | None) -> WindowChoice:
    """A window from the request: an explicit ``center`` and ``width`` (both or neither), else a preset (auto)."""
    if (center is None) != (width is None):
        raise ValidationError(
            "give both center and width, or a window preset", field="center" if center is None else "width"
        )
    if center is not None and width is not None:
        return Window(center, width)
    return WindowPreset.parse(preset or WindowPreset.AUTO)


def default_window(row: DataRow) -> WindowPreset:
    """CT opens in the soft-tissue window; anything else (MR, NIfTI) in the auto window."""
    return WindowPreset.CT_SOFT_TISSUE if (row.media_attributes.modality or "").upper() == "CT" else WindowPreset.AUTO


# --- reading media ----------------------------------------------------------------------------------------


def _local(row: DataRow, roots: tuple[Path, ...]) -> str | list[str]:
    """The row's files: a path, or a DICOM series' list of files; each within ``roots`` when configured."""
    if media_service.is_remote(row.row_data):
        raise MediaError(
            f"data row {row.id}: {row.row_data!r} is remote; the viewer shows media on the server's filesystem only",
            path=row.row_data,
        )
    where = f"data row {row.id}"
    if row.row_data.startswith("["):
        files = [str(p) for p in orjson.loads(row.row_data)]
        for file in files:
            media_service.check_readable(Path(file), roots, where)
        return files
    media_service.check_readable(Path(row.row_data), roots, where)
    return row.row_data


def _series_files(row: DataRow, roots: tuple[Path, ...]) -> list[Path]:
    return media_service.series_files(_local(row, roots), f"data row {row.id}")


def _check_grid(row: DataRow, found: Grid, expected: Grid) -> None:
    if found.shape != expected.shape or not np.allclose(
        found.affine_lps, expected.affine_lps, atol=AFFINE_TOLERANCE_MM
    ):
        raise MediaError(
            f"data row {row.id}: the media at {row.row_data!r} no longer match the row's geometry "
            f"(found {found.shape} voxels, the row has {expected.shape})",
            path=row.row_data,
        )


def _load_volume(row: DataRow, roots: tuple[Path, ...]) -> LoadedVolume:
    grid = grid_from_attributes(row.media_attributes)
    if row.media_type is MediaType.DICOM:
        volume = load_series(_series_files(row, roots))
        _check_grid(row, volume.grid, grid)
        return LoadedVolume(volume.array, grid, volume.rescale_slope, volume.rescale_intercept)
    if row.media_type is MediaType.NIFTI:
        import nibabel

        path = _local(row, roots)
        image: Any = nibabel.load(str(path))
        array = np.asanyarray(image.dataobj)  # scl_slope / scl_inter applied by nibabel
        if array.ndim == 4:
            array = array[..., 0]
        if array.ndim == 2:
            array = array[:, :, np.newaxis]
        if array.shape != grid.shape:
            raise MediaError(
                f"data row {row.id}: the NIfTI at {row.row_data!r} holds {array.shape} voxels, "
                f"the row has {grid.shape}",
                path=row.row_data,
            )
        return LoadedVolume(array, grid)
    raise ValidationError(f"data row {row.id} is {row.media_type.value}, not a volume", field="media_type")


def volume(hub: Hub, row: DataRow, version: str, cache: MediaCache = MEDIA_CACHE) -> LoadedVolume:
    """The row's voxels, read once and kept decoded."""

    def load() -> tuple[object, int]:
        loaded = _load_volume(row, hub.settings.media_roots())
        return loaded, int(loaded.array.nbytes)

    return _cached(cache, ("volume", row.id, version), load, LoadedVolume)


def _header(hub: Hub, row: DataRow, version: str, cache: MediaCache) -> SeriesHeader:
    def load() -> tuple[object, int]:
        header = read_series_header(_series_files(row, hub.settings.media_roots()))
        return header, 1024 * (len(header.slice_sources) + 1)

    return _cached(cache, ("header", row.id, version), load, SeriesHeader)


def _resolve_window(hub: Hub, row: DataRow, version: str, choice: WindowChoice, cache: MediaCache) -> Window:
    if isinstance(choice, Window):
        return choice
    if choice is not WindowPreset.AUTO:
        return PRESETS[choice]

    def load() -> tuple[object, int]:
        loaded = volume(hub, row, version, cache)
        return auto_window(loaded.array, loaded.rescale_slope, loaded.rescale_intercept), 64

    return _cached(cache, ("auto-window", row.id, version), load, Window)


def _cached_png(cache: MediaCache, key: tuple[Any, ...], render: Callable[[], bytes]) -> bytes:
    def load() -> tuple[bytes, int]:
        data = render()
        return data, len(data)

    return cache.pngs.get_or_load(key, load)


def media_problem(hub: Hub, row: DataRow, version: str, cache: MediaCache = MEDIA_CACHE) -> str | None:
    """Why the row's media cannot be shown (remote, missing, outside the permitted folders), or None."""
    try:
        if row.media_type in (MediaType.DICOM, MediaType.NIFTI):
            if row.media_type is MediaType.DICOM:
                _series_files(row, hub.settings.media_roots())
            else:
                path = Path(str(_local(row, hub.settings.media_roots())))
                if not path.is_file():
                    raise MediaError(f"data row {row.id}: {row.row_data!r} does not exist", path=row.row_data)
        else:
            frame_size(hub, row, version, cache)
    except LabelportError as exc:
        return str(exc)
    return None


# --- volume planes ----------------------------------------------------------------------------------------


def plane_view(row: DataRow, plane: PlaneGroup | str) -> PlaneView:
    if row.media_type not in (MediaType.DICOM, MediaType.NIFTI):
        raise ValidationError(
            f"data row {row.id} is {row.media_type.value}: it has frames, not planes", field="plane", value=str(plane)
        )
    return PlaneView.of(grid_from_attributes(row.media_attributes), plane)


def slice_png(
    hub: Hub,
    row: DataRow,
    version: str,
    plane: PlaneGroup | str,
    frame: int,
    choice: WindowChoice,
    cache: MediaCache = MEDIA_CACHE,
) -> Rendered:
    """Frame ``frame`` (from 0) of ``plane`` of a volume row, windowed, as an 8-bit grey PNG."""
    view = plane_view(row, plane)
    index = view.voxel_index(frame)  # checks the frame's range
    window = _resolve_window(hub, row, version, choice, cache)
    key = ("slice", row.id, version, view.plane.value, frame, window.center, window.width)

    def render() -> bytes:
        loaded = cache.arrays.get(("volume", row.id, version))
        if loaded is None and row.media_type is MediaType.DICOM and view.axes[2] == 2:
            source = _header(hub, row, version, cache).slice_sources[index]
            if source.frame is None:
                pixels = load_slice(source)
                image = view.orient(pixels.array)
                return encode_png(apply_window(image, window, pixels.rescale_slope, pixels.rescale_intercept))
        if not isinstance(loaded, LoadedVolume):
            loaded = volume(hub, row, version, cache)
        image = view.extract(loaded.array, frame)
        return encode_png(apply_window(image, window, loaded.rescale_slope, loaded.rescale_intercept))

    return Rendered(_cached_png(cache, key, render), window)


# --- images and video -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrameSize:
    width: int
    height: int
    frames: int


def _video_capture(path: str) -> Any:
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise MediaError(f"{path}: the video cannot be opened", path=path)
    return capture


def frame_size(hub: Hub, row: DataRow, version: str, cache: MediaCache = MEDIA_CACHE) -> FrameSize:
    """Width, height and number of frames of an image (1) or video row."""
    attributes = row.media_attributes
    if row.media_type is MediaType.IMAGE and attributes.width and attributes.height:
        return FrameSize(attributes.width, attributes.height, 1)
    if row.media_type not in (MediaType.IMAGE, MediaType.VIDEO):
        raise ValidationError(f"data row {row.id} is {row.media_type.value}: it has planes, not frames", field="frame")

    def load() -> tuple[object, int]:
        path = str(_local(row, hub.settings.media_roots()))
        if row.media_type is MediaType.IMAGE:
            from PIL import Image

            with Image.open(path) as image:
                return FrameSize(image.width, image.height, 1), 64
        import cv2

        capture = _video_capture(path)
        try:
            size = FrameSize(
                int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1),
            )
        finally:
            capture.release()
        return size, 64

    return _cached(cache, ("frame-size", row.id, version), load, FrameSize)


def _read_frame(row: DataRow, frame: int, roots: tuple[Path, ...]) -> npt.NDArray[np.uint8]:
    path = str(_local(row, roots))
    if row.media_type is MediaType.IMAGE:
        from PIL import Image, ImageOps

        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened) or opened
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    import cv2

    capture = _video_capture(path)
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, bgr = capture.read()
    finally:
        capture.release()
    if not ok:
        raise MediaError(f"{path}: frame {frame} of the video cannot be read", path=path)
    return np.ascontiguousarray(np.asarray(bgr, dtype=np.uint8)[:, :, ::-1])


def frame_png(hub: Hub, row: DataRow, version: str, frame: int, cache: MediaCache = MEDIA_CACHE) -> Rendered:
    """Frame ``frame`` (from 0) of an image (only frame 0) or video row, as an RGB PNG."""
    size = frame_size(hub, row, version, cache)
    if isinstance(frame, bool) or not 0 <= frame < size.frames:
        raise ValidationError(
            f"frame {frame} is out of range: data row {row.id} has frames 0 to {size.frames - 1}",
            field="frame",
            value=frame,
        )
    key = ("frame", row.id, version, frame)
    return Rendered(_cached_png(cache, key, lambda: encode_png(_read_frame(row, frame, hub.settings.media_roots()))))


# --- masks ------------------------------------------------------------------------------------------------


def label_volume(hub: Hub, digest: str, cache: MediaCache = MEDIA_CACHE) -> npt.NDArray[Any]:
    """A stored label volume [column, row, slice], decoded once."""

    def load() -> tuple[object, int]:
        labels = decode_label_volume(hub.blobs.get(digest))
        return labels, int(labels.nbytes)

    found: npt.NDArray[Any] = _cached(cache, ("labels", digest), load, np.ndarray)
    return found


def _composite(hub: Hub, digest: str, cache: MediaCache) -> npt.NDArray[np.uint8]:
    def load() -> tuple[object, int]:
        rgb = decode_png_composite(hub.blobs.get(digest))
        return rgb, int(rgb.nbytes)

    found: npt.NDArray[np.uint8] = _cached(cache, ("composite", digest), load, np.ndarray)
    return found


def mask_frames(
    hub: Hub, row: DataRow, mask: VolumeMask, cache: MediaCache = MEDIA_CACHE
) -> dict[PlaneGroup, list[int]]:
    """The frames (from 0) of each plane on which a volume mask has voxels."""
    digest = mask.source.blob
    if digest is None:
        return {}

    def load() -> tuple[object, int]:
        selected = np.isin(label_volume(hub, digest, cache), mask.values)
        out: dict[PlaneGroup, list[int]] = {}
        grid = grid_from_attributes(row.media_attributes)
        for group in (PlaneGroup.AXIAL, PlaneGroup.SAGITTAL, PlaneGroup.CORONAL):
            view = PlaneView.of(grid, group)
            others = tuple(a for a in range(3) if a != view.axes[2])
            filled = np.flatnonzero(selected.any(axis=others))
            frames = sorted((view.frames - 1 - int(i)) if view.flips[2] else int(i) for i in filled)
            out[group] = frames
        return out, 64 + 8 * sum(len(v) for v in out.values())

    found: dict[PlaneGroup, list[int]] = _cached(cache, ("mask-frames", digest, mask.values, row.id), load, dict)
    return found


def mask_png(
    hub: Hub,
    row: DataRow,
    version: str,
    annotation: AnyAnnotation,
    plane: PlaneGroup | None,
    frame: int,
    color: tuple[int, int, int],
    cache: MediaCache = MEDIA_CACHE,
) -> bytes:
    """An annotation's mask on one frame as an RGBA PNG in ``color`` (transparent where it is not).

    Volume masks are cut from their label volume on any plane; image masks are their composite PNG's pixels of
    the object's colour; video masks the frame's composite PNG.
    """
    if isinstance(annotation, VolumeMask) and annotation.source.blob is not None:
        if plane is None:
            raise ValidationError("a volume mask is shown on a plane: axial, sagittal or coronal", field="plane")
        view = plane_view(row, plane)
        view.voxel_index(frame)
        digest = annotation.source.blob
        key = ("mask", digest, annotation.values, view.plane.value, frame, color, row.id, version)

        def render_volume() -> bytes:
            labels = label_volume(hub, digest, cache)
            return overlay_png(np.isin(view.extract(labels, frame), annotation.values), color)

        return _cached_png(cache, key, render_volume)
    if plane is not None:
        raise ValidationError(f"annotation {_uuid(annotation)} is not a volume mask: ask for its frames", field="plane")
    source_color: tuple[int, int, int] | None = None
    digest_of_frame: str | None = None
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        if frame != (annotation.placement.frame or 0):
            raise NotFoundError(f"annotation {annotation.uuid} has no mask on frame {frame}")
        digest_of_frame, source_color = annotation.geometry.source.blob, annotation.geometry.color
    elif isinstance(annotation, FrameMasks):
        found = next((f for f in annotation.frames if f.frame == frame), None)
        if found is None:
            raise NotFoundError(f"annotation {annotation.uuid} has no mask on frame {frame}")
        digest_of_frame, source_color = found.source.blob, annotation.instances[0].color
    if digest_of_frame is None or source_color is None:
        raise NotFoundError(f"annotation {_uuid(annotation)} has no stored mask")
    blob, wanted = digest_of_frame, source_color

    def render_raster() -> bytes:
        rgb = _composite(hub, blob, cache)
        return overlay_png(np.all(rgb == np.asarray(wanted, dtype=np.uint8), axis=2), color)

    return _cached_png(cache, ("raster-mask", blob, wanted, color), render_raster)


def _uuid(annotation: AnyAnnotation) -> str:
    return str(getattr(annotation, "uuid", "?"))


__all__ = [
    "FrameSize",
    "LoadedVolume",
    "Rendered",
    "WindowChoice",
    "default_window",
    "frame_png",
    "frame_size",
    "label_volume",
    "mask_frames",
    "mask_png",
    "plane_view",
    "slice_png",
    "volume",
    "window_choice",
]
