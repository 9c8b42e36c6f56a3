"""labelport as a cluster on this machine: PostgreSQL + Redis + SeaweedFS + 2 API replicas + 2 RQ workers.

Imports started concurrently through both replicas with the HTTP SDK run once each and export with mask
URLs served from the object store; a worker killed mid-import, Redis stopped for 10 s, SeaweedFS stopped
mid-import and an API replica restarted under polling clients are each survived as the issue asks.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelport.cluster import LocalCluster
from labelport.sdk import Client
from labelport.sdk.http import HttpBackend
from labelport.sdk.imports import LabelImport, MALPredictionImport
from tests.cluster.conftest import LEASE_SECONDS
from tests.cluster.workload import ROWS, Workspace, build

pytestmark = pytest.mark.cluster

CLAIM = re.compile(r"job (\w+) claimed by (\S+) \(attempt (\d+)\)")


def client(cluster: LocalCluster, replica: int) -> Client:
    return Client(api_key=cluster.admin_key, endpoint=cluster.endpoints[replica])


def backend(c: Client) -> HttpBackend:
    assert isinstance(c.backend, HttpBackend)
    return c.backend


def claims(cluster: LocalCluster) -> dict[str, list[str]]:
    """Each job's claims, as the workers logged them: job id -> the workers that claimed it."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for worker in cluster.workers:
        for job_id, _owner, _attempt in CLAIM.findall(worker.output()):
            found[job_id].append(worker.name)
    return found


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(every)


def state(ws: Workspace, job_id: str) -> Any:
    return ws.job(job_id)


