"""Export a project of 1,000,000 vector annotations as export_v2 NDJSON from SQLite, streamed.

The data (10,000 image data rows x 100 annotations: boxes, 8-point polygons, 4-point lines) is bulk-inserted
straight into the store (not through the import path), then a child process runs the export and reports
rows/s and annotations/s; its peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``) must stay under 300 MB.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/labelbox/bench_export.py [--annotations N]``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PER_ROW = 100
PEAK_MB_LIMIT = 300


def generate(home: Path, annotations: int) -> str:
    """Bulk-insert the project; returns its id."""
    from labelport.model.annotation import ObjectAnnotation
    from labelport.model.codec import to_json
    from labelport.model.geometry import Line, Point, Polygon, Rectangle
    from labelport.model.ids import new_id
    from labelport.service import Hub, ontologies, projects
    from labelport.store.schema import annotation_rows, batch_data_rows, batches, data_rows, labels, workflow_tasks

    hub = Hub.open(home=home)
    tools = {
        "tools": [
            {"tool": "rectangle", "name": "box"},
            {"tool": "polygon", "name": "poly"},
            {"tool": "line", "name": "line"},
        ]
    }
    ontology = ontologies.create_ontology(hub, "bench", tools, "image")
    project = projects.create_project(hub, "bench", "image")
    projects.connect_ontology(hub, project.id, ontology.id)
    schema = {t.name: t.schema_id for t in ontology.ontology.tools}
    dataset_id = new_id()
    stamp = datetime.now(UTC)
    rows = max(1, annotations // PER_ROW)
    shapes = [
        ("box", "rectangle", Rectangle(Point(20, 10), Point(60, 40))),
        ("poly", "polygon", Polygon(tuple(Point(10 + j, 20 + (j * 7) % 13) for j in range(8)))),
        ("line", "line", Line(tuple(Point(5 + 3 * j, 9 + j) for j in range(4)))),
    ]
    # One payload per shape; only the uuid differs between annotations, patched into a copy.
    templates = [(name, kind, to_json(ObjectAnnotation(str(uuid.uuid4()), g, name=name))) for name, kind, g in shapes]
    from labelport.store.schema import datasets

    with hub.transaction() as conn:
        conn.execute(
            datasets.insert().values(id=dataset_id, organization_id=hub.organization_id, name="bench", created_at=stamp)
        )
        batch_id = new_id()
        conn.execute(
            batches.insert().values(id=batch_id, project_id=project.id, name="b", priority=5, created_at=stamp)
        )
        row_ids = [new_id() for _ in range(rows)]
        label_ids = [new_id() for _ in range(rows)]
        conn.execute(
            data_rows.insert(),
            [
                {
                    "id": r,
                    "organization_id": hub.organization_id,
                    "dataset_id": dataset_id,
                    "global_key": f"bench-{i}",
                    "row_data": f"https://example.org/{i}.png",
                    "media_type": "image",
                    "media_attributes": {"width": 640, "height": 480, "mime_type": "image/png"},
                    "metadata_fields": [],
                    "attachments": [],
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for i, r in enumerate(row_ids)
            ],
        )
        conn.execute(
            batch_data_rows.insert(),
            [{"batch_id": batch_id, "project_id": project.id, "data_row_id": r} for r in row_ids],
        )
        conn.execute(
            workflow_tasks.insert(),
            [
                {"project_id": project.id, "data_row_id": r, "status": "Done", "task_name": "Done", "updated_at": stamp}
                for r in row_ids
            ],
        )
        conn.execute(
            labels.insert(),
            [
                {
                    "id": label_ids[i],
                    "project_id": project.id,
                    "data_row_id": r,
                    "kind": "ground_truth",
                    "created_at": stamp,
                    "updated_at": stamp,
                    "created_by": "bench@labelport",
                    "updated_by": "bench@labelport",
                    "skipped": False,
                }
                for i, r in enumerate(row_ids)
            ],
        )
        pending: list[dict[str, Any]] = []
        for n in range(annotations):
            i = n // PER_ROW
            name, kind, payload = templates[n % 3]
            uid = str(uuid.uuid4())
            pending.append(
                {
                    "label_id": label_ids[i],
                    "project_id": project.id,
                    "data_row_id": row_ids[i],
                    "kind": "ground_truth",
                    "uuid": uid,
                    "schema_id": schema[name],
                    "feature_name": name,
                    "annotation_type": kind,
                    "keyframe": True,
                    "payload": {"annotation": {**payload, "uuid": uid}},
                    "created_at": stamp,
                }
            )
            if len(pending) >= 50_000:
                conn.execute(annotation_rows.insert(), pending)
                pending = []
        if pending:
            conn.execute(annotation_rows.insert(), pending)
    hub.db.dispose()
    return project.id


def export_child(home: Path, project_id: str, out: Path) -> None:
    from labelport.service import Hub, exports

    hub = Hub.open(home=home)
    start = time.perf_counter()
    params = {"project_details": True, "label_details": True}
    report = exports.export(hub, project_id, "labelbox", out, options={"params": params})
    seconds = time.perf_counter() - start
    written = sum(
        len(label["annotations"]["objects"])
        for line in out.open("rb")
        for label in json.loads(line)["projects"][project_id]["labels"]
    )
    if written != report.annotations or report.losses or report.problems:
        sys.exit(f"the report says {report.annotations} annotations, the file holds {written}: {report}")
    print(f"{report.items} {report.annotations} {seconds:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, metavar=("HOME", "PROJECT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        export_child(Path(args.child[0]), args.child[1], Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        env = {k: v for k, v in os.environ.items() if k != "LABELPORT_DATABASE_URL"}
        os.environ.pop("LABELPORT_DATABASE_URL", None)
        started = time.perf_counter()
        project_id = generate(home, args.annotations)
        print(f"generated {args.annotations:,} annotations in {time.perf_counter() - started:.1f} s")
        out = home / "export.ndjson"
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(home), project_id, str(out)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        rows, annotations, seconds = result.stdout.split()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = out.stat().st_size / 1e6
        print(
            f"export: {int(rows):,} rows, {int(annotations):,} annotations, {size_mb:.0f} MB "
            f"in {float(seconds):.1f} s: "
            f"{int(rows) / float(seconds):,.0f} rows/s, {int(annotations) / float(seconds):,.0f} annotations/s; "
            f"peak RSS {peak_mb:.0f} MB (limit {PEAK_MB_LIMIT} MB)"
        )
        if int(annotations) != args.annotations:
            sys.exit(f"exported {annotations} annotations, expected {args.annotations}")
        if peak_mb >= PEAK_MB_LIMIT:
            sys.exit(f"peak RSS {peak_mb:.0f} MB is over {PEAK_MB_LIMIT} MB")


if __name__ == "__main__":
    main()
