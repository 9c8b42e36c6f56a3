"""The FastAPI application: routers, error handlers, and the shared context opened at start-up."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

import labelport
from labelport.api import errors, limits, web
from labelport.api.deps import CallerDep, ServerContext
from labelport.api.routes import catalog, exports, imports, label_rows, projects, viewer, workflow
from labelport.api.schemas import HealthOut, MeOut
from labelport.jobs import JobContext, JobRunner, ThreadRunner, recover_jobs
from labelport.service.hub import Settings
from labelport.store import Database, default_home, open_blob_store

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    return int(text) if text.isdigit() else default


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the server keeps its store and runs its jobs; ``None`` fields follow the environment:
    ``LABELPORT_DATABASE_URL``, ``LABELPORT_BLOB_URL`` (+ ``LABELPORT_S3_ENDPOINT``), ``LABELPORT_REDIS_URL``.

    With a Redis URL, jobs go to the RQ queue for ``labelport worker`` processes, and the replica keeps no
    state of its own; without one, they run on the server's threads (``job_workers``), which also recover
    unfinished jobs at start-up (``recover``) and sweep for jobs nobody runs.

    ``max_body_bytes`` caps a JSON request body (``LABELPORT_MAX_BODY_BYTES``, default 16 MiB) and
    ``max_upload_bytes`` an import upload (``LABELPORT_MAX_UPLOAD_BYTES``, default 2 GiB). ``public_url``
    (``LABELPORT_PUBLIC_URL``, e.g. ``https://labels.example.org``) is where clients reach the server: the
    absolute URLs it hands out (signed mask and download links) start with it, never with a request's
    ``Host`` header; unset, they use the address the server listens on.
    """

    home: Path | None = None
    database_url: str | None = None
    settings: Settings = field(default_factory=Settings.for_server)
    job_workers: int | None = None
    recover: bool = True
    blob_url: str | None = None
    redis_url: str | None = None
    max_body_bytes: int = field(default_factory=lambda: _env_int("LABELPORT_MAX_BODY_BYTES", limits.MAX_BODY_BYTES))
    max_upload_bytes: int = field(
        default_factory=lambda: _env_int("LABELPORT_MAX_UPLOAD_BYTES", limits.MAX_UPLOAD_BYTES)
    )
    public_url: str | None = field(default_factory=lambda: os.environ.get("LABELPORT_PUBLIC_URL") or None)


def server_secret(home: Path) -> bytes:
    """The key that signs URLs: ``LABELPORT_SECRET``, else ``$LABELPORT_HOME/secret`` (made once, mode 600).

    Server replicas must share it (set ``LABELPORT_SECRET``) so a URL signed by one opens on another.
    """
    configured = os.environ.get("LABELPORT_SECRET")
    if configured:
        return configured.encode()
    path = home / "secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def open_context(config: ServerConfig) -> ServerContext:
    home = config.home or default_home()
    home.mkdir(parents=True, exist_ok=True)
    db = Database(config.database_url, home=home)
    blobs = open_blob_store(home, config.blob_url)
    # Whatever the configuration says, a server reads local files for its users only under the roots, and
    # never its own home (the database, blobs, exports, the URL-signing secret).
    settings = config.settings.serve(home)
    redis_url = config.redis_url or os.environ.get("LABELPORT_REDIS_URL")
    runner: JobRunner
    if redis_url:
        from labelport.jobs.queue import RQRunner

        runner = RQRunner(redis_url)
    else:
        runner = ThreadRunner(JobContext(db=db, blobs=blobs, settings=settings), config.job_workers)
    return ServerContext(
        db=db,
        blobs=blobs,
        settings=settings,
        runner=runner,
        secret=server_secret(home),
        public_url=config.public_url.rstrip("/") if config.public_url else None,
        max_upload_bytes=config.max_upload_bytes,
    )


def create_app(config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = open_context(config)
        app.state.context = ctx
        # On Redis, the workers recover and sweep; a replica only enqueues.
        if isinstance(ctx.runner, ThreadRunner) and config.recover:
            resumed, failed = recover_jobs(JobContext(ctx.db, ctx.blobs, ctx.settings), ctx.runner)
            if resumed or failed:
                log.warning("unfinished jobs after restart: %d resumed, %d failed", len(resumed), len(failed))
            ctx.runner.sweep()
        try:
            yield
        finally:
            # Unfinished jobs stay QUEUED/RUNNING in the database; the next start resumes them.
            ctx.runner.shutdown(wait=False)
            ctx.db.dispose()

    app = FastAPI(
        title="labelport",
        version=labelport.__version__,
        description=(
            "Open, self-hosted annotation hub for medical imaging. Authenticate with "
            "`Authorization: Bearer <API key>` (`labelport keys create`). Lists are paginated with "
            '`limit` and `cursor`; errors share one body: `{"error": {type, message, field, value}}`.'
        ),
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(limits.BodyGuard, max_body_bytes=config.max_body_bytes, max_upload_bytes=config.max_upload_bytes)
    app.include_router(catalog.router)
    app.include_router(projects.router)
    app.include_router(imports.router)
    app.include_router(exports.router)
    app.include_router(label_rows.router)
    app.include_router(workflow.router)
    app.include_router(viewer.router)
    web.install(app)

    @app.get("/health", tags=["server"])
    def health() -> HealthOut:
        """Readiness: answers once the store is open (no key needed)."""
        return HealthOut(status="ok", version=labelport.__version__)

    @app.get("/api/v1/me", tags=["server"], responses=errors.RESPONSES)
    def me(caller: CallerDep) -> MeOut:
        return MeOut(
            email=caller.principal.email,
            organization_id=caller.principal.organization_id,
            is_admin=caller.principal.is_admin,
        )

    return app
