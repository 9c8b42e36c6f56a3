"""Import 100,000 vector annotations (bbox, polygon, line) from NDJSON into SQLite.

Reports annotations per second and peak memory of our whole import (parse, validate, persist), against the
labelbox SDK's ``NDJsonConverter.deserialize`` (5.2.1, in ``.venv-referee``) parsing the same file, in the
same run: each runs ``--rounds`` times, interleaved, in a fresh process, and the best time of each counts
(shared machines drift by tens of percent within a minute). Targets: ours at least 5x faster than the SDK's
parse alone; peak memory under 300 MB.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/labelbox/bench_import.py [--count N] [--rounds R]``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[2]
REFEREE_PYTHON = REPO / ".venv-referee" / "bin" / "python"
ROWS = 100


def write_file(path: Path, count: int) -> None:
    with path.open("wb") as out:
        for i in range(count):
            row = {"globalKey": f"bench-{i % ROWS}"}
            kind = i % 3
            base = {"uuid": str(uuid.uuid4()), "dataRow": row}
            if kind == 0:
                item = {**base, "name": "box", "bbox": {"top": 10.0, "left": 20.0, "height": 30.0, "width": 40.0}}
            elif kind == 1:
                pts = [{"x": 10.0 + j, "y": 20.0 + (j * 7) % 13} for j in range(8)]
                item = {**base, "name": "poly", "polygon": [*pts, pts[0]]}
            else:
                item = {**base, "name": "line", "line": [{"x": 1.0 + j, "y": 2.0 + j} for j in range(5)]}
            out.write(orjson.dumps(item) + b"\n")


OURS = r"""
import resource, sys, time
from pathlib import Path
import labelport as lb
from labelport.service.synthetic import write_image
from labelport.sdk.imports import MALPredictionImport

home = Path(sys.argv[2])
client = lb.Client(home=home)
image = write_image(home / "img.png", 640, 480)
dataset = client.create_dataset("bench")
task = dataset.create_data_rows([{"row_data": str(image), "global_key": f"bench-{i}"} for i in range(int(sys.argv[3]))])
assert task.errors is None, task.errors
builder = lb.OntologyBuilder(tools=[lb.Tool(tool=lb.Tool.Type.BBOX, name="box"),
                                    lb.Tool(tool=lb.Tool.Type.POLYGON, name="poly"),
                                    lb.Tool(tool=lb.Tool.Type.LINE, name="line")])
project = client.create_project("bench", media_type="image")
project.connect_ontology(client.create_ontology("bench", builder.asdict(), media_type="image"))
project.create_batch("all", global_keys=[f"bench-{i}" for i in range(int(sys.argv[3]))])
start = time.perf_counter()
job = MALPredictionImport.create_from_file(client, project.uid, "bench", sys.argv[1])
elapsed = time.perf_counter() - start
assert job.state == "FINISHED" and job.info.failed == 0, (job.state, job.info)
print(elapsed, job.info.succeeded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

REFEREE = r"""
import resource, sys, time, json
from labelbox.data.serialization import NDJsonConverter
with open(sys.argv[1]) as f:
    data = [json.loads(line) for line in f]
start = time.perf_counter()
labels = list(NDJsonConverter.deserialize(data))
elapsed = time.perf_counter() - start
print(elapsed, sum(len(l.annotations) for l in labels), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(python: Path | str, script: str, *args: str) -> tuple[float, int, float]:
    """Seconds, annotations and peak RSS (MB) that one run of ``script`` reports."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([str(python), "-c", script, *args], check=True, capture_output=True, text=True, env=env)
    elapsed, count, rss_kb = done.stdout.split()[-3:]
    return float(elapsed), int(count), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each; the best of each counts")
    args = parser.parse_args()
    referee = REFEREE_PYTHON.exists()
    if not referee:
        print(f"labelbox SDK referee skipped: {REFEREE_PYTHON} missing (make referee-venv creates it)")
    ours: list[tuple[float, int, float]] = []
    sdk: list[tuple[float, int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.ndjson"
        write_file(path, args.count)
        # Interleaved, so a machine that slows down or speeds up during the run weighs on both sides alike.
        for round_ in range(args.rounds):
            home = Path(folder) / f"home{round_}"
            ours.append(run(sys.executable, OURS, str(path), str(home), str(ROWS)))
            print(f"round {round_ + 1}: labelport {ours[-1][0]:.2f} s", end="", flush=True)
            if referee:
                sdk.append(run(REFEREE_PYTHON, REFEREE, str(path)))
                print(f", labelbox SDK {sdk[-1][0]:.2f} s", end="")
            print()
    best, count, _ = min(ours)
    peak = max(r[2] for r in ours)
    print(
        f"labelport import (parse+validate+persist, SQLite): {count} annotations in {best:.2f} s (best of "
        f"{args.rounds}) = {count / best:,.0f}/s, peak RSS {peak:.0f} MB (target < 300 MB)"
    )
    if not referee:
        return
    ref_best, ref_count, _ = min(sdk)
    ref_peak = max(r[2] for r in sdk)
    print(
        f"labelbox 5.2.1 NDJsonConverter.deserialize (parse only): {ref_count} annotations in {ref_best:.2f} s "
        f"(best of {args.rounds}) = {ref_count / ref_best:,.0f}/s, peak RSS {ref_peak:.0f} MB"
    )
    ratio = ref_best / best
    pairs = sorted(s[0] / o[0] for o, s in zip(ours, sdk, strict=True))
    print(f"speed-up per round (SDK time / ours in the same round, sorted): {', '.join(f'{r:.1f}x' for r in pairs)}")
    print(
        json.dumps(
            {
                "ours_per_s": round(count / best),
                "sdk_per_s": round(ref_count / ref_best),
                "speedup": round(ratio, 2),
                "target_speedup": 5,
                "peak_mb": round(peak),
                "target_peak_mb": 300,
                "rounds": args.rounds,
                "median_round_speedup": round(pairs[len(pairs) // 2], 2),
            }
        )
    )
    print(
        f"speed-up {ratio:.1f}x (target >= 5x): {'met' if ratio >= 5 else 'NOT met'}; "
        f"memory {'met' if peak < 300 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
