"""``labelport convert`` and ``labelport.convert``: any format to any other, the loss report, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image
from typer.testing import CliRunner

import labelport
from labelport.cli.main import app
from labelport.formats import get_format

from .conftest import AXIAL, blobs

runner = CliRunner()


def labelbox_masks(tmp_path: Path) -> tuple[Path, np.ndarray]:  # type: ignore[type-arg]
    """Labelbox NDJSON DICOM masks (composite PNGs on axial frames 2 and 5) and a sagittal polyline, on the
    RedBrick axial series; and the label volume they describe, built by hand (this series' axial plane is its
    own grid: frame f is slice f - 1, image rows j, columns i)."""
    colors = {1: (0, 0, 255), 2: (0, 255, 0)}
    expected = np.zeros((12, 10, 6), dtype=np.uint8)
    frames = []
    for index in (2, 5):
        rgb = np.zeros((10, 12, 3), dtype=np.uint8)
        labels = blobs((12, 10, 1), seed=index, count=2)[:, :, 0].T  # [row, column]
        for value, color in colors.items():
            rgb[labels == value] = color
            expected[:, :, index - 1][value == labels.T] = value
        path = tmp_path / f"frame{index}.png"
        Image.fromarray(rgb).save(path)
        frames.append({"index": index, "instanceURI": str(path)})
    lines = [
        {
            "uuid": "00000000-0000-4000-8000-000000000001",
            "dataRow": {"globalKey": "axial"},
            "groupKey": "axial",
            "masks": {
                "frames": frames,
                "instances": [
                    {"colorRGB": list(colors[1]), "name": "liver"},
                    {"colorRGB": list(colors[2]), "name": "spleen"},
                ],
            },
        },
        {
            "uuid": "00000000-0000-4000-8000-000000000002",
            "dataRow": {"globalKey": "axial"},
            "name": "line",
            "groupKey": "sagittal",
            "segments": [{"keyframes": [{"frame": 3, "line": [{"x": 1, "y": 1}, {"x": 4, "y": 3}]}]}],
        },
    ]
    path = tmp_path / "labelbox.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path, expected


def test_labelbox_masks_to_seg_to_nifti_to_rtstruct_to_label_volume(tmp_path: Path) -> None:
    source, expected = labelbox_masks(tmp_path)
    seg = tmp_path / "seg"
    result = runner.invoke(app, ["convert", str(source), "--to", "dicom_seg", "-o", str(seg), "--series", str(AXIAL)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"converted {source} (labelbox_ndjson) to {seg} (dicom_seg): 1 data rows, 2 annotations, 1 dropped"
    )
    assert "dropped: global key 'axial': TrackedObject dropped: a DICOM SEG holds voxel masks" in result.stderr
    nifti = tmp_path / "nifti"
    result = runner.invoke(app, ["convert", str(seg), "--to", "nifti", "-o", str(nifti), "--series", str(AXIAL)])
    assert result.exit_code == 0, result.output
    labels = np.asarray(nib.load(nifti / "axial.nii.gz").dataobj)
    np.testing.assert_array_equal(labels, expected)
    rtstruct = tmp_path / "rt"
    result = runner.invoke(app, ["convert", str(nifti), "--to", "rtstruct", "-o", str(rtstruct)])
    assert result.exit_code == 0, result.output  # the sidecar names the series
    back = tmp_path / "back"
    result = runner.invoke(app, ["convert", str(rtstruct), "--to", "nifti", "-o", str(back), "--series", str(AXIAL)])
    assert result.exit_code == 0, result.output
    final = np.asarray(nib.load(back / "axial.nii.gz").dataobj)
    # Mask -> contours -> mask is exact on a pixel grid (tolerance one voxel at the boundary: none needed here).
    assert int((final != expected).sum()) == 0
    sidecar = json.loads((back / "axial.json").read_text())
    assert [label["name"] for label in sidecar["labels"]] == ["liver", "spleen"]


def test_sdk_convert_gives_the_report(tmp_path: Path) -> None:
    source, _ = labelbox_masks(tmp_path)
    result = labelport.convert(source, "dicom_sr", tmp_path / "sr", series=AXIAL)
    assert result.ok and result.report.items == 1 and result.report.annotations == 1
    assert [loss.what for loss in result.report.losses] == ["FrameMasks", "track"]
    back = list(get_format("dicom_sr").read(tmp_path / "sr", _series_context()))
    line = back[0].labels[0].annotations[0]  # type: ignore[union-attr]
    assert line.placement.group.value == "sagittal" and line.placement.frame == 2  # Labelbox frame 3, 1-based


def _series_context():  # type: ignore[no-untyped-def]
    from labelport.formats.base import ReadContext
    from labelport.service.convert import SeriesCatalog

    return ReadContext(options={"series": SeriesCatalog(AXIAL)})


def test_errors_exit_1_and_losses_exit_0(tmp_path: Path) -> None:
    coco = tmp_path / "coco.json"
    coco.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 4}],
                "categories": [{"id": 1, "name": "box"}],
                "annotations": [{"id": 5, "image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            }
        )
    )
    result = runner.invoke(app, ["convert", str(coco), "--to", "coco", "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 1
    assert f"error: {coco}, annotations[0]: annotation 5 references image 9, which is not in images" in result.stderr
    result = runner.invoke(app, ["convert", str(tmp_path / "missing"), "--to", "coco", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "error: input" in result.stderr and "does not exist" in result.stderr
    nifti = tmp_path / "seg.nii.gz"
    volume = blobs((12, 10, 6), seed=1, count=1)
    nib.save(nib.Nifti1Image(volume, np.diag([2.0, 2.0, 2.0, 1.0])), nifti)  # not the series' grid
    arguments = ["convert", str(nifti), "--to", "dicom_seg", "-o", str(tmp_path / "s"), "--series", str(AXIAL)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1
    assert "does not fit the series grid" in result.stderr


def test_series_folder_to_nifti_image_still_works(tmp_path: Path) -> None:
    out = tmp_path / "image.nii.gz"
    result = runner.invoke(app, ["convert", str(AXIAL), "--to", "nifti", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (12 x 10 x 6, LPS)\n"


def test_encord_bitmasks_round_trip_through_coco_rle(tmp_path: Path) -> None:
    """Encord bitmask -> COCO RLE -> Encord: the same pixels (Encord's row-major runs, COCO's column-major
    ones, read by pycocotools), the same box, the same object hashes."""
    from pycocotools import mask as coco_mask

    from labelport.imaging import decode_encord_rle, encode_encord_rle

    mask = np.zeros((12, 16), dtype=bool)
    mask[2:7, 3:11] = True
    mask[0, 0] = True  # a first pixel that is set (a bug upstream once)
    bitmask = {"top": 0, "left": 0, "width": 16, "height": 12, "rleString": encode_encord_rle(mask)}
    objects = [
        {"objectHash": "mask0001", "featureHash": "maskFNH1", "shape": "bitmask", "name": "Lesion", "bitmask": bitmask},
        {
            "objectHash": "box00001",
            "featureHash": "boxFNH01",
            "shape": "bounding_box",
            "name": "Box",
            "boundingBox": {"x": 0.25, "y": 0.5, "w": 0.5, "h": 0.25},
        },
    ]
    unit = {
        "data_hash": "dh",
        "data_title": "a.png",
        "data_type": "image/png",
        "data_sequence": 0,
        "width": 16,
        "height": 12,
        "labels": {"objects": objects, "classifications": []},
    }
    row = {
        "label_hash": "lr",
        "branch_name": "main",
        "created_at": None,
        "last_edited_at": None,
        "data_hash": "dh",
        "dataset_hash": "d",
        "dataset_title": "d",
        "data_title": "a.png",
        "data_type": "image",
        "label_status": "LABELLED",
        "data_units": {"dh": unit},
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }
    (tmp_path / "rows.json").write_text(json.dumps([row]))
    to_coco = labelport.convert(tmp_path / "rows.json", "coco", tmp_path / "coco.json")
    assert to_coco.ok and to_coco.report.losses == []
    coco = json.loads((tmp_path / "coco.json").read_text())
    [rle] = [a["segmentation"] for a in coco["annotations"] if isinstance(a["segmentation"], dict)]
    np.testing.assert_array_equal(coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}), mask)
    back = labelport.convert(tmp_path / "coco.json", "encord_label_rows", tmp_path / "back.json")
    assert back.ok and back.report.losses == []
    [again] = json.loads((tmp_path / "back.json").read_text())
    written = {o["objectHash"]: o for o in again["data_units"]["dh"]["labels"]["objects"]}
    assert sorted(written) == ["box00001", "mask0001"]
    got = written["mask0001"]["bitmask"]
    np.testing.assert_array_equal(decode_encord_rle(got["rleString"], got["height"], got["width"]), mask)
    assert written["box00001"]["boundingBox"] == objects[1]["boundingBox"]


def test_redbrick_segmentation_round_trips_through_dicom_seg(tmp_path: Path) -> None:
    """RedBrick segmentation (the guide's example II: two files, an overlap group) -> DICOM SEG -> RedBrick
    tasks.json: every instance keeps its voxels, the overlap included."""
    from labelport.formats.base import Problem, ReadContext
    from labelport.imaging.grids import volume_on_grid
    from labelport.imaging.volume import Grid, read_series_header
    from labelport.model import LabeledItem, VolumeMask, decoded
    from labelport.service.convert import convert
    from labelport.service.hub import Settings
    from labelport.service.masks import FileResolver
    from tests.fixtures import REDBRICK

    header = read_series_header(AXIAL)
    grid = Grid((header.columns, header.rows, header.slices), header.affine_lps)

    def voxels(source: Path) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
        ctx = ReadContext(resolver=FileResolver(Settings.from_env(), (REDBRICK, tmp_path)))
        found = list(get_format("redbrick").read(source, ctx))
        assert not [str(f) for f in found if isinstance(f, Problem)]
        item = next(f for f in found if isinstance(f, LabeledItem) and "guide-II" in str(f.data_row.global_key))
        masks = [a for a in map(decoded, item.labels[0].annotations) if isinstance(a, VolumeMask)]
        return {str(m.name): np.isin(volume_on_grid(m.source, grid, Path), m.values) for m in masks}

    items = REDBRICK / "items" / "items_fixture.json"
    convert(str(items), "dicom_seg", tmp_path / "seg")
    back = convert(str(tmp_path / "seg" / "guide-II_CT.SEG.dcm"), "redbrick", tmp_path / "rb", series=str(AXIAL))
    assert back.report.losses == [] and back.report.items == 1
    before, after = voxels(items), voxels(tmp_path / "rb" / "tasks.json")
    assert after.keys() == before.keys() == {"liver", "spleen", "kidney", "lesion"}
    for name, expected in before.items():
        assert np.array_equal(after[name], expected), name
    assert np.any(after["spleen"] & after["lesion"])  # the overlap survived both conversions
