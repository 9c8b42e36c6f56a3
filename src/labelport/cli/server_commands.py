"""``labelport serve``, ``labelport worker``, ``labelport cluster up`` and ``labelport keys create|list|revoke``."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from labelport._optional import require
from labelport.cli.common import err, handles_errors, out, subcommands
from labelport.cli.output import Column, FormatOption, OutputFormat, emit
from labelport.errors import LabelportError, ValidationError
from labelport.store import Database, default_home, open_blob_store

# What only the server needs (the ``server`` extra); API keys are made without it.
SERVER_PACKAGES = ("fastapi", "uvicorn")
# What workers and the Redis runner need (the ``scale`` extra).
SCALE_PACKAGES = ("rq", "redis")

keys_app = subcommands("API keys: create (shown once), list, revoke.")
cluster_app = subcommands("A local cluster: PostgreSQL, Redis, SeaweedFS, API replicas, workers.")

Organization = Annotated[str, typer.Option(metavar="NAME", help="Organisation name.")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Database URL (default: $LABELPORT_DATABASE_URL or SQLite in the home)."),
]


def _db(database_url: str | None) -> Database:
    return Database(database_url, home=default_home())


@handles_errors
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Create the demo workspace and print a fresh demo admin key (the previous one is revoked).",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API (uvicorn); print the URL and, once, an admin API key."""
    require(SERVER_PACKAGES, "labelport serve", "server")
    from labelport.api import ServerConfig
    from labelport.api.server import serve as run

    run(ServerConfig(home=default_home(), database_url=database_url), host=host, port=port, demo=demo)


