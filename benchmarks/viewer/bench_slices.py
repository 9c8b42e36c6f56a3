"""Slice PNGs of the web viewer through the HTTP route, cold and cached.

A 512 x 512 x 200 CT series (int16 stored values, rescale intercept -1024, 0.7 x 0.7 x 1.5 mm) is a data row
of a project on a server (``python -m labelport.api``, SQLite) started afresh for every round. In each round:

- **cold**: the first request of an axial 512 x 512 slice (``GET .../viewer/rows/{row}/slices/axial/{f}`` with
  the CT soft-tissue window): nothing of the series is in the server's cache, so it reads the series' headers
  and the one instance of that slice, windows it and encodes the PNG (target < 300 ms);
- **cached**: the same request again, served from the PNG cache (target < 50 ms; best of 20);
- **cold, other plane** (reported, no target): the first coronal slice (512 x 200) of the same series, which
  needs the whole series read and decoded (later planes are then cut from memory);
- **rendered from memory**: an axial slice not asked for before, once the series is decoded (no PNG cached).

Each is timed from the client (``httpx``, keep-alive) with the API key in the header, as the viewer sends it;
the best of ``--rounds`` rounds counts (rounds interleave, each in a fresh server process). The series'
files were just written, so the OS file cache holds them: cold means cold in labelport, not on disk.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/viewer/bench_slices.py [--rounds R] [--slices N]``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[2]
SIZE = 512
COLD_TARGET_MS = 300
CACHED_TARGET_MS = 50


def write_ct(folder: Path, slices: int) -> None:
    """A CT series of ``slices`` 512 x 512 axial instances: a water cylinder with bone and air, in HU."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    radius = np.hypot(xx - SIZE / 2, yy - SIZE / 2)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    rng = np.random.default_rng(0)
    for k in range(slices):
        hu = np.where(radius < 200, 40, -1000) + rng.normal(0, 12, (SIZE, SIZE))
        hu[np.hypot(xx - 200, yy - 260) < 30] = 900 + k  # a bone
        hu[np.hypot(xx - 320, yy - 230) < 40] = -850  # a lung-like hole
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = "CT"
        ds.PatientName, ds.PatientID = "Bench^CT", "BENCH"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [-179.2, -179.2, -150.0 + 1.5 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1.5
        ds.Rows = ds.Columns = SIZE
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = np.clip(hu + 1024, -32768, 32767).astype("<i2").tobytes()
        ds.save_as(folder / f"ct_{k:04d}.dcm", enforce_file_format=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup(home: Path, series: Path) -> tuple[str, str]:
    """An admin key and the store with a CT project holding the series (made in-process, before serving)."""
    from labelport.service import auth, datasets, projects
    from labelport.service.hub import Hub

    hub = Hub.open(home=home, actor=auth.DEFAULT_ADMIN)
    try:
        key = auth.create_api_key(hub.db, name="bench", is_admin=True).secret
        dataset = datasets.create_dataset(hub, "bench")
        created = datasets.create_data_rows(hub, dataset.id, [{"row_data": str(series), "global_key": "ct"}])
        assert not created.failures, created.failures
        project = projects.create_project(hub, "bench", "dicom")
        projects.create_batch(hub, project.id, "all", global_keys=["ct"])
        return key, f"/api/v1/projects/{project.id}/viewer/rows/{created.created[0].id}"
    finally:
        hub.db.dispose()


def one_round(home: Path, key: str, row: str, slices: int) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "LABELPORT_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    server = subprocess.Popen(
        [sys.executable, "-m", "labelport.api", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("the server did not start")
                time.sleep(0.05)
            client.get("/api/v1/me").raise_for_status()  # a first authenticated request: connections open

            def timed(path: str) -> float:
                start = time.perf_counter()
                response = client.get(path, params={"window": "ct-soft-tissue"})
                elapsed = (time.perf_counter() - start) * 1000
                response.raise_for_status()
                assert response.headers["content-type"] == "image/png"
                return elapsed

            middle = slices // 2
            cold = timed(f"{row}/slices/axial/{middle}")
            cached = min(timed(f"{row}/slices/axial/{middle}") for _ in range(20))
            cold_other = timed(f"{row}/slices/coronal/{SIZE // 2}")
            from_memory = timed(f"{row}/slices/axial/{middle + 1}")
            return {"cold": cold, "cached": cached, "cold_coronal": cold_other, "from_memory": from_memory}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each in a fresh server; the best counts")
    parser.add_argument("--slices", type=int, default=200)
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        series = Path(folder) / "ct"
        write_ct(series, args.slices)
        home = Path(folder) / "home"
        key, row = setup(home, series)
        for number in range(args.rounds):
            rounds.append(one_round(home, key, row, args.slices))
            print(
                f"round {number + 1}: cold {rounds[-1]['cold']:.1f} ms, cached {rounds[-1]['cached']:.1f} ms, "
                f"cold coronal {rounds[-1]['cold_coronal']:.1f} ms, from memory {rounds[-1]['from_memory']:.1f} ms",
                flush=True,
            )
    best = {name: min(r[name] for r in rounds) for name in rounds[0]}
    print(
        f"512 x 512 axial slice PNG of a {SIZE} x {SIZE} x {args.slices} CT through the HTTP route (best of "
        f"{args.rounds}): cold {best['cold']:.1f} ms (target < {COLD_TARGET_MS} ms), cached {best['cached']:.1f} ms "
        f"(target < {CACHED_TARGET_MS} ms); first coronal slice (whole series read) {best['cold_coronal']:.1f} ms; "
        f"a new axial slice once the series is in memory {best['from_memory']:.1f} ms"
    )
    print(json.dumps({k: round(v, 1) for k, v in best.items()} | {"rounds": args.rounds, "slices": args.slices}))
    cold_ok, cached_ok = best["cold"] < COLD_TARGET_MS, best["cached"] < CACHED_TARGET_MS
    print(f"cold {'met' if cold_ok else 'NOT met'}; cached {'met' if cached_ok else 'NOT met'}")


if __name__ == "__main__":
    main()
