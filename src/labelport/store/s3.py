"""The blob store on S3 or an S3-compatible object store (SeaweedFS, MinIO, Ceph), through boto3.

Keys: ``<prefix>blobs/ab/cdef...`` for content-addressed blobs, ``<prefix>exports/<job id>/<path>`` for a
job's published outputs. Files are uploaded and downloaded with boto3's managed transfers (multipart above
8 MiB), never whole in memory. Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, a profile, an instance role); ``LABELPORT_S3_ENDPOINT`` names an S3-compatible
store (path-style addressing), ``AWS_REGION`` the region (default ``us-east-1``).

Failures become labelport errors a user can read: an unreachable store is ``StoreUnavailableError`` ("the
object store at ... cannot be reached"), a missing bucket or a refused request ``StoreError``; a missing key
is ``NotFoundError``. boto3 is the ``scale`` extra.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from labelport._optional import require
from labelport.errors import NotFoundError, StoreError, StoreUnavailableError, ValidationError
from labelport.store.blobs import BlobStore, StoredBlob, checked_relative, published_files

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KNOWN = 4096  # digests known to be in the store, kept to skip a request per repeated mask
CONTENT_TYPES = {".ndjson": "application/x-ndjson", ".json": "application/json", ".png": "image/png"}


class S3BlobStore(BlobStore):
    """Blobs and job outputs in ``bucket`` under ``prefix``, on AWS S3 or at ``endpoint``."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint: str | None = None, home: Path) -> None:
        if not 3 <= len(bucket) <= 63:
            raise ValidationError(
                f"an S3 bucket name has 3 to 63 characters, found {bucket!r}", field="LABELPORT_BLOB_URL", value=bucket
            )
        boto3, config = require(("boto3", "botocore.config"), "the S3 blob store", "scale")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.home = home
        self._known: OrderedDict[str, None] = OrderedDict()
        settings = config.Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
        )
        self.client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"), config=settings
        )

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    # ------------------------------------------------------------ errors

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """boto3's failures as labelport errors; a missing key becomes NotFoundError naming what it is."""
        from botocore import exceptions as bce

        try:
            yield
        except bce.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFoundError(f"{_what(key)} is missing from the object store") from exc
            if code == "NoSuchBucket":
                raise StoreError(f"the object store has no bucket {self.bucket!r}; create it first") from exc
            raise StoreError(f"the object store refused to access {_what(key)} ({code or 'error'})") from exc
        except (bce.EndpointConnectionError, bce.ConnectionError, bce.HTTPClientError) as exc:
            raise StoreUnavailableError(
                f"the object store {self.describe()} cannot be reached (while accessing {_what(key)}); "
                "retry once it is back"
            ) from exc
        except bce.NoCredentialsError as exc:
            raise StoreError(
                "no credentials for the object store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        except bce.BotoCoreError as exc:
            raise StoreError(f"the object store failed while accessing {_what(key)}: {exc}") from exc

    # ------------------------------------------------------------ keys

    def key(self, digest: str) -> str:
        return f"{self.prefix}blobs/{digest[:2]}/{digest[2:]}"

    def output_key(self, job_id: str, relative: str) -> str:
        return f"{self.prefix}exports/{job_id}/{checked_relative(relative, job_id)}"

    def _remember(self, digest: str) -> None:
        self._known[digest] = None
        self._known.move_to_end(digest)
        if len(self._known) > KNOWN:
            self._known.popitem(last=False)

    # ------------------------------------------------------------ blobs

    def store_bytes(self, data: bytes) -> StoredBlob:
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._known:
            key = self.key(digest)
            with self._errors(key):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
            self._remember(digest)
        return StoredBlob(digest, len(data))

    def _store_fileobj(self, handle: BinaryIO, digest: str, size: int) -> None:
        if digest in self._known:
            return
        key = self.key(digest)
        with self._errors(key):
            self.client.upload_fileobj(handle, self.bucket, key)  # multipart above 8 MiB
        self._remember(digest)

    def has(self, digest: str) -> bool:
        if digest in self._known:
            return True
        try:
            with self._errors(self.key(digest)):
                self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except NotFoundError:
            return False
        self._remember(digest)
        return True

    def get(self, digest: str) -> bytes:
        key = self.key(digest)
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                return body.read()
            finally:
                body.close()

    @contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        """The blob downloaded (multipart, in parallel) to a scratch file, so a long job reading it slowly
        holds no connection to the store."""
        key = self.key(digest)
        with tempfile.TemporaryFile(dir=self.scratch()) as handle:
            with self._errors(key):
                self.client.download_fileobj(self.bucket, key, handle)
            handle.seek(0)
            yield cast(BinaryIO, handle)

    def url(self, digest: str, ttl_seconds: int) -> str | None:
        key = self.key(digest)
        with self._errors(key):
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_seconds
            )
        return url

    # ------------------------------------------------------------ outputs

    def publish(self, job_id: str) -> None:
        """Upload the output folder's files under ``exports/<job id>/``, then remove the local folder."""
        folder = self.output_folder(job_id)
        for relative, path in published_files(folder):
            key = self.output_key(job_id, relative)
            extra = {"ContentType": CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
            with self._errors(key):
                self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def open_output(self, job_id: str, relative: str) -> Iterator[BinaryIO]:
        """The output file streamed from the store as it is read."""
        key = self.output_key(job_id, relative)
        try:
            with self._errors(key):
                body: Any = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except NotFoundError:
            raise NotFoundError(f"export {job_id} has no file {relative!r}") from None
        try:
            yield cast(BinaryIO, _Body(body, self, key))
        finally:
            body.close()

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (a local cluster; production buckets are made by their
        operators, with their own policies)."""
        with self._errors(""):
            names = {b.get("Name") for b in self.client.list_buckets().get("Buckets", [])}
            if self.bucket not in names:
                self.client.create_bucket(Bucket=self.bucket)


class _Body:
    """A streamed response body whose read errors are labelport errors."""

    def __init__(self, body: Any, store: S3BlobStore, key: str) -> None:
        self._body = body
        self._store = store
        self._key = key

    def read(self, size: int = -1) -> bytes:
        with self._store._errors(self._key):
            data: bytes = self._body.read(None if size < 0 else size)
        return data


def _what(key: str) -> str:
    """A key as a user reads it: ``blob <digest>`` or ``export file <path>``."""
    if "blobs/" in key:
        tail = key.split("blobs/", 1)[1]
        return f"blob {tail.replace('/', '', 1)}"
    if "exports/" in key:
        return f"export file {key.split('exports/', 1)[1]}"
    return "the bucket"


__all__ = ["S3BlobStore"]
