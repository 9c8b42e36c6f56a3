"""Shared helpers of the RedBrick tests: reading items lists with the files they name, fixture paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from labelport.formats.base import Problem, ReadContext, Source
from labelport.formats.redbrick import tasks as redbrick
from labelport.imaging.volume import LPS_TO_RAS, Grid, read_series_header
from labelport.model import LabeledItem
from labelport.model.label import LabelKind
from labelport.model.ontology import Ontology
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver

from ...fixtures import REDBRICK

ITEMS_FIXTURE = REDBRICK / "items" / "items_fixture.json"
AXIAL = REDBRICK / "dicom" / "axial"
SAGITTAL = REDBRICK / "dicom" / "sagittal"
INPUTS = REDBRICK / "nifti" / "inputs"
REFERENCE = REDBRICK / "nifti" / "reference"
AXIAL_FILES = [str(p) for p in sorted(AXIAL.iterdir())]


def context(*roots: Path, ontology: Ontology | None = None, **options: Any) -> ReadContext:
    return ReadContext(
        resolver=FileResolver(Settings.from_env(), (*roots, REDBRICK)),
        ontology=ontology,
        label_kind=LabelKind.GROUND_TRUTH,
        options=options,
    )


def read(source: Source, *roots: Path, ontology: Ontology | None = None, **options: Any) -> list[LabeledItem | Problem]:
    return list(redbrick.read(source, context(*roots, ontology=ontology, **options)))


def items_only(found: list[LabeledItem | Problem]) -> list[LabeledItem]:
    problems = [str(f) for f in found if isinstance(f, Problem)]
    assert problems == [], problems
    return [f for f in found if isinstance(f, LabeledItem)]


def write_items(folder: Path, tasks: list[dict[str, Any]], name: str = "items.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(tasks))
    return path


def series_grid(folder: Path) -> Grid:
    header = read_series_header(folder)
    return Grid((header.columns, header.rows, header.slices), header.affine_lps)


def save_on(
    array: np.ndarray[Any, Any], grid: Grid, path: Path, affine_ras: np.ndarray[Any, Any] | None = None
) -> Path:
    """Save ``array`` as NIfTI with the grid's RAS affine (or the one given)."""
    image = nib.Nifti1Image(array, LPS_TO_RAS @ grid.affine_lps if affine_ras is None else affine_ras)
    nib.save(image, str(path))
    return path


def label_map() -> np.ndarray[Any, Any]:
    """The axial fixture label map (values 1, 2, 3) on the axial ITK grid."""
    return np.asarray(nib.load(str(INPUTS / "axial_seg_labelmap.nii.gz")).dataobj)
