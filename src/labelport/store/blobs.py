"""Content-addressed files, and the files jobs write: on the local disk (embedded default) or in an S3 store.

``BlobStore`` is the one interface. Blobs are stored once under their SHA-256; a row of ``blobs`` records each
one, so annotations and jobs reference it with a foreign key, and identical content (a composite mask PNG
shared by many objects) is stored once. Storing a blob and recording it are two steps: a large input is
stored (streamed; multipart to S3) before the transaction that records it opens, while the small blobs of an
import (mask PNGs, label volumes) are put inside the import's transaction (``put``).

A job's outputs (an export's files) are written into a local folder (``output_folder``) and then published
(``publish``): on the local disk they already are where they are served from; on S3 they are uploaded under
``exports/<job id>/`` and the local folder removed, so any API replica serves them.

``open_blob_store`` picks the implementation: ``LABELPORT_BLOB_URL=s3://bucket/prefix`` (with
``LABELPORT_S3_ENDPOINT`` for S3-compatible stores) selects ``store.s3.S3BlobStore``; without it, files live
under ``$LABELPORT_HOME/blobs`` (``LocalBlobStore``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from labelport.errors import NotFoundError, ValidationError
from labelport.store.schema import blobs

BLOCK = 1 << 20
# What an output's relative path may be: segments of safe characters, none hidden, none "..".
_RELATIVE = re.compile(r"^(?!.*(?:^|/)\.)[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A blob in the store, not yet recorded in the database: its SHA-256 and size in bytes."""

    digest: str
    size: int


def checked_relative(relative: str, job_id: str) -> str:
    """``relative`` if it can name a file of a job's outputs (no hidden segment, no ``..``); NotFoundError else."""
    if not isinstance(relative, str) or len(relative) > 1000 or not _RELATIVE.match(relative):
        raise NotFoundError(f"export {job_id} has no file {relative!r}")
    return relative


