"""A 512 x 512 x 200 label map with 3 segments on a generated axial series, written as DICOM SEG, NIfTI and
RTSTRUCT by labelport and by the tool each builds on, in the same run.

- DICOM SEG: ``formats.dicom_seg.write`` (sources read, label volume prepared, highdicom, file written) against
  highdicom alone on the same volume and source files (read, ``Segmentation``, ``save_as``). Target: within 1.2x.
- NIfTI: ``formats.nifti.write`` (label map + sidecar) against nibabel's own ``save`` of the same array and
  affine. Target: within 1.2x.
- RTSTRUCT: ``formats.rtstruct.write`` against rt-utils 1.2.7 (``RTStructBuilder``, in ``.venv-referee``: it
  pulls opencv-python) on the same series. Target: faster.

Each side runs ``--rounds`` times, interleaved, each in a fresh process; the best time of each counts (see
benchmarks/labelbox/bench_import.py). Run: ``make bench`` or
``.venv/bin/python benchmarks/standards/bench_standards.py [--rounds R] [--slices N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
REFEREE_PYTHON = REPO / ".venv-referee" / "bin" / "python"
SIZE = 512


def write_series(folder: Path, slices: int) -> None:
    """An axial CT-like series: 512 x 512 uint16, 0.7 mm pixels, 1.5 mm slices, files in random order."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 2000, size=(SIZE, SIZE), dtype=np.uint16).tobytes()
    for k in rng.permutation(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Bench^Phantom", "BENCH", "", "O"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = (
            "20240101",
            "1200",
            "1",
            "",
            "",
        )
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.Manufacturer = "CT", 1, int(k) + 1, "bench"
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [-180.0, -180.0, 1.5 * float(k)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1.5
        ds.Rows = ds.Columns = SIZE
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = pixels
        ds.save_as(folder / f"{generate_uid()}.dcm", enforce_file_format=True)


def label_volume(slices: int) -> np.ndarray:  # type: ignore[type-arg]
    """[column, row, slice]: a body on every slice, an organ on about half, a small lesion (notes 2.6)."""
    i, j = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    body = ((i - 256) / 200.0) ** 2 + ((j - 256) / 150.0) ** 2 < 1
    volume = np.zeros((SIZE, SIZE, slices), dtype=np.uint8, order="F")
    for k in range(slices):
        volume[:, :, k][body] = 1
        t = (k - slices / 2) / (slices / 4)
        if abs(t) < 1:
            organ = ((i - 300) / 60.0) ** 2 + ((j - 240) / 50.0) ** 2 < 1 - t * t
            volume[:, :, k][organ] = 2
        u = (k - slices * 0.6) / (slices * 0.05)
        if abs(u) < 1:
            lesion = ((i - 200) / 12.0) ** 2 + ((j - 280) / 12.0) ** 2 < 1 - u * u
            volume[:, :, k][lesion] = 3
    return volume


PREAMBLE = r"""
import json, sys, time
from pathlib import Path
import numpy as np
work = Path(sys.argv[1])
out = Path(sys.argv[2])
"""

OURS_ITEM = r"""
import highdicom  # imported before timing, as the referee does
from labelport.formats import get_format
from labelport.formats.base import WriteContext
from labelport.model import DataRowKey, Label, LabeledItem, LabelKind
from labelport.model.annotation import VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.media import DataRow, MediaAttributes
from labelport.model.pixels import Pixels
volume = np.load(work / "labels.npy")
attributes = MediaAttributes.from_dict(json.loads((work / "attributes.json").read_text()))
row = DataRow("bench", str(work / "series"), "dicom", global_key="bench", media_attributes=attributes)
source = VolumeSource(pixels=Pixels.of(volume, key="bench"))
masks = tuple(VolumeMask(uuid=f"00000000-0000-4000-8000-00000000000{v}", source=source, values=(v,),
                         name=name) for v, name in ((1, "body"), (2, "organ"), (3, "lesion")))
item = LabeledItem(DataRowKey(global_key="bench"), (Label(LabelKind.GROUND_TRUTH, masks),), media=row)
"""

SCRIPTS = {
    "seg_ours": PREAMBLE
    + OURS_ITEM
    + r"""
start = time.perf_counter()
report = get_format("dicom_seg").write([item], out / "seg.dcm")
print(time.perf_counter() - start, report.items)
""",
    "seg_highdicom": PREAMBLE
    + r"""
import highdicom as hd, pydicom
volume = np.load(work / "labels.npy")
start = time.perf_counter()
sources = [pydicom.dcmread(p, stop_before_pixels=True) for p in (work / "series").iterdir()]
sources.sort(key=lambda d: float(d.ImagePositionPatient[2]))
tissue = hd.sr.CodedConcept("85756007", "SCT", "Tissue")
descriptions = [hd.seg.SegmentDescription(n, name, tissue, tissue, "MANUAL")
                for n, name in ((1, "body"), (2, "organ"), (3, "lesion"))]
seg = hd.seg.Segmentation(sources, volume.transpose(2, 1, 0), "BINARY", descriptions, hd.UID(), 1000, hd.UID(), 1,
                          "bench", "bench", "1", "0", omit_empty_frames=True)
seg.save_as(out / "seg.dcm")
print(time.perf_counter() - start, 1)
""",
    "nifti_ours": PREAMBLE
    + OURS_ITEM
    + r"""
start = time.perf_counter()
report = get_format("nifti").write([item], out / "labels")
print(time.perf_counter() - start, report.items)
""",
    "nifti_nibabel": PREAMBLE
    + r"""
import nibabel as nib
volume = np.load(work / "labels.npy")
lps = np.asarray(json.loads((work / "attributes.json").read_text())["affine"]).reshape(4, 4)
affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
start = time.perf_counter()
nib.save(nib.Nifti1Image(volume, affine), out / "labels.nii.gz")
print(time.perf_counter() - start, 1)
""",
    "rtstruct_ours": PREAMBLE
    + OURS_ITEM
    + r"""
start = time.perf_counter()
report = get_format("rtstruct").write([item], out / "rt.dcm")
print(time.perf_counter() - start, report.items)
""",
    "rtstruct_rt_utils": PREAMBLE
    + r"""
from rt_utils import RTStructBuilder
volume = np.load(work / "labels.npy")
start = time.perf_counter()
rtstruct = RTStructBuilder.create_new(dicom_series_path=str(work / "series"))
for value, name in ((1, "body"), (2, "organ"), (3, "lesion")):
    # rt-utils takes [row, column, slice] in its own (InstanceNumber-free, position-sorted) slice order.
    rtstruct.add_roi(mask=(volume == value).transpose(1, 0, 2), name=name)
rtstruct.save(str(out / "rt.dcm"))
print(time.perf_counter() - start, 1)
""",
}


def run(python: Path | str, name: str, work: Path) -> float:
    out = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [str(python), "-c", SCRIPTS[name], str(work), str(out)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.split()[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slices", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from labelport.service.media import describe

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_series(work / "series", args.slices)
        _, _, attributes = describe(str(work / "series"), None, "bench")
        (work / "attributes.json").write_text(json.dumps(attributes.as_dict()))
        np.save(work / "labels.npy", label_volume(args.slices))
        pairs = [
            ("seg_ours", "seg_highdicom", sys.executable, 1.2),
            ("nifti_ours", "nifti_nibabel", sys.executable, 1.2),
        ]
        if REFEREE_PYTHON.exists():
            pairs.append(("rtstruct_ours", "rtstruct_rt_utils", str(REFEREE_PYTHON), 1.0))
        else:
            print(f"rt-utils skipped: {REFEREE_PYTHON} missing (make referee-venv creates it)")
        summary = {}
        for ours, theirs, python, target in pairs:
            mine, referee = [], []
            for round_ in range(args.rounds):
                mine.append(run(sys.executable, ours, work))
                referee.append(run(python, theirs, work))
                print(f"round {round_ + 1}: {ours} {mine[-1]:.2f} s, {theirs} {referee[-1]:.2f} s", flush=True)
            ratio = min(mine) / min(referee)
            verdict = "met" if ratio <= target else "NOT met"
            print(
                f"{ours}: best {min(mine):.2f} s, {theirs}: best {min(referee):.2f} s, ratio {ratio:.2f} "
                f"(target <= {target}): {verdict}"
            )
            summary[ours] = {
                "ours_s": round(min(mine), 3),
                "referee_s": round(min(referee), 3),
                "ratio": round(ratio, 3),
                "target": target,
            }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
