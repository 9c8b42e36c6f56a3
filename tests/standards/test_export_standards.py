"""``labelport export nifti|dicom_seg|rtstruct --project P``: stored label volumes exported on the series' grid."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

import labelport as lb
from labelport.cli.main import app
from labelport.sdk.imports import LabelImport

from .conftest import AXIAL
from .test_convert import labelbox_masks

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str, np.ndarray]:  # type: ignore[type-arg]
    """A store holding the axial series with Labelbox DICOM masks imported as ground truth."""
    home = tmp_path / "home"
    client = lb.Client(home=home)
    dataset = client.create_dataset("scans")
    task = dataset.create_data_rows([{"row_data": str(AXIAL), "global_key": "axial", "media_type": "dicom"}])
    assert task.errors is None, task.errors
    builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="liver"),
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="spleen"),
            lb.Tool(tool=lb.Tool.Type.LINE, name="line"),
        ]
    )
    project = client.create_project("seg", media_type=lb.MediaType.Dicom)
    project.connect_ontology(client.create_ontology("seg", builder.asdict(), media_type=lb.MediaType.Dicom))
    project.create_batch("all", global_keys=["axial"])
    source, expected = labelbox_masks(tmp_path)
    job = LabelImport.create_from_file(client, project.uid, "masks", str(source))
    assert job.state == "FINISHED" and job.info.failed == 0, (job.state, job.info)
    return home, project.uid, expected


def test_export_nifti_and_seg_from_the_store(
    project: tuple[Path, str, np.ndarray],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    home, project_id, expected = project
    out = tmp_path / "labels"
    result = runner.invoke(app, ["--home", str(home), "export", "nifti", "--project", project_id, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "TrackedObject dropped: a NIfTI label map holds voxel masks; drawings have no place in it" in result.stderr
    np.testing.assert_array_equal(np.asarray(nib.load(out / "axial.nii.gz").dataobj), expected)
    segs = tmp_path / "segs"
    result = runner.invoke(app, ["--home", str(home), "export", "dicom_seg", "--project", project_id, "-o", str(segs)])
    assert result.exit_code == 0, result.output
    seg = hd.seg.segread(segs / "axial.SEG.dcm")
    assert [str(s.SegmentLabel) for s in seg.SegmentSequence] == ["liver", "spleen"]
