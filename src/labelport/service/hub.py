"""The service context: database, blob store, the acting organisation and user, settings."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from labelport.errors import ValidationError
from labelport.model.ids import new_id
from labelport.store import BlobStore, Database, default_home, open_blob_store
from labelport.store.schema import organizations, users


def now() -> datetime:
    return datetime.now(UTC)


DEFAULT_JOB_LEASE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    """What local files and URLs the service may read for its users, and how long a runner's claim on a job
    lasts.

    - ``file_roots`` (``LABELPORT_FILE_ROOTS``, ``os.pathsep``-separated): the folders local files (data
      rows, mask files, segmentations) may be read from.
    - ``serving``: the process serves users who are not the machine's user (``labelport serve``, workers).
      It then reads local files only under ``file_roots`` (none when unset), never its working folder.
      Embedded (``Client()``, the CLI) a data row may name any file, and an import's files may also come
      from the working folder and the imported file's folder.
    - ``protected``: folders never readable for users, whatever the roots: a server's home (its database,
      blobs, exports and URL-signing secret). Embedded, the user reads their own files, the store's too.
    - ``allow_http`` (``LABELPORT_ALLOW_HTTP=1``): whether http(s) mask URLs may be fetched; only public
      addresses are, plus the networks of ``http_networks`` (``LABELPORT_HTTP_ALLOW_NETWORKS``,
      comma-separated CIDRs such as ``10.20.0.0/16``: an internal image server).
    - ``job_lease_seconds`` (``LABELPORT_JOB_LEASE_SECONDS``, default 60): how long a runner's claim on a job
      lasts without renewal; after that, another runner may take a job whose runner died.
    - ``uploads`` (``LABELPORT_UPLOADS_DIR``; a server's default: ``uploads`` in its home): where media users
      upload (an items list's archive) are extracted and stay, read for the rows made of them like files
      under ``file_roots`` (``media_roots``) but never a place a user's new data row may name. On a cluster,
      a folder every replica and worker sees.
    """

    file_roots: tuple[Path, ...] = ()
    allow_http: bool = False
    job_lease_seconds: float = DEFAULT_JOB_LEASE_SECONDS
    serving: bool = False
    protected: tuple[Path, ...] = ()
    http_networks: tuple[str, ...] = ()
    uploads: Path | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.job_lease_seconds, int | float) and 1 <= self.job_lease_seconds <= 86400):
            raise ValidationError(
                f"the job lease is 1 to 86400 seconds, found {self.job_lease_seconds!r}",
                field="LABELPORT_JOB_LEASE_SECONDS",
                value=self.job_lease_seconds,
            )

    @classmethod
    def from_env(cls, *, serving: bool = False) -> Settings:
        roots = tuple(Path(p).absolute() for p in os.environ.get("LABELPORT_FILE_ROOTS", "").split(os.pathsep) if p)
        lease = os.environ.get("LABELPORT_JOB_LEASE_SECONDS") or str(DEFAULT_JOB_LEASE_SECONDS)
        try:
            seconds = float(lease)
        except ValueError:
            raise ValidationError(
                f"LABELPORT_JOB_LEASE_SECONDS must be a number of seconds, found {lease!r}",
                field="LABELPORT_JOB_LEASE_SECONDS",
                value=lease,
            ) from None
        networks = tuple(n.strip() for n in os.environ.get("LABELPORT_HTTP_ALLOW_NETWORKS", "").split(",") if n.strip())
        uploads = os.environ.get("LABELPORT_UPLOADS_DIR")
        return cls(
            file_roots=roots,
            allow_http=os.environ.get("LABELPORT_ALLOW_HTTP") == "1",
            job_lease_seconds=seconds,
            serving=serving,
            http_networks=networks,
            uploads=Path(uploads).absolute() if uploads else None,
        )

    @classmethod
    def for_server(cls) -> Settings:
        """The environment's settings for a process that serves other users (a server, a job worker)."""
        return cls.from_env(serving=True)

    def serve(self, home: Path | None = None) -> Settings:
        """These settings for a server or worker whose store lives in ``home`` (never readable for users)."""
        protected = self.protected if home is None else (*self.protected, home)
        uploads = self.uploads if self.uploads is not None or home is None else home / "uploads"
        return replace(self, serving=True, protected=protected, uploads=uploads)

    def media_roots(self) -> tuple[Path, ...]:
        """The folders a stored data row's media are read under (the viewer): ``file_roots`` and ``uploads``;
        none (read where the row points) when no file roots are set."""
        if not self.file_roots:
            return ()
        return (*self.file_roots, *((self.uploads,) if self.uploads is not None else ()))


@dataclass
class Hub:
    """Everything a use case needs; one per client or request."""

    db: Database
    blobs: BlobStore
    organization_id: str
    actor: str
    settings: Settings = field(default_factory=Settings.from_env)

    @classmethod
    def open(
        cls,
        *,
        home: Path | None = None,
        database_url: str | None = None,
        organization: str = "default",
        actor: str = "local@labelport",
    ) -> Hub:
        """Open (creating and migrating when needed) the store and the organisation named ``organization``."""
        home = home or default_home()
        db = Database(database_url, home=home)
        org_id = ensure_organization(db, organization, actor)
        return cls(db=db, blobs=open_blob_store(home), organization_id=org_id, actor=actor)

    def transaction(self) -> AbstractContextManager[sa.Connection]:
        return self.db.write()

    def read(self) -> AbstractContextManager[sa.Connection]:
        return self.db.read()


def ensure_organization(db: Database, name: str, admin_email: str) -> str:
    """The id of organisation ``name``, created with an admin user the first time."""
    with db.write() as conn:
        org_id = conn.execute(sa.select(organizations.c.id).where(organizations.c.name == name)).scalar()
        if org_id is None:
            org_id = new_id()
            conn.execute(organizations.insert().values(id=org_id, name=name, created_at=now()))
            conn.execute(
                users.insert().values(
                    id=new_id(), organization_id=org_id, email=admin_email, is_admin=True, created_at=now()
                )
            )
        return str(org_id)
