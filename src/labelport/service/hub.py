"""The service context: database, blob store, the acting organisation and user, settings."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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
    """Where local files may be read from (``LABELPORT_FILE_ROOTS``, ``os.pathsep``-separated; default:
    anywhere), whether http(s) mask URLs may be fetched (``LABELPORT_ALLOW_HTTP=1``), and how long a runner's
    claim on a job lasts without renewal (``LABELPORT_JOB_LEASE_SECONDS``, default 60): after that, another
    runner may take a job whose runner died."""

    file_roots: tuple[Path, ...] = ()
    allow_http: bool = False
    job_lease_seconds: float = DEFAULT_JOB_LEASE_SECONDS

    def __post_init__(self) -> None:
        if not (isinstance(self.job_lease_seconds, int | float) and 1 <= self.job_lease_seconds <= 86400):
            raise ValidationError(
                f"the job lease is 1 to 86400 seconds, found {self.job_lease_seconds!r}",
                field="LABELPORT_JOB_LEASE_SECONDS",
                value=self.job_lease_seconds,
            )

    @classmethod
    def from_env(cls) -> Settings:
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
        allow_http = os.environ.get("LABELPORT_ALLOW_HTTP") == "1"
        return cls(file_roots=roots, allow_http=allow_http, job_lease_seconds=seconds)


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
