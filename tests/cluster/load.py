"""Mixed load on a cluster's replicas: clients in threads, each sending list, get, import status, export
start and mask fetch requests in turn, alternating replicas; latencies and failures per kind."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from labelport.cluster import LocalCluster
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from tests.cluster.workload import Workspace

KINDS = ("list", "get", "import status", "export start", "mask fetch")


@dataclass
class LoadReport:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: int = 0
    other_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @staticmethod
    def percentile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        every = [x for v in self.latencies.values() for x in v]
        lines = [
            f"{self.count} requests in {self.seconds:.1f} s ({self.count / max(self.seconds, 1e-9):.0f}/s), "
            f"{self.server_errors} server errors, {len(self.other_failures)} other failures; "
            f"p50 {1000 * self.percentile(every, 0.5):.1f} ms, p99 {1000 * self.percentile(every, 0.99):.1f} ms"
        ]
        for kind in KINDS:
            values = self.latencies.get(kind, [])
            lines.append(
                f"  {kind:13} n={len(values):4}  p50 {1000 * self.percentile(values, 0.5):7.1f} ms"
                f"  p99 {1000 * self.percentile(values, 0.99):7.1f} ms"
            )
        return "\n".join(lines)


def prepare(cluster: LocalCluster, ws: Workspace, folder: Path) -> tuple[str, str, list[str]]:
    """A finished ground-truth import with masks in the first project, and the signed mask URLs of its
    export: (project id, import job id, mask URLs)."""
    project = ws.project_ids[0]
    c = Client(api_key=cluster.admin_key, endpoint=cluster.endpoints[0])
    job = LabelImport.create_from_file(c, project, "load", ws.ndjson(folder / "load.ndjson", 1_000, masks=20, seed=99))
    task = c.get_project(project).export_v2(params={})
    task.wait_till_done()
    urls = [
        o["composite_mask"]["url"]
        for row in task.result
        for label in row["projects"][project]["labels"]
        for o in label["annotations"]["objects"]
        if "composite_mask" in o
    ]
    return project, job.uid, urls


def mixed_load(cluster: LocalCluster, ws: Workspace, folder: Path, *, clients: int, requests: int) -> LoadReport:
    project, job_id, masks = prepare(cluster, ws, folder)
    report = LoadReport()
    headers = {"Authorization": f"Bearer {cluster.admin_key}"}

    def one_client(index: int) -> None:
        sessions = [httpx.Client(base_url=e, headers=headers, timeout=60) for e in cluster.endpoints]
        plain = httpx.Client(timeout=60)  # a viewer's: no key, the signed URL stands in for it
        try:
            for n in range(requests):
                kind = KINDS[(index + n) % len(KINDS)]
                session = sessions[(index + n) % len(sessions)]
                started = time.perf_counter()
                try:
                    if kind == "list":
                        response = session.get("/api/v1/projects")
                    elif kind == "get":
                        response = session.get(f"/api/v1/projects/{project}")
                    elif kind == "import status":
                        response = session.get(f"/api/v1/imports/{job_id}")
                    elif kind == "export start":
                        response = session.post(f"/api/v1/projects/{project}/exports", json={"params": {}})
                    else:
                        response = plain.get(masks[n % len(masks)])
                except httpx.HTTPError as exc:
                    report.other_failures.append(f"{kind}: {exc!r}")
                    continue
                report.latencies[kind].append(time.perf_counter() - started)
                if response.status_code >= 500:
                    report.server_errors += 1
                elif response.status_code >= 400:
                    report.other_failures.append(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
        finally:
            for s in [*sessions, plain]:
                s.close()

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    report.seconds = time.monotonic() - started
    return report