def test_twenty_imports_through_both_replicas_run_once_and_export_masks_from_the_store(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ws = build(cluster.database_url, cluster.folder / "twenty", 10)
    files = [ws.ndjson(tmp_path / f"import-{i}.ndjson", 10_000, masks=10, seed=i) for i in range(20)]
    running_seen: list[dict[str, Any]] = []
    done = threading.Event()

    def watch() -> None:
        # Progress shows through the API while the imports run.
        with httpx.Client(base_url=cluster.endpoints[1], headers={"Authorization": f"Bearer {cluster.admin_key}"}) as h:
            while not done.is_set():
                for project in ws.project_ids:
                    for job in h.get(f"/api/v1/projects/{project}/imports").json()["items"]:
                        if job["state"] == "RUNNING" and job["progress_done"] > 0:
                            running_seen.append(job)
                time.sleep(0.2)

    def run(i: int) -> Any:
        kind = LabelImport if i % 2 else MALPredictionImport
        job = kind.create_from_file(client(cluster, i % 2), ws.project_ids[i // 2], f"import {i}", files[i])
        return job.info

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(run, range(20)))
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    print(f"20 imports x 10,000 annotations through 2 replicas and 2 workers: {elapsed:.1f} s")

    assert [(r.state.value, r.succeeded, r.failed, r.error) for r in results] == [("FINISHED", 10_000, 0, None)] * 20
    assert running_seen, "no import was seen RUNNING with progress through the API"
    # Each job was claimed once: one attempt in the table, one claim in the workers' logs; both workers worked.
    logged = claims(cluster)
    assert [state(ws, r.id).attempts for r in results] == [1] * 20
    assert [len(logged[r.id]) for r in results] == [1] * 20
    assert {w for r in results for w in logged[r.id]} == {"worker-0", "worker-1"}
    for project in ws.project_ids:
        assert ws.annotations(project) == 20_000 and ws.labels(project) == 2 * ROWS

    # Exports stream from either replica; their mask URLs open without a key, from the object store.
    for replica, project in ((0, ws.project_ids[0]), (1, ws.project_ids[1])):
        task = client(cluster, replica).get_project(project).export_v2(params={"label_details": True})
        task.wait_till_done()
        rows = task.result
        assert task.status == "COMPLETE" and len(rows) == ROWS
        urls = [
            o["composite_mask"]["url"]
            for row in rows
            for label in row["projects"][project]["labels"]
            for o in label["annotations"]["objects"]
            if "composite_mask" in o
        ]
        assert len(urls) == 10
        for url in urls:
            assert url.startswith(cluster.endpoints[replica]) and "signature=" in url
            response = httpx.get(url)
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    for home in ("api-0", "api-1", "worker-0", "worker-1"):
        assert not (cluster.folder / home / "blobs").exists()  # nothing of the store is on a process's disk


def _owner_worker(cluster: LocalCluster, owner: str) -> int:
    pid = int(owner.split(":")[-2])
    [index] = [i for i, w in enumerate(cluster.workers) if w.running and w.pid == pid]
    return index


def test_a_worker_killed_mid_import_leaves_the_job_to_the_other_once(cluster: LocalCluster, tmp_path: Path) -> None:
    ws = build(cluster.database_url, cluster.folder / "kill", 1)
    [project] = ws.project_ids
    count = 40_000
    started = backend(client(cluster, 0)).start_import(
        project, "killed", ws.ndjson(tmp_path / "big.ndjson", count), LabelImport.kind
    )
    wait_for(lambda: (j := state(ws, started.id)).state == "RUNNING" and j.progress_done > 0, "the import running")
    victim = _owner_worker(cluster, state(ws, started.id).claimed_by)
    cluster.kill_worker(victim)
    try:
        # Whatever moment a reader looks, it sees all of the import or none of it.
        def finished() -> bool:
            assert ws.annotations(project) in (0, count)
            return str(state(ws, started.id).state) in ("FINISHED", "FAILED")

        wait_for(finished, "the job finished by the other worker", every=0.2)
        job = state(ws, started.id)
        assert (job.state, job.succeeded, job.attempts) == ("FINISHED", count, 2)
        assert (ws.annotations(project), ws.labels(project), ws.status_pages(started.id)) == (
            count,
            ROWS,
            count // 1000,
        )
        assert claims(cluster)[started.id] == [f"worker-{victim}", f"worker-{1 - victim}"] or sorted(
            claims(cluster)[started.id]
        ) == ["worker-0", "worker-1"]
    finally:
        cluster.start_worker(victim)


def test_jobs_queued_while_redis_is_stopped_wait_and_then_run(cluster: LocalCluster, tmp_path: Path) -> None:
    ws = build(cluster.database_url, cluster.folder / "redis", 3)
    cluster.stop_redis()
    try:
        queued = [
            backend(client(cluster, i % 2)).start_import(
                project, "while redis is down", ws.ndjson(tmp_path / f"r{i}.ndjson", 2_000, seed=i), LabelImport.kind
            )
            for i, project in enumerate(ws.project_ids)
        ]
        assert [q.state.value for q in queued] == ["QUEUED"] * 3  # accepted: the job is in PostgreSQL
        time.sleep(10)
        assert [state(ws, q.id).state for q in queued] == ["QUEUED"] * 3
    finally:
        cluster.start_redis()  # empty: the queue's messages are gone, the workers' sweep restores them
    wait_for(lambda: all(state(ws, q.id).state == "FINISHED" for q in queued), "the queued jobs run", every=0.5)
    assert [(state(ws, q.id).succeeded, state(ws, q.id).attempts) for q in queued] == [(2_000, 1)] * 3


def test_a_replica_restart_is_only_a_retry_for_polling_clients(cluster: LocalCluster, tmp_path: Path) -> None:
    ws = build(cluster.database_url, cluster.folder / "restart", 1)
    job = LabelImport.create_from_file(
        client(cluster, 1), ws.project_ids[0], "polled", ws.ndjson(tmp_path / "p.ndjson", 500)
    )
    errors: list[BaseException] = []
    polls: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        c = client(cluster, 0)
        while not stop.is_set():
            try:
                assert backend(c).get_import_job(job.uid).state.value == "FINISHED"
                polls.append(time.monotonic())
            except BaseException as exc:
                errors.append(exc)
            time.sleep(0.05)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    restarted = time.monotonic()
    cluster.restart_replica(0)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert any(p > restarted for p in polls) and any(p < restarted for p in polls)


def test_mixed_requests_against_both_replicas_get_no_server_error(cluster: LocalCluster, tmp_path: Path) -> None:
    from tests.cluster.load import mixed_load

    ws = build(cluster.database_url, cluster.folder / "load", 2)
    report = mixed_load(cluster, ws, tmp_path, clients=8, requests=60)
    print(report.summary())
    assert report.server_errors == 0 and report.other_failures == []
    assert report.count == 8 * 60


def test_seaweedfs_stopped_during_an_import_fails_it_with_the_reason(cluster: LocalCluster, tmp_path: Path) -> None:
    ws = build(cluster.database_url, cluster.folder / "s3down", 1)
    [project] = ws.project_ids
    path = ws.ndjson(tmp_path / "masks.ndjson", 4_000, masks=4_000, seed=7)
    started = backend(client(cluster, 0)).start_import(project, "masks", path, LabelImport.kind)
    try:
        wait_for(lambda: (j := state(ws, started.id)).state == "RUNNING" and j.progress_done > 0, "the import running")
        cluster.stop_s3(kill=True)  # gone at once (SIGTERM would let it serve for a while as it shuts down)
        wait_for(lambda: state(ws, started.id).state in ("FINISHED", "FAILED"), "the job ended", every=0.2)
        job = state(ws, started.id)
        assert job.state == "FAILED"
        assert re.fullmatch(
            r"the object store s3://labelport/labelport/ at http://127\.0\.0\.1:\d+ cannot be reached "
            r"\(while accessing blob [0-9a-f]{64}\); retry once it is back",
            job.error,
        ), job.error
        assert (ws.annotations(project), ws.labels(project), ws.status_pages(started.id)) == (0, 0, 0)
        # The API reports it too, and the store being down is a 503 for reads that need it, not a 500.
        assert backend(client(cluster, 1)).get_import_job(started.id).error == job.error
    finally:
        cluster.start_s3()
    assert LEASE_SECONDS > 0


def test_an_items_upload_through_one_replica_shows_in_the_viewer_of_the_other(cluster: LocalCluster) -> None:
    """An items list's archive goes in through replica 0, a worker (its own home) extracts it into the shared
    uploads folder (LABELPORT_UPLOADS_DIR), and replica 1's viewer reads the series it made."""
    from tests.formats.redbrick.helpers import ITEMS_FIXTURE

    first = client(cluster, 0)
    project = first.create_project("uploaded ct", media_type="dicom")
    tools = [{"tool": "raster-segmentation", "name": t} for t in ("liver", "spleen", "kidney", "lesion")]
    project.connect_ontology(first.create_ontology("uploaded ct", {"tools": tools}, media_type="dicom"))
    result = project.import_redbrick_items(ITEMS_FIXTURE, "ground_truth", create_features=True)
    assert result.failed == () and result.created == 4 and result.job is not None
    assert (cluster.folder / "uploads" / result.job.id).is_dir()
    key = result.records[0].data_rows[0]
    row_id = first.get_data_row_ids_for_global_keys([key])["results"][0]
    headers = {"Authorization": f"Bearer {cluster.admin_key}"}
    with httpx.Client(base_url=f"{cluster.endpoints[1]}/api/v1", headers=headers) as other:
        detail = other.get(f"/projects/{project.uid}/viewer/rows/{row_id}")
        assert detail.status_code == 200, detail.text
        plane = detail.json()["planes"][0]["plane"]
        shown = other.get(f"/projects/{project.uid}/viewer/rows/{row_id}/slices/{plane}/0")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/png", shown.text
