"""Imaging benchmarks, ours against the referees measured in the same run.

Run: ``python benchmarks/imaging/bench_imaging.py`` from the repository root.

1. Encord ``rleString`` encode + decode of a 1920 x 1080 mask: labelport vs the encord SDK's codec
   (``encord.common.bitmask_operations``; target >= 20x faster) and pycocotools (target within 2x).
2. Loading the 35-slice series ``tests/fixtures/dicom/dcm_qa_decubitus/HFS_t1_fl2d_sag``: labelport
   ``load_series`` vs the wall time of the dcm2niix process (target within 1.5x).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from labelport.imaging import decode_encord_rle, encode_encord_rle, load_series, write_nifti

REPO = Path(__file__).resolve().parents[2]
SERIES = REPO / "tests/fixtures/dicom/dcm_qa_decubitus/HFS_t1_fl2d_sag"
HEIGHT, WIDTH = 1080, 1920


def best_of(fn: Callable[[], Any], repeat: int = 7, number: int = 5) -> float:
    """Median over ``repeat`` rounds of the mean time of ``number`` calls, in seconds."""
    fn()  # warm up caches and lazy imports
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return statistics.median(rounds)


def sample_mask() -> np.ndarray[Any, np.dtype[np.bool_]]:
    """A 1920 x 1080 mask with 40 filled blobs and a ring: a few thousand runs, like a real label."""
    rng = np.random.default_rng(20240101)
    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for _ in range(40):
        centre = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
        axes = (int(rng.integers(10, 200)), int(rng.integers(10, 200)))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    cv2.circle(canvas, (WIDTH // 2, HEIGHT // 2), 400, 0, 30)
    return canvas.astype(bool)


def row(name: str, ours: float, referee: float | None, target: str, ok: bool | None) -> str:
    if referee is None:
        return f"{name:<44} {ours * 1e3:>9.2f} {'-':>9} {'-':>8}  {target:<26} skipped"
    ratio = referee / ours
    verdict = "ok" if ok else "MISSED"
    return f"{name:<44} {ours * 1e3:>9.2f} {referee * 1e3:>9.2f} {ratio:>7.2f}x  {target:<26} {verdict}"


def bench_rle(lines: list[str], notes: list[str]) -> None:
    mask = sample_mask()
    size = HEIGHT * WIDTH

    def ours() -> None:
        text = encode_encord_rle(mask)
        decode_encord_rle(text, HEIGHT, WIDTH)

    t_ours = best_of(ours)
    try:
        from encord.common.bitmask_operations import deserialise_bitmask, serialise_bitmask
    except ImportError as exc:
        notes.append(f"encord SDK not installed ({exc}); install the 'bench' extra to compare")
        lines.append(row("Encord RLE enc+dec 1920x1080 vs encord SDK", t_ours, None, ">= 20x faster", None))
    else:

        def sdk() -> None:
            text = serialise_bitmask(mask.tobytes())
            np.frombuffer(deserialise_bitmask(text, size), dtype=np.bool_).reshape(HEIGHT, WIDTH)

        assert serialise_bitmask(mask.tobytes()) == encode_encord_rle(mask), "codecs disagree"
        t_sdk = best_of(sdk, repeat=3, number=1)
        lines.append(
            row("Encord RLE enc+dec 1920x1080 vs encord SDK", t_ours, t_sdk, ">= 20x faster", t_sdk / t_ours >= 20)
        )
    try:
        from pycocotools import mask as coco_mask
    except ImportError as exc:
        notes.append(f"pycocotools not installed ({exc})")
        lines.append(row("Encord RLE enc+dec 1920x1080 vs pycocotools", t_ours, None, "within 2x", None))
        return

    def coco() -> None:
        # Encord's row-major runs are pycocotools' column-major runs of the transpose.
        rle = coco_mask.encode(np.asfortranarray(mask.T.astype(np.uint8)))
        coco_mask.decode(rle).T.astype(bool)

    assert coco_mask.encode(np.asfortranarray(mask.T.astype(np.uint8)))["counts"].decode() == encode_encord_rle(mask)
    t_coco = best_of(coco)
    lines.append(row("Encord RLE enc+dec 1920x1080 vs pycocotools", t_ours, t_coco, "within 2x", t_ours <= 2 * t_coco))


def bench_series(lines: list[str], notes: list[str]) -> None:
    if not SERIES.is_dir():
        raise FileNotFoundError(f"{SERIES}: the series is part of the repository (tests/fixtures/README.md)")
    t_ours = best_of(lambda: load_series(SERIES), repeat=5, number=3)
    binary = shutil.which("dcm2niix")
    if binary is None:
        notes.append("dcm2niix not installed (apt-get install dcm2niix)")
        lines.append(row("load 35-slice series vs dcm2niix", t_ours, None, "within 1.5x", None))
        return
    with tempfile.TemporaryDirectory() as out:

        def referee() -> None:
            # -z n: no gzip, so the process time is reading, sorting and writing the voxels.
            subprocess.run(
                [binary, "-z", "n", "-b", "n", "-f", "ref", "-o", out, str(SERIES)], check=True, capture_output=True
            )

        t_ref = best_of(referee, repeat=5, number=3)

        def ours_to_file() -> None:
            write_nifti(load_series(SERIES), Path(out) / "ours.nii")

        t_ours_file = best_of(ours_to_file, repeat=5, number=3)
    lines.append(row("load 35-slice series vs dcm2niix (process)", t_ours, t_ref, "within 1.5x", t_ours <= 1.5 * t_ref))
    lines.append(
        row(
            "load + write .nii vs dcm2niix -z n (process)",
            t_ours_file,
            t_ref,
            "within 1.5x",
            t_ours_file <= 1.5 * t_ref,
        )
    )


def main() -> int:
    lines: list[str] = []
    notes: list[str] = []
    bench_rle(lines, notes)
    bench_series(lines, notes)
    header = f"{'benchmark':<44} {'ours ms':>9} {'ref ms':>9} {'ref/ours':>8}  {'target':<26} result"
    print(header)
    print("-" * len(header))
    for line in lines:
        print(line)
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
