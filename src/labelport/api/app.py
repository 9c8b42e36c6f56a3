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
from labelport.api import errors, web
from labelport.api.deps import CallerDep, ServerContext
from labelport.api.routes import catalog, exports, imports, projects, viewer, workflow
from labelport.api.schemas import HealthOut, MeOut
from labelport.jobs import JobContext, JobRunner, ThreadRunner, recover_jobs
from labelport.service.hub import Settings
from labelport.store import Database, default_home, open_blob_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the server keeps its store and runs its jobs; ``None`` fields follow the environment:
    ``LABELPORT_DATABASE_URL``, ``LABELPORT_BLOB_URL`` (+ ``LABELPORT_S3_ENDPOINT``), ``LABELPORT_REDIS_URL``.

    With a Redis URL, jobs go to the RQ queue for ``labelport worker`` processes, and the replica keeps no
    state of its own; without one, they run on the server's threads (``job_workers``), which also recover
    unfinished jobs at start-up (``recover``) and sweep for jobs nobody runs.
    """

    home: Path | None = None
    database_url: str | None = None
    settings: Settings = field(default_factory=Settings.from_env)
    job_workers: int | None = None
    recover: bool = True
    blob_url: str | None = None
    redis_url: str | None = None


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
    redis_url = config.redis_url or os.environ.get("LABELPORT_REDIS_URL")
    runner: JobRunner
    if redis_url:
        from labelport.jobs.queue import RQRunner

        runner = RQRunner(redis_url)
    else:
        runner = ThreadRunner(JobContext(db=db, blobs=blobs, settings=config.settings), config.job_workers)
    return ServerContext(db=db, blobs=blobs, settings=config.settings, runner=runner, secret=server_secret(home))


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
    app.include_router(catalog.router)
    app.include_router(projects.router)
    app.include_router(imports.router)
    app.include_router(exports.router)
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
