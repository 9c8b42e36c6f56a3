"""``labelport convert SERIES_DIR --to nifti -o OUT`` and ``labelport inspect SERIES_DIR``."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import typer
from typer.testing import CliRunner

from labelport.cli.imaging_commands import register
from labelport.imaging import load_series
from tests.fixtures import REDBRICK

AXIAL = str(REDBRICK / "dicom/axial")
SAGITTAL = str(REDBRICK / "dicom/sagittal")


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


runner = CliRunner()


def test_convert_writes_the_series_as_nifti(tmp_path: Path) -> None:
    out = tmp_path / "out.nii.gz"
    result = runner.invoke(make_app(), ["convert", AXIAL, "--to", "nifti", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out} (12 x 10 x 6, LPS)\n"
    image = nib.load(out)
    volume = load_series(AXIAL)
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), volume.array)
    np.testing.assert_allclose(image.affine, volume.affine_ras, atol=1e-5)


def test_inspect_prints_the_geometry() -> None:
    result = runner.invoke(make_app(), ["inspect", SAGITTAL])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "size: 11 x 9 x 5 (columns x rows x slices)" in lines
    assert "spacing: 0.7 x 1.1 x 1.5 mm (column, row, slice)" in lines
    assert "orientation: PIR (direction of columns, rows, slices; nibabel axcodes)" in lines
    assert "origin: (3, -7, 20) mm LPS (centre of voxel 0, 0, 0)" in lines
    assert "slice order: ascending IPP . n, n = (-1, 0, 0)" in lines
    assert lines[-1] == "warnings: none"


def test_errors_are_one_message_and_exit_code_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = runner.invoke(make_app(), ["inspect", str(missing)])
    assert result.exit_code == 1
    assert result.output == f"error: {missing}: no such file or directory\n"
    result = runner.invoke(make_app(), ["convert", AXIAL, "--to", "dicom", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert result.output.startswith("error: unknown format 'dicom' to write; known: ")
    assert "nifti" in result.output


def test_every_public_name_is_documented() -> None:
    import labelport.imaging as imaging

    text = Path("docs/imaging.md").read_text()
    missing = [name for name in imaging.__all__ if name not in text]
    assert missing == [], f"docs/imaging.md does not mention {missing}"
