"""The blob store on S3, against a real SeaweedFS: blobs stored once, streamed up (multipart) and down,
presigned URLs that open without credentials, job outputs published and served, a job run end to end with
its input, masks and export in the object store, and an unreachable store named in the error."""

from __future__ import annotations

import base64
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from labelport.errors import NotFoundError, StoreUnavailableError, ValidationError
from labelport.model.jobs import JobState
from labelport.model.media import MediaType
from labelport.service import datasets, export_jobs, imports, jobs, ontologies, projects
from labelport.service.hub import Hub, ensure_organization
from labelport.service.synthetic import write_image
from labelport.store import Database, open_blob_store
from labelport.store.blobs import LocalBlobStore
from labelport.store.s3 import S3BlobStore


@pytest.fixture
def store(s3_endpoint: str, tmp_path: Path) -> S3BlobStore:
    blobs = open_blob_store(tmp_path, f"s3://labelport/t-{uuid.uuid4().hex[:8]}", endpoint=s3_endpoint)
    assert isinstance(blobs, S3BlobStore)
    return blobs


class _Pipe:
    """A stream that cannot seek (an upload as it arrives)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)

    def seekable(self) -> bool:
        return False


def test_blobs_are_stored_once_and_read_back(store: S3BlobStore, database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.write() as conn:
            first = store.put(conn, b"mask bytes", "image/png")
            again = store.put_stream(conn, _Pipe(b"mask bytes"), "image/png")  # spooled, then stored
        assert first == again
        assert store.has(first) and store.get(first) == b"mask bytes"
        with store.open(first) as handle:
            assert handle.read() == b"mask bytes"
        keys = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)["Contents"]
        assert [k["Key"] for k in keys] == [store.key(first)]
        # A presigned URL opens without credentials.
        url = store.url(first, 60)
        assert url is not None and httpx.get(url).content == b"mask bytes"
        missing = "0" * 64
        assert not store.has(missing)
        with pytest.raises(NotFoundError, match=f"blob {missing} is missing from the object store"):
            store.get(missing)
    finally:
        db.dispose()


def test_a_large_file_goes_up_in_parts_and_comes_back_whole(store: S3BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "big.ndjson"
    block = os.urandom(1 << 20)
    with source.open("wb") as out:
        for i in range(20):
            out.write(block[i:] + block[:i])
    stored = store.store_file(source)
    assert stored.size == 20 << 20
    head = store.client.head_object(Bucket=store.bucket, Key=store.key(stored.digest))
    assert "-" in head["ETag"]  # a multipart upload's ETag names its parts
    with store.open(stored.digest) as handle:
        assert handle.read() == source.read_bytes()


def test_outputs_are_published_and_served(store: S3BlobStore) -> None:
    folder = store.output_folder("job1")
    (folder / "frames").mkdir(parents=True)
    (folder / "export.ndjson").write_bytes(b'{"a": 1}\n{"b": 2}\n')
    (folder / "frames" / "1.ndjson").write_bytes(b"{}\n")
    (folder / ".export.ndjson.partial").write_bytes(b"half")
    store.publish("job1")
    assert not folder.exists()  # nothing stays on the replica's disk
    with store.open_output("job1", "export.ndjson") as handle:
        assert handle.read() == b'{"a": 1}\n{"b": 2}\n'
    with store.open_output("job1", "frames/1.ndjson") as handle:
        assert handle.read() == b"{}\n"
    for bad in (".export.ndjson.partial", "../job2/export.ndjson", "frames/../../x", "nope.ndjson"):
        with pytest.raises(NotFoundError, match="export job1 has no file"), store.open_output("job1", bad):
            pass


def test_an_unreachable_store_is_named_in_the_error(tmp_path: Path) -> None:
    from labelport.cluster import free_ports

    port = free_ports(1)[0]
    dead = S3BlobStore("labelport", endpoint=f"http://127.0.0.1:{port}", home=tmp_path)
    with pytest.raises(StoreUnavailableError) as raised:
        dead.store_bytes(b"x")
    digest = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert str(raised.value) == (
        f"the object store s3://labelport/ at http://127.0.0.1:{port} cannot be reached "
        f"(while accessing blob {digest}); retry once it is back"
    )


def test_the_blob_url_is_checked(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(tmp_path, ""), LocalBlobStore)
    assert open_blob_store(tmp_path, "file:///srv/blobs").describe() == "the local folder /srv/blobs"
    with pytest.raises(ValidationError, match="LABELPORT_BLOB_URL must be s3://BUCKET/PREFIX"):
        open_blob_store(tmp_path, "gs://bucket")
    with pytest.raises(ValidationError, match="an S3 bucket name has 3 to 63 characters, found 'ab'"):
        open_blob_store(tmp_path, "s3://ab/x")


@pytest.fixture
def s3_hub(store: S3BlobStore, database_url: str, tmp_path: Path) -> Iterator[Hub]:
    db = Database(database_url)
    org = ensure_organization(db, "default", "local@labelport")
    yield Hub(db=db, blobs=store, organization_id=org, actor="local@labelport")
    db.dispose()


def _png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_job_runs_with_its_input_masks_and_export_in_the_object_store(s3_hub: Hub, tmp_path: Path) -> None:
    hub = s3_hub
    image = write_image(tmp_path / "img.png", 40, 30)
    dataset = datasets.create_dataset(hub, "d")
    assert not datasets.create_data_rows(hub, dataset.id, [{"row_data": str(image), "global_key": "k"}]).failures
    ontology = ontologies.create_ontology(
        hub, "o", {"tools": [{"tool": "raster-segmentation", "name": "seg"}, {"tool": "rectangle", "name": "box"}]}
    )
    project = projects.create_project(hub, "p", MediaType.IMAGE)
    projects.connect_ontology(hub, project.id, ontology.id)
    projects.create_batch(hub, project.id, "all", global_keys=["k"])
    composite = np.zeros((30, 40, 3), np.uint8)
    composite[3:9, 4:20] = (255, 0, 0)
    mask_uuid = str(uuid.uuid4())
    lines = [
        {"uuid": mask_uuid, "name": "seg", "dataRow": {"globalKey": "k"},
         "mask": {"imBytes": base64.b64encode(_png(composite)).decode(), "colorRGB": [255, 0, 0]}},
        {"uuid": str(uuid.uuid4()), "name": "box", "dataRow": {"globalKey": "k"},
         "bbox": {"top": 1, "left": 2, "height": 3, "width": 4}},
    ]  # fmt: skip
    import orjson

    job_id = imports.start_import(
        hub, project.id, "s3", "ground_truth", source=io.BytesIO(b"\n".join(orjson.dumps(x) for x in lines))
    )
    job = jobs.run(hub, job_id)
    assert job is not None and (job.state, job.succeeded) == (JobState.FINISHED, 2)
    assert job.input_blob is not None and hub.blobs.has(job.input_blob)
    assert not (tmp_path / "blobs").exists()  # nothing went to the local disk

    export = export_jobs.start_export(hub, project.id, {"label_details": True})
    done = jobs.run(hub, export)
    assert done is not None and done.state is JobState.FINISHED
    with hub.blobs.open_output(export, "export.ndjson") as handle:
        row = orjson.loads(handle.read())
    [mask] = [o for o in row["projects"][project.id]["labels"][0]["annotations"]["objects"] if "composite_mask" in o]
    assert mask["composite_mask"]["url"] == f"/api/v1/projects/{project.id}/annotations/{mask_uuid}/index/1/mask"
    assert not export_jobs.output_folder(hub, export).exists()
