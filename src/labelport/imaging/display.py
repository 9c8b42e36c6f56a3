"""Plane images for display: window/level to 8-bit grey, mask overlays, orientation letters, PNG.

The viewer shows a volume's planes as ``PlaneView`` gives them (radiological display, no resampling);
this module turns the voxels of one frame into what a screen shows:

- **Window/level** follows DICOM's linear VOI function (PS3.3 C.11.2.1.2.1) on modality values
  (``stored * slope + intercept``): with centre ``c`` and width ``w >= 1``, a value ``x`` maps to
  ``((x - (c - 0.5)) / (w - 1) + 0.5) * 255``, clipped to 0..255 and rounded half up; ``w = 1`` is a
  threshold at ``c - 0.5``. Presets are the CT windows radiology texts use (Radiopaedia: soft tissue
  W 400 L 40, lung W 1500 L -600, bone W 1800 L 400); ``auto`` (MR and anything else) spans the 0.5th
  to 99.5th percentiles of the whole volume.
- **Orientation letters** at the edges of a plane come from the patient directions its image axes point
  to (L/R, P/A, S/I), the strongest first, as OHIF writes them (``LP`` on an oblique plane).
- **Plane matrices** map ``(x, y, frame, 1)`` (continuous pixel coordinates, frame index) to LPS mm and
  back, so a viewer links planes through patient coordinates without knowing the volume grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging.planes import PlaneView

# zlib level 1: a 512 x 512 slice in ~5 ms, within 10 % of the size of level 6 (which takes ~12 ms).
PNG_COMPRESSION = 1
# Auto windows are computed on at most this many voxels of a volume (an even stride through it).
AUTO_SAMPLE = 1_000_000
AUTO_PERCENTILES = (0.5, 99.5)
# Smallest direction cosine that still names a patient direction (DICOM rounds cosines to ~1e-6).
LETTER_THRESHOLD = 1e-3


class WindowPreset(StrEnum):
    """Named windows; CT presets are in Hounsfield units, ``auto`` comes from the volume's values."""

    AUTO = "auto"
    CT_SOFT_TISSUE = "ct-soft-tissue"
    CT_LUNG = "ct-lung"
    CT_BONE = "ct-bone"

    @classmethod
    def parse(cls, value: str | WindowPreset) -> WindowPreset:
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            raise ValidationError(
                f"window must be one of {', '.join(p.value for p in cls)}; found {value!r}", field="window", value=value
            ) from None


