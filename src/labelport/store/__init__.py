"""Persistence: SQLAlchemy Core schema, Alembic migrations, the blob store (local disk or S3)."""

from labelport.store.blobs import BlobStore, LocalBlobStore, StoredBlob, open_blob_store
from labelport.store.database import Database, default_home

__all__ = ["BlobStore", "Database", "LocalBlobStore", "StoredBlob", "default_home", "open_blob_store"]