@handles_errors
def worker(
    redis_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Redis URL (default: $LABELPORT_REDIS_URL).", show_default=False),
    ] = None,
    queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="RQ queue name (default: $LABELPORT_QUEUE or labelport).")
    ] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Run the queued jobs, then exit.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Run jobs (imports, exports) from the RQ queue on Redis until stopped (SIGTERM finishes the current job)."""
    import logging

    require(SCALE_PACKAGES, "labelport worker", "scale")
    url = redis_url or os.environ.get("LABELPORT_REDIS_URL")
    if not url:
        raise ValidationError("labelport worker needs Redis: give --redis-url or set LABELPORT_REDIS_URL")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValidationError(
            f"the Redis URL must start with redis://, rediss:// or unix://, found {url!r}", field="redis_url", value=url
        )
    from labelport.jobs.queue import run_worker
    from labelport.service.jobs import JobContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from labelport.service.hub import Settings

    home = default_home()
    # A worker runs jobs for the server's users: their files only under the roots, never its home.
    settings = Settings.for_server().serve(home)
    ctx = JobContext(db=Database(database_url, home=home), blobs=open_blob_store(home), settings=settings)
    run_worker(ctx, url, queue=queue, burst=burst, announce=lambda line: err.print(line, highlight=False))


@cluster_app.command("up")
@handles_errors
def cluster_up(
    database_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="PostgreSQL URL (default: $LABELPORT_DATABASE_URL).", show_default=False),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Redis URL (default: $LABELPORT_REDIS_URL, else a private redis-server).",
            show_default=False,
        ),
    ] = None,
    replicas: Annotated[int, typer.Option(metavar="N", min=1, max=16, help="API replicas.")] = 2,
    workers: Annotated[int, typer.Option(metavar="N", min=0, max=32, help="Worker processes.")] = 2,
    port: Annotated[int, typer.Option(metavar="PORT", help="Port of the first replica; the next ones follow.")] = 8000,
    folder: Annotated[
        Path, typer.Option(metavar="FOLDER", help="Logs, SeaweedFS data and each process's home.")
    ] = Path(".labelport-cluster"),
) -> None:
    """Start PostgreSQL-backed API replicas, RQ workers, Redis and SeaweedFS (S3) on this machine; print the
    endpoints and an admin key; stop them all on Ctrl-C."""
    require((*SERVER_PACKAGES, *SCALE_PACKAGES, "boto3"), "labelport cluster up", "scale")
    url = database_url or os.environ.get("LABELPORT_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        raise ValidationError(
            "labelport cluster up needs PostgreSQL: give --database-url postgresql+psycopg://USER@HOST/DB "
            "or set LABELPORT_DATABASE_URL",
            field="database_url",
            value=url,
        )
    from labelport.cluster import LocalCluster

    ports = [port + i for i in range(replicas)]
    cluster = LocalCluster(
        folder,
        url,
        redis_url=redis_url or os.environ.get("LABELPORT_REDIS_URL"),
        replicas=replicas,
        workers=workers,
        api_ports=ports,
    )
    cluster.start()
    try:
        out.print(f"labelport cluster: {replicas} API replicas, {workers} workers", highlight=False)
        for endpoint in cluster.endpoints:
            out.print(f"  endpoint: {endpoint}  (OpenAPI: {endpoint}/docs)", highlight=False)
        out.print(f"  object store: {cluster.s3_endpoint} (bucket {cluster.bucket}), Redis: {cluster.redis_url}")
        out.print(f"  logs: {cluster.folder / 'logs'}", highlight=False)
        out.print(f"admin API key: {cluster.admin_key}", highlight=False)
        out.print(f'  client = labelport.Client(api_key="{cluster.admin_key}", endpoint="{cluster.endpoints[0]}")')
        out.print("Ctrl-C stops the cluster.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while True:
            time.sleep(1)
            down = [s.name for s in (*cluster.replicas, *cluster.workers) if not s.running]
            if down:
                raise LabelportError(f"{', '.join(down)} stopped; see {cluster.folder / 'logs'}")
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


@keys_app.command("create")
@handles_errors
def keys_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="What the key is for.")] = "api key",
    email: Annotated[
        str, typer.Option(metavar="EMAIL", help="The user the key acts as (created when new).")
    ] = "local@labelport",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an organisation admin.")] = False,
    project: Annotated[
        str | None, typer.Option(metavar="PROJECT_ID", help="Give the user a role in this project.")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(metavar="admin|labeler|reviewer|viewer", help="The user's role in --project (default: viewer)."),
    ] = None,
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key and print it; it is shown this once (only its hash is stored)."""
    from labelport.service import auth
    from labelport.service.hub import Hub

    if role is not None and project is None:
        raise LabelportError(f"--role {role} is a role in a project; name the project with --project PROJECT_ID")
    db = _db(database_url)
    try:
        if project is not None:
            org_id, _ = auth.ensure_user(db, organization, email)
            hub = Hub(db=db, blobs=open_blob_store(default_home()), organization_id=org_id, actor="labelport keys")
            auth.set_member(hub, project, email, role or "viewer")
        is_admin = admin or email == auth.DEFAULT_ADMIN
        key = auth.create_api_key(db, organization=organization, email=email, name=name, is_admin=is_admin)
    finally:
        db.dispose()
    err.print(f"API key {key.id} ({key.prefix}...) for {key.email}; store it now, it is not shown again:")
    out.print(key.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
@handles_errors
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List API keys (prefix, user, creation, revocation); secrets are never shown."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        found = auth.list_api_keys(db, organization, include_revoked=all_keys)
    finally:
        db.dispose()
    rows = [
        {
            "id": k.id,
            "prefix": k.prefix,
            "name": k.name,
            "email": k.email,
            "is_admin": k.is_admin,
            "created_at": k.created_at.isoformat(timespec="seconds"),
            "revoked_at": k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None,
        }
        for k in found
    ]
    columns = [
        Column("id", "id", whole=True),
        Column("prefix", "prefix", whole=True),
        Column("name", "name"),
        Column("email", "user", whole=True),
        Column("is_admin", "admin"),
        Column("created_at", "created"),
        Column("revoked_at", "revoked"),
    ]
    emit(out, columns, rows, fmt)


@keys_app.command("revoke")
@handles_errors
def keys_revoke(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The key's id or its shown prefix.")],
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key: requests with it fail with 401 from now on."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        revoked = auth.revoke_api_key(db, key, organization)
    finally:
        db.dispose()
    out.print(f"revoked API key {revoked.id} ({revoked.prefix}...) of {revoked.email}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(keys_app, name="keys")
    app.add_typer(cluster_app, name="cluster")
