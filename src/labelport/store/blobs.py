"""Content-addressed files: stored once under their SHA-256, in ``$LABELPORT_HOME/blobs`` (S3 comes later).

A blob row in the database records each stored file, so annotations and jobs can reference it with a
foreign key; identical content (a composite mask PNG shared by many objects) is stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
        self._record(conn, digest, len(data), content_type)
        return digest

    @staticmethod
    def _record(conn: sa.Connection, digest: str, size: int, content_type: str) -> None:
        """Record the blob once; two transactions storing the same content at once both succeed (the second
        waits for the first, then finds the row there)."""
        values = {"sha256": digest, "size": size, "content_type": content_type, "created_at": datetime.now(UTC)}
        insert = sqlite_insert(blobs) if conn.dialect.name == "sqlite" else postgresql_insert(blobs)
        conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=[blobs.c.sha256]))

    def put_file(self, conn: sa.Connection, source: Path, content_type: str = "application/octet-stream") -> str:
        """Store the file at ``source`` (once, streamed: never whole in memory); return its SHA-256."""
        sha = hashlib.sha256()
        with source.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        digest = sha.hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            os.close(fd)
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        self._record(conn, digest, source.stat().st_size, content_type)
        return digest

    def has(self, digest: str) -> bool:
        """Whether the file of ``digest`` is in the store (a row without its file cannot be read)."""
        return self.path(digest).is_file()

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.exists():
            raise NotFoundError(f"blob {digest} is missing from the blob store")
        return target.read_bytes()