@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window in modality units (Hounsfield for CT): centre and width (at least 1)."""

    center: float
    width: float

    def __post_init__(self) -> None:
        for name in ("center", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise ValidationError(
                    f"window {name} must be a finite number, found {value!r}", field=name, value=value
                )
        if self.width < 1:
            raise ValidationError(
                f"window width must be at least 1, found {self.width!r}", field="width", value=self.width
            )


PRESETS: dict[WindowPreset, Window] = {
    WindowPreset.CT_SOFT_TISSUE: Window(40.0, 400.0),
    WindowPreset.CT_LUNG: Window(-600.0, 1500.0),
    WindowPreset.CT_BONE: Window(400.0, 1800.0),
}


def auto_window(array: npt.NDArray[Any], slope: float = 1.0, intercept: float = 0.0) -> Window:
    """The window spanning the 0.5th to 99.5th percentile of a volume's modality values."""
    flat = np.ravel(array, order="K")  # a view for C- or Fortran-ordered volumes
    step = max(1, flat.size // AUTO_SAMPLE)
    sample = flat[::step].astype(np.float64) * slope + intercept
    if sample.size == 0:
        return Window(0.0, 1.0)
    low, high = np.percentile(sample, AUTO_PERCENTILES)
    width = max(float(high - low), 1.0)
    return Window(float(low + high) / 2.0, width)


def apply_window(
    image: npt.NDArray[Any], window: Window, slope: float = 1.0, intercept: float = 0.0
) -> npt.NDArray[np.uint8]:
    """Stored values -> 8-bit grey through the DICOM linear VOI function (module docstring)."""
    values = image.astype(np.float64)
    if slope != 1.0 or intercept != 0.0:
        values = values * slope + intercept
    c, w = window.center, window.width
    if w == 1:
        return np.where(values <= c - 0.5, 0, 255).astype(np.uint8)
    scaled = ((values - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    return np.floor(np.clip(scaled, 0.0, 255.0) + 0.5).astype(np.uint8)


def encode_png(image: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit grey ([y, x]) or RGB ([y, x, 3]) image as PNG."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValidationError(
            f"a display image is uint8 [y, x] or [y, x, 3], found {image.dtype} {image.shape}",
            field="image",
            value=list(image.shape),
        )
    pixels = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, ::-1])  # OpenCV writes BGR
    ok, data = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValidationError("the image could not be encoded as PNG", field="image")
    return bytes(data.tobytes())


def overlay_png(mask: npt.NDArray[np.bool_], color: tuple[int, int, int]) -> bytes:
    """A mask as an RGBA PNG: ``color`` where it is set, transparent elsewhere (the viewer sets the opacity)."""
    if mask.ndim != 2:
        raise ValidationError(f"a mask overlay is 2-D [y, x], found shape {mask.shape}", field="mask")
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (color[2], color[1], color[0], 255)  # OpenCV writes BGRA
    ok, data = cv2.imencode(".png", rgba, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValidationError("the mask could not be encoded as PNG", field="mask")
    return bytes(data.tobytes())


def render_frame(
    array: npt.NDArray[Any], view: PlaneView, frame: int, window: Window, slope: float = 1.0, intercept: float = 0.0
) -> bytes:
    """One frame of a volume's plane, windowed, as an 8-bit grey PNG of ``view.height`` x ``view.width``."""
    return encode_png(apply_window(view.extract(array, frame), window, slope, intercept))


# --- orientation ----------------------------------------------------------------------------------------

_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))  # LPS axis: (positive, negative)


def direction_letters(direction: npt.ArrayLike) -> str:
    """Patient direction letters of an LPS vector, strongest component first (``L``, ``LP``, ``PIS``)."""
    vector = np.asarray(direction, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if vector.shape != (3,) or norm == 0:
        raise ValidationError(f"a direction is a non-zero LPS 3-vector, found {vector.tolist()}", field="direction")
    unit = vector / norm
    order = np.argsort(-np.abs(unit), kind="stable")
    return "".join(_LETTERS[axis][0 if unit[axis] > 0 else 1] for axis in order if abs(unit[axis]) > LETTER_THRESHOLD)


@dataclass(frozen=True, slots=True)
class EdgeLetters:
    """The patient directions at the four edges of a plane image (``right`` is where +x points)."""

    left: str
    right: str
    top: str
    bottom: str


def edge_letters(view: PlaneView) -> EdgeLetters:
    """What the left, right, top and bottom edges of ``view``'s images face in the patient."""
    x = plane_matrix(view)[:3, 0]
    y = plane_matrix(view)[:3, 1]
    return EdgeLetters(
        left=direction_letters(-x), right=direction_letters(x), top=direction_letters(-y), bottom=direction_letters(y)
    )


def plane_matrix(view: PlaneView) -> npt.NDArray[np.float64]:
    """The 4 x 4 matrix taking ``(x, y, frame, 1)`` of ``view`` (continuous pixels, frame index counted from
    ``view.frame_base``) to LPS mm; its inverse takes LPS back to the plane."""
    base = view.frame_base
    origin = view.to_lps([base, 0.0, 0.0])
    matrix = np.eye(4)
    matrix[:3, 0] = view.to_lps([base, 1.0, 0.0]) - origin
    matrix[:3, 1] = view.to_lps([base, 0.0, 1.0]) - origin
    matrix[:3, 2] = view.to_lps([base + 1, 0.0, 0.0]) - origin
    # (x, y, frame) = (0, 0, 0) is where the plane's origin lies when frames count from 0.
    matrix[:3, 3] = origin - base * matrix[:3, 2]
    return matrix


__all__ = [
    "PRESETS",
    "EdgeLetters",
    "Window",
    "WindowPreset",
    "apply_window",
    "auto_window",
    "direction_letters",
    "edge_letters",
    "encode_png",
    "overlay_png",
    "plane_matrix",
    "render_frame",
]
