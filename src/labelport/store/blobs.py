"""Content-addressed files: stored once under their SHA-256, in ``$LABELPORT_HOME/blobs`` (S3 comes later).

A blob row in the database records each stored file, so annotations and jobs can reference it with a
foreign key; identical content (a composite mask PNG shared by many objects) is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from labelport.errors import NotFoundError
from labelport.store.schema import blobs


class BlobStore:
    """Files under ``root/ab/cdef...`` named by the SHA-256 of their content."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def put(self, conn: sa.Connection, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` (once) and record it in ``conn``'s transaction; return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file, even after a crash.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        exists = conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == digest)).first()
        if exists is None:
            conn.execute(
                blobs.insert().values(
                    sha256=digest, size=len(data), content_type=content_type, created_at=datetime.now(UTC)
                )
            )
        return digest

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.exists():
            raise NotFoundError(f"blob {digest} is not in the blob store at {self.root}")
        return target.read_bytes()
