"""The service context: database, blob store, the acting organisation and user, settings."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from labelport.model.ids import new_id
from labelport.store import BlobStore, Database, default_home
from labelport.store.schema import organizations, users


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Settings:
    """Where local files may be read from (``LABELPORT_FILE_ROOTS``, ``os.pathsep``-separated; default:
    anywhere) and whether http(s) mask URLs may be fetched (``LABELPORT_ALLOW_HTTP=1``)."""

    file_roots: tuple[Path, ...] = ()
    allow_http: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        roots = tuple(Path(p).absolute() for p in os.environ.get("LABELPORT_FILE_ROOTS", "").split(os.pathsep) if p)
        return cls(file_roots=roots, allow_http=os.environ.get("LABELPORT_ALLOW_HTTP") == "1")


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
        return cls(db=db, blobs=BlobStore(home / "blobs"), organization_id=org_id, actor=actor)

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
