"""Merge and import three 512 x 512 x 300 uint8 segmentation files with overlaps, from a RedBrick items list.

Ours: ``service.items.import_items`` end to end into SQLite (the series' headers read, the three files checked
and put on the series grid, merged as redbrick-sdk merges them, the data row created and batched, the label
volume stored and its six instances imported). The referee: redbrick-sdk 2.35.4's ``process_upload`` on the
same files (the merge alone; it writes its merged file), in ``.venv-redbrick``. Each runs ``--rounds``
times, interleaved, in a fresh process; the best time of each counts. Targets: ours at least 2x faster; our
peak RSS (the whole process: interpreter, libraries, store) under 4x one volume (4 x 75 MiB); the growth
above the RSS before the import is shown too.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/redbrick/bench_merge.py [--rounds R] [--slices N]``).
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
REFEREE_PYTHON = REPO / ".venv-redbrick" / "bin" / "python"
SIDE = 512
INSTANCES = (1, 2, 3, 4, 5, 6)


def write_inputs(folder: Path, slices: int) -> tuple[list[Path], Path]:
    """Three label files (values 1-3, 4-5, 6) whose blobs overlap, and a DICOM series they lie on."""
    import nibabel as nib

    from labelport.imaging.nifti import label_image
    from labelport.imaging.volume import read_series_header
    from labelport.service.synthetic import write_series

    series = folder / "series"
    write_series(series, rows=SIDE, columns=SIDE, slices=slices, spacing=(0.7, 0.7, 1.0))
    header = read_series_header(series)
    from labelport.imaging.volume import Grid

    grid = Grid((header.columns, header.rows, header.slices), header.affine_lps)
    x, y = np.ogrid[0:SIDE, 0:SIDE]
    files = []
    for number, values in enumerate(((1, 2, 3), (4, 5), (6,))):
        volume = np.zeros(grid.shape, dtype=np.uint8, order="F")
        for index, value in enumerate(values):
            cx, cy = 150 + 100 * index + 40 * number, 180 + 60 * number
            disc = (x - cx) ** 2 + (y - cy) ** 2 <= (90 - 10 * index) ** 2
            low, high = slices // 8 + 10 * number, slices - slices // 8 - 10 * index
            volume[:, :, low:high][disc] = value
        path = folder / f"seg-{number}.nii.gz"
        nib.save(label_image(volume, grid), str(path))
        files.append(path)
    return files, series


OURS = r"""
import json, resource, sys, time
from pathlib import Path
import labelport as lp
from labelport.service.items import import_items

items, home = Path(sys.argv[1]), Path(sys.argv[2])
client = lp.Client(home=home)
project = client.create_project("bench", media_type="dicom")
ontology = {"tools": [{"tool": "raster-segmentation", "name": f"c{i}"} for i in range(1, 7)], "classifications": []}
project.connect_ontology(client.create_ontology("bench", ontology, media_type="dicom"))
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024
before = rss_mb()
start = time.perf_counter()
result = import_items(client.hub, project.uid, items, kind="ground_truth")
elapsed = time.perf_counter() - start
assert not result.failed and result.job.failed == 0 and result.job.succeeded == 6, result
print(elapsed, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

REFEREE = r"""
import json, os, resource, sys, time
os.environ["REDBRICK_DISABLE_VERSION_CHECK"] = "1"
from redbrick.utils.nifti import process_upload
files = json.loads(sys.argv[1])
before = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
start = time.perf_counter()
path, seg_map, error = process_upload(files, {i: None for i in range(1, 7)}, False, False, {})
elapsed = time.perf_counter() - start
assert error is None and path, error
print(elapsed, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run(python: Path | str, script: str, *args: str, home: Path | None = None) -> tuple[float, float, float]:
    """Seconds, RSS before and peak RSS (MiB) that one run of ``script`` reports."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if home is not None:
        env["HOME"] = str(home)  # process_upload writes under ~/.redbrickai/temp
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{python} failed:\n{done.stderr[-3000:]}")
    elapsed, before, peak = done.stdout.split()[-3:]
    return float(elapsed), float(before), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each; the best of each counts")
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()
    referee = REFEREE_PYTHON.exists()
    if not referee:
        print(f"redbrick-sdk referee skipped: {REFEREE_PYTHON} missing (make redbrick-venv creates it)")
    volume_mb = SIDE * SIDE * args.slices / 2**20
    ours: list[tuple[float, float, float]] = []
    sdk: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files, series = write_inputs(folder, args.slices)
        segment_map = {str(i): f"c{i}" for i in INSTANCES}
        items = folder / "items.json"
        items.write_text(
            json.dumps(
                [
                    {
                        "name": "bench",
                        "series": [
                            {
                                "name": "CT",
                                "items": str(series),
                                "segmentations": [str(p) for p in files],
                                "segmentMap": segment_map,
                            }
                        ],
                    }
                ]
            )
        )
        for round_ in range(args.rounds):
            ours.append(run(sys.executable, OURS, str(items), str(folder / f"home{round_}")))
            print(f"round {round_ + 1}: labelport {ours[-1][0]:.2f} s", end="", flush=True)
            if referee:
                sdk.append(run(REFEREE_PYTHON, REFEREE, json.dumps([str(p) for p in files]), home=folder))
                print(f", process_upload {sdk[-1][0]:.2f} s", end="")
            print()
    best = min(r[0] for r in ours)
    growth = max(r[2] - r[1] for r in ours)
    peak = max(r[2] for r in ours)
    print(
        f"labelport import_items (read, check, merge, create row, store, import): {best:.2f} s (best of "
        f"{args.rounds}); peak RSS {peak:.0f} MiB = {peak / volume_mb:.1f}x one {volume_mb:.0f} MiB volume "
        f"(target < 4x); {growth:.0f} MiB above the RSS before the import"
    )
    if not referee:
        return
    ref_best = min(r[0] for r in sdk)
    ref_growth = max(r[2] - r[1] for r in sdk)
    print(
        f"redbrick-sdk 2.35.4 process_upload (merge only): {ref_best:.2f} s (best of {args.rounds}); peak RSS "
        f"{max(r[2] for r in sdk):.0f} MiB, {ref_growth:.0f} MiB above its RSS before the merge "
        f"({ref_growth / volume_mb:.1f}x one volume)"
    )
    ratio = ref_best / best
    pairs = sorted(s[0] / o[0] for o, s in zip(ours, sdk, strict=True))
    print(f"speed-up per round (SDK time / ours in the same round, sorted): {', '.join(f'{r:.1f}x' for r in pairs)}")
    print(
        json.dumps(
            {
                "ours_s": round(best, 2),
                "sdk_s": round(ref_best, 2),
                "speedup": round(ratio, 2),
                "target_speedup": 2,
                "peak_volumes": round(peak / volume_mb, 2),
                "growth_volumes": round(growth / volume_mb, 2),
                "target_volumes": 4,
            }
        )
    )
    print(
        f"speed-up {ratio:.1f}x (target >= 2x): {'met' if ratio >= 2 else 'NOT met'}; "
        f"memory {'met' if peak < 4 * volume_mb else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
