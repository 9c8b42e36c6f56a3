"""Fixtures for the imaging standards: DICOM data rows described from real and generated series, items of
volume masks, and the referees (dciodvfy, dcmqi in the referee venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from labelport.model import DataRowKey, Label, LabeledItem, LabelKind
from labelport.model.annotation import AnyAnnotation, VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.media import DataRow
from labelport.model.pixels import Pixels
from labelport.service.media import describe
from tests.conftest import REPO
from tests.fixtures import REDBRICK
from tests.imaging.conftest import dcm2niix  # noqa: F401 - the dcm2niix referee fixture, shared

AXIAL = REDBRICK / "dicom" / "axial"
SAGITTAL = REDBRICK / "dicom" / "sagittal"
REFEREE_BIN = REPO / ".venv-referee" / "bin"


def dicom_row(folder: Path, key: str = "row-1") -> DataRow:
    """A DICOM data row described as ``labelport data-rows add`` describes it."""
    row_data, media_type, attributes = describe(str(folder), None, "test")
    return DataRow(key, str(row_data), media_type, global_key=key, media_attributes=attributes)


def volume_item(
    row: DataRow,
    volume: npt.NDArray[Any],
    objects: Sequence[tuple[str, tuple[int, ...]]],
    extra: Sequence[AnyAnnotation] = (),
    colors: Sequence[tuple[int, int, int] | None] = (),
) -> LabeledItem:
    """An item with one VolumeMask per (feature name, values) over one label volume on the row's grid."""
    source = VolumeSource(pixels=Pixels.of(volume))
    annotations: list[AnyAnnotation] = [
        VolumeMask(
            uuid=f"00000000-0000-4000-8000-{index:012d}",
            source=source,
            values=values,
            name=name,
            color=colors[index] if index < len(colors) else None,
        )
        for index, (name, values) in enumerate(objects)
    ]
    annotations.extend(extra)
    return LabeledItem(
        DataRowKey(global_key=row.global_key), (Label(LabelKind.GROUND_TRUTH, tuple(annotations)),), media=row
    )


def blobs(shape: tuple[int, int, int], seed: int, count: int = 3) -> npt.NDArray[np.uint8]:
    """A label volume [column, row, slice] with ``count`` random ellipsoids (values 1..count), one with a hole."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    volume = np.zeros(shape, dtype=np.uint8)
    for value in range(1, count + 1):
        centre = rng.uniform(0, 1, 3) * np.asarray(shape)
        radii = rng.uniform(0.2, 0.45, 3) * np.asarray(shape) + 0.8
        inside = (
            ((i - centre[0]) / radii[0]) ** 2 + ((j - centre[1]) / radii[1]) ** 2 + ((k - centre[2]) / radii[2]) ** 2
        )
        volume[inside < 1] = value
        if value == 1:
            volume[(inside < 0.15) & (volume == 1)] = 0
    return volume


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture
def dciodvfy() -> Callable[[Path], list[str]]:
    """Run dciodvfy (dicom3tools) on a file; returns its Error lines."""
    binary = shutil.which("dciodvfy")
    if binary is None:
        _unavailable("dciodvfy is not installed (Debian package dicom3tools, installed by .ci/run)")

    def run(path: Path) -> list[str]:
        done = subprocess.run([str(binary), str(path)], capture_output=True, text=True, check=False)
        return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]

    return run


@pytest.fixture(scope="session")
def dcmqi() -> Path:
    """The folder of dcmqi's command-line tools (the ``dcmqi`` wheel in the referee venv; created when missing)."""
    tool = REFEREE_BIN / "segimage2itkimage"
    if not tool.exists():
        python = REFEREE_BIN / "python"
        try:
            if not python.exists():
                subprocess.run(["python3", "-m", "venv", str(REPO / ".venv-referee")], check=True, timeout=120)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "dcmqi==1.5.7"],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _unavailable(f"dcmqi could not be installed into the referee venv: {exc}")
    return REFEREE_BIN


@pytest.fixture
def axial_row() -> DataRow:
    return dicom_row(AXIAL, "axial-1")
