"""``labelport cluster up``: starts the cluster, prints an endpoint that answers and an admin key that works,
and stops every process on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from labelport.cluster import free_ports

pytestmark = pytest.mark.cluster


def test_cluster_up_serves_and_stops_on_ctrl_c(cluster_database: str, tmp_path: Path) -> None:
    port = free_ports(1)[0]
    env = {k: v for k, v in os.environ.items() if k not in ("LABELPORT_REDIS_URL", "LABELPORT_BLOB_URL")}
    command = [sys.executable, "-m", "labelport", "cluster", "up", "--database-url", cluster_database]
    command += ["--replicas", "1", "--workers", "1", "--port", str(port), "--folder", str(tmp_path / "c")]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**env, "COLUMNS": "200"},
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("admin API key:") for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
        text = "".join(lines)
        assert f"endpoint: http://127.0.0.1:{port}" in text
        key = re.search(r"admin API key: (\S+)", text)
        assert key is not None
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {key[1]}"})
        assert response.status_code == 200 and response.json()["is_admin"] is True
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")
