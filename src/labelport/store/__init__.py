"""Persistence: SQLAlchemy Core schema, Alembic migrations, the content-addressed blob store."""

from labelport.store.blobs import BlobStore
from labelport.store.database import Database, default_home

__all__ = ["BlobStore", "Database", "default_home"]