class BlobStore(ABC):
    """Blobs named by their SHA-256, and the output files of jobs. ``home`` is this process's local folder
    (``$LABELPORT_HOME``): scratch files and the outputs that stay on this machine (embedded exports)."""

    home: Path

    # ------------------------------------------------------------ storing blobs

    @abstractmethod
    def _store_fileobj(self, handle: BinaryIO, digest: str, size: int) -> None:
        """Put what ``handle`` holds from its position on, whose digest is known, under ``digest`` (streamed,
        never whole in memory)."""

    @abstractmethod
    def store_bytes(self, data: bytes) -> StoredBlob:
        """Store ``data`` (once); it is readable but not yet recorded."""

    def store_file(self, source: Path) -> StoredBlob:
        """Store the file at ``source`` (once, streamed: never whole in memory)."""
        with source.open("rb") as handle:
            return self.store_stream(handle)

    def store_stream(self, stream: BinaryIO) -> StoredBlob:
        """Store what ``stream`` yields until its end. A seekable stream (a file) is hashed, rewound and
        stored; any other is copied to a scratch file while hashed, then stored."""
        if stream.seekable():
            start = stream.tell()
            sha = hashlib.sha256()
            size = 0
            for block in iter(lambda: stream.read(BLOCK), b""):
                sha.update(block)
                size += len(block)
            stream.seek(start)
            digest = sha.hexdigest()
            self._store_fileobj(stream, digest, size)
            return StoredBlob(digest, size)
        scratch = self.scratch()
        fd, name = tempfile.mkstemp(dir=scratch, prefix=".upload-")
        path = Path(name)
        try:
            sha = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                for block in iter(lambda: stream.read(BLOCK), b""):
                    sha.update(block)
                    size += len(block)
                    out.write(block)
            with path.open("rb") as spooled:
                self._store_fileobj(spooled, sha.hexdigest(), size)
            return StoredBlob(sha.hexdigest(), size)
        finally:
            path.unlink(missing_ok=True)

    def record(self, conn: sa.Connection, blob: StoredBlob, content_type: str = "application/octet-stream") -> str:
        """Record a stored blob in ``conn``'s transaction (once: concurrent writers of the same content both
        succeed); returns its SHA-256."""
        values = {"sha256": blob.digest, "size": blob.size, "content_type": content_type, "created_at": _now()}
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.execute(postgresql.insert(blobs).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
        elif dialect == "sqlite":
            conn.execute(sqlite.insert(blobs).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
        elif conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == blob.digest)).first() is None:
            conn.execute(blobs.insert().values(**values))
        return blob.digest

    def put(self, conn: sa.Connection, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` (once) and record it in ``conn``'s transaction; return its SHA-256."""
        return self.record(conn, self.store_bytes(data), content_type)

    def put_file(self, conn: sa.Connection, source: Path, content_type: str = "application/octet-stream") -> str:
        """Store the file at ``source`` (streamed) and record it; return its SHA-256."""
        return self.record(conn, self.store_file(source), content_type)

    def put_stream(self, conn: sa.Connection, stream: BinaryIO, content_type: str = "application/octet-stream") -> str:
        """Store a stream (spooled to a scratch file, then streamed) and record it; return its SHA-256."""
        return self.record(conn, self.store_stream(stream), content_type)

    # ------------------------------------------------------------ reading blobs

    @abstractmethod
    def has(self, digest: str) -> bool:
        """Whether the content of ``digest`` is in the store (a row without its file cannot be read)."""

    @abstractmethod
    def get(self, digest: str) -> bytes:
        """The content of ``digest``, whole (masks, label volumes); NotFoundError when it is missing."""

    @abstractmethod
    def open(self, digest: str) -> AbstractContextManager[BinaryIO]:
        """The content of ``digest`` as a readable binary file (a job's input); NotFoundError when missing."""

    def url(self, digest: str, ttl_seconds: int) -> str | None:
        """A URL that fetches the blob without credentials for ``ttl_seconds`` (S3: presigned), or None when
        the store has none (the local disk: the API serves it)."""
        return None

    # ------------------------------------------------------------ outputs of jobs

    def scratch(self) -> Path:
        """A local folder for temporary files of this process."""
        folder = self.home / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def output_folder(self, job_id: str) -> Path:
        """The local folder a job writes its outputs into (``$LABELPORT_HOME/exports/<job id>``)."""
        return self.home / "exports" / job_id

    @abstractmethod
    def publish(self, job_id: str) -> None:
        """Make the files of a job's output folder served by ``open_output`` (hidden files are left out)."""

    @abstractmethod
    def open_output(self, job_id: str, relative: str) -> AbstractContextManager[BinaryIO]:
        """A published output file of a job, for reading; NotFoundError when there is none."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store keeps its files, for logs and start-up messages (no credentials)."""


def _now() -> datetime:
    return datetime.now(UTC)


def published_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files of an output folder as (relative path, path), hidden files (partial writes) left out."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and _RELATIVE.match(relative):
            yield relative, path


class LocalBlobStore(BlobStore):
    """Files under ``root/ab/cdef...`` named by their SHA-256; outputs under ``home/exports``."""

    def __init__(self, root: Path, home: Path | None = None) -> None:
        self.root = root
        self.home = home or root.parent

    def describe(self) -> str:
        return f"the local folder {self.root}"

    def path(self, digest: str) -> Path:
        """Where the content of ``digest`` lives on this disk."""
        return self.root / digest[:2] / digest[2:]

    def store_bytes(self, data: bytes) -> StoredBlob:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file, even after a crash.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return StoredBlob(digest, len(data))

    def _store_fileobj(self, handle: BinaryIO, digest: str, size: int) -> None:
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(handle, out, BLOCK)
        os.replace(tmp, target)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.exists():
            raise NotFoundError(f"blob {digest} is missing from the blob store")
        return target.read_bytes()

    @contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        try:
            handle = self.path(digest).open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is missing from the blob store") from None
        with handle:
            yield handle

    def publish(self, job_id: str) -> None:
        """Nothing to move: the output folder is where the files are served from."""

    @contextmanager
    def open_output(self, job_id: str, relative: str) -> Iterator[BinaryIO]:
        folder = self.output_folder(job_id)
        path = folder / checked_relative(relative, job_id)
        try:
            inside = path.resolve().is_relative_to(folder.resolve()) and path.is_file()
        except (OSError, ValueError):
            inside = False
        if not inside:
            raise NotFoundError(f"export {job_id} has no file {relative!r}")
        with path.open("rb") as handle:
            yield handle


def open_blob_store(home: Path, url: str | None = None, *, endpoint: str | None = None) -> BlobStore:
    """The blob store configured for ``home``: ``url`` (else ``LABELPORT_BLOB_URL``) ``s3://bucket/prefix``
    for S3 (``endpoint``, else ``LABELPORT_S3_ENDPOINT``, for an S3-compatible store), or
    ``file:///folder``; without either, ``home/blobs`` on the local disk."""
    url = url if url is not None else os.environ.get("LABELPORT_BLOB_URL", "")
    if not url:
        return LocalBlobStore(home / "blobs", home)
    if url.startswith("file://"):
        return LocalBlobStore(Path(url.removeprefix("file://")), home)
    if url.startswith("s3://"):
        from labelport.store.s3 import S3BlobStore

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3BlobStore(bucket, prefix, endpoint=endpoint or os.environ.get("LABELPORT_S3_ENDPOINT"), home=home)
    raise ValidationError(
        f"LABELPORT_BLOB_URL must be s3://BUCKET/PREFIX or file:///FOLDER, found {url!r}",
        field="LABELPORT_BLOB_URL",
        value=url,
    )


__all__ = ["BlobStore", "LocalBlobStore", "StoredBlob", "checked_relative", "open_blob_store", "published_files"]
