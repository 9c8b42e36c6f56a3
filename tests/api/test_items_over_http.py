"""Importing a RedBrick items list with its media over HTTP (``POST /projects/{id}/imports/items``,
``project.import_redbrick_items``): the same labels as the embedded import, a bad task failing alone with its
error, every kind of malicious archive refused with the member named and nothing kept, callers without the
project's admin role refused. A real uvicorn, real DICOM series and NIfTI segmentations, on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from labelport.imaging.grids import decode_label_volume
from labelport.model import VolumeMask
from labelport.model.jobs import ItemsImportResult
from labelport.sdk import Client
from labelport.service import archives, jobs
from labelport.service.datasets import existing_global_keys, list_datasets
from labelport.service.imports import stored_annotations
from tests.api.server import LiveServer, connected, thread_server
from tests.formats.redbrick.helpers import AXIAL_FILES, INPUTS, ITEMS_FIXTURE, write_items

SEGMENTS = ("liver", "spleen", "kidney", "lesion")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with thread_server(tmp_path / "server", database_url, max_upload_bytes=8 * 1024**2) as live:
        yield live


@pytest.fixture
def remote(server: LiveServer) -> Iterator[Client]:
    with connected(server) as client:
        yield client


def _project(client: Client, name: str = "ct") -> Any:
    project = client.create_project(name, media_type="dicom")
    ontology = {"tools": [{"tool": "raster-segmentation", "name": t} for t in SEGMENTS], "classifications": []}
    project.connect_ontology(client.create_ontology(name, ontology, media_type="dicom"))
    return project


def _labels(client: Client, project_id: str, result: ItemsImportResult) -> dict[str, Any]:
    """Per global key, the stored annotations (masks name their label volume by its SHA-256, so equal
    annotations mean equal voxels), and the label volumes decoded."""
    keys = [k for r in result.records for k in r.data_rows]
    rows = existing_global_keys(client.hub, keys)
    found: dict[str, Any] = {}
    for key in keys:
        stored = [a for _, a in stored_annotations(client.hub, project_id, rows[key], "ground_truth")]
        blobs = sorted({a.source.blob for a in stored if isinstance(a, VolumeMask) and a.source.blob})
        found[key] = (stored, [decode_label_volume(client.hub.blobs.get(b)) for b in blobs])
    return found


def test_an_items_list_over_http_lands_what_the_embedded_import_lands(remote: Client, tmp_path: Path) -> None:
    remote_project = _project(remote)
    over_http = remote_project.import_redbrick_items(ITEMS_FIXTURE, "ground_truth", create_features=True)
    with Client(home=tmp_path / "embedded") as local:
        local_project = _project(local)
        embedded = local_project.import_redbrick_items(ITEMS_FIXTURE, "ground_truth", create_features=True)
        theirs = _labels(local, str(local_project.uid), embedded)
    assert over_http.failed == embedded.failed == ()
    # the server names the list as the archive holds it (items.json), never a path of its own
    assert [(r.where.split(", ")[1:], r.data_rows) for r in over_http.records] == [
        (r.where.split(", ")[1:], r.data_rows) for r in embedded.records
    ]
    assert all(r.where.startswith("items.json, ") for r in over_http.records)
    assert (over_http.created, over_http.reused) == (embedded.created, embedded.reused) == (4, 0)
    assert over_http.job is not None and embedded.job is not None
    assert (over_http.job.state.value, over_http.job.total, over_http.job.failed) == (
        "FINISHED",
        embedded.job.total,
        0,
    )
    ours = _labels(remote, str(remote_project.uid), over_http)
    assert ours.keys() == theirs.keys()
    for key, (stored, volumes) in ours.items():
        assert stored == theirs[key][0], key
        assert len(volumes) == len(theirs[key][1]) and all(map(np.array_equal, volumes, theirs[key][1])), key
    assert sum(len(v) for _, v in ours.values()) == 3  # the guide's three segmented tasks
    # the data rows name the server's extracted copy, which stays; the dataset is the one reported
    assert [d.id for d in list_datasets(remote.hub)] == [over_http.dataset_id]
    again = remote_project.import_redbrick_items(ITEMS_FIXTURE, "ground_truth")
    assert (again.failed, again.created, again.reused) == ((), 0, 4)
    # It created nothing, so its copy goes: just after the job's FINISHED state commits (with its labels).
    deadline = time.monotonic() + 10
    while jobs_folder(remote, again).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not jobs_folder(remote, again).exists()
    assert over_http.job is not None and jobs_folder(remote, over_http).is_dir()


def jobs_folder(client: Client, result: ItemsImportResult) -> Path:
    assert result.job is not None
    return client.hub.blobs.home / "uploads" / result.job.id


def test_a_task_with_a_bad_segmentation_fails_alone_with_its_error(
    remote: Client, server: LiveServer, tmp_path: Path
) -> None:
    for name in ("axial_seg_labelmap.nii.gz", "mismatch_big.nii.gz"):
        shutil.copy(INPUTS / name, tmp_path / name)
    series = [str(Path(p)) for p in AXIAL_FILES]
    write_items(
        tmp_path,
        [
            {"name": "good", "series": [{"items": series, "segmentations": "axial_seg_labelmap.nii.gz",
                                         "segmentMap": {"1": "liver", "2": "spleen", "3": "kidney"}}]},
            {"name": "bad", "series": [{"items": series, "segmentations": "mismatch_big.nii.gz",
                                        "segmentMap": {"1": "liver"}}]},
        ],
    )  # fmt: skip
    project = _project(remote)
    result = project.import_redbrick_items(tmp_path, "ground_truth", dataset=remote.create_dataset("ct rows"))
    assert [(r.where.split(",")[0], r.ok) for r in result.records] == [("items.json", True), ("items.json", False)]
    (error,) = result.failed[0].errors
    assert "task 'bad', series 'A'" in error and "mismatch_big.nii.gz" in error and "has shape" in error
    assert str(server.home) not in error and str(tmp_path) not in error  # no server or client path
    assert (result.created, result.reused) == (1, 0)
    assert result.job is not None and result.job.failed == 0 and result.job.succeeded == 3
    statuses = remote.backend.import_statuses(result.job.id, failures_only=False)
    assert len(statuses) == 3


def _zip(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("items.json", b"[]")
        link = zipfile.ZipInfo("series/link.dcm")
        link.external_attr = (0o120777 << 16) | 0  # a symbolic link, as `zip --symlinks` writes it
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _zip_encrypted() -> bytes:
    """A zip whose member says it is encrypted (flag bit 0 in its central directory entry)."""
    data = bytearray(_zip(("items.json", b"[]"), ("series/a.dcm", b"x")))
    entry = data.rindex(b"PK\x01\x02")  # the last member's central directory header; flags at offset 8
    data[entry + 8] |= 1
    return bytes(data)


def _tar(special: Callable[[tarfile.TarInfo], None] | None, name: str = "series/x.dcm", data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        listing = tarfile.TarInfo("items.json")
        listing.size = 2
        archive.addfile(listing, io.BytesIO(b"[]"))
        member = tarfile.TarInfo(name)
        member.size = len(data)
        if special is not None:
            special(member)
        archive.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return buffer.getvalue()


def _link(kind: bytes, target: str) -> Callable[[tarfile.TarInfo], None]:
    def make(member: tarfile.TarInfo) -> None:
        member.type, member.linkname = kind, target

    return make


def _device(kind: bytes) -> Callable[[tarfile.TarInfo], None]:
    def make(member: tarfile.TarInfo) -> None:
        member.type, member.devmajor, member.devminor = kind, 1, 3

    return make


MALICIOUS = {
    "zip ..": (_zip(("items.json", b"[]"), ("../escape.dcm", b"x")), "'../escape.dcm' has a '..' component"),
    "zip absolute": (_zip(("items.json", b"[]"), ("/etc/cron.d/x", b"x")), "'/etc/cron.d/x' has an absolute path"),
    "zip symlink": (_zip_symlink(), "'series/link.dcm' is a symbolic link"),
    "tar ..": (_tar(None, "a/../../escape.dcm", b"x"), "'a/../../escape.dcm' has a '..' component"),
    "tar absolute": (_tar(None, "/tmp/escape.dcm", b"x"), "'/tmp/escape.dcm' has an absolute path"),
    "tar symlink": (_tar(_link(tarfile.SYMTYPE, "/etc/passwd")), "'series/x.dcm' is a symbolic link"),
    "tar hardlink": (_tar(_link(tarfile.LNKTYPE, "/etc/passwd")), "'series/x.dcm' is a hard link"),
    "tar device": (_tar(_device(tarfile.CHRTYPE)), "'series/x.dcm' is a device, FIFO or socket"),
    "tar fifo": (_tar(_device(tarfile.FIFOTYPE)), "'series/x.dcm' is a device, FIFO or socket"),
    "zip bomb": (
        _zip(("items.json", b"[]"), ("zeros.nii", bytes(9 * 1024**2))),
        "the archive's files add up to more than 8388608 bytes uncompressed",
    ),
    "not an archive": (b'[{"name": "t"}]', "the upload is not a zip or tar archive"),
    "zip long name": (
        _zip(("items.json", b"[]"), ("series/" + "x" * 300 + ".dcm", b"x")),
        "has a name longer than 255 bytes",
    ),
    "zip encrypted": (_zip_encrypted(), "'series/a.dcm' is encrypted; upload it unencrypted"),
    "zip file over a folder": (
        _zip(("items.json", b"[]"), ("series", b"x"), ("series/a.dcm", b"x")),
        "'series/a.dcm' lies under 'series', which is a file",
    ),
    "zip folder then file": (
        _zip(("items.json", b"[]"), ("series/a.dcm", b"x"), ("series", b"x")),
        "'series' is a file and a folder",
    ),
}


def _nothing_kept(client: Client, server: LiveServer, project_id: str) -> None:
    assert jobs.list_jobs(client.hub, project_id=project_id) == []
    assert list_datasets(client.hub) == []
    assert not (server.home / "uploads").exists() or not any((server.home / "uploads").iterdir())
    scratch = server.home / "tmp"
    assert not scratch.exists() or not any(p.name.startswith(".archive-") for p in scratch.iterdir())


@pytest.mark.parametrize("kind", sorted(MALICIOUS))
def test_a_malicious_archive_is_refused_with_the_member_named_and_nothing_kept(
    remote: Client, server: LiveServer, kind: str
) -> None:
    content, message = MALICIOUS[kind]
    project = _project(remote)
    response = httpx.post(
        f"{server.url}/api/v1/projects/{project.uid}/imports/items",
        params={"name": "evil", "kind": "prediction"},
        content=content,
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"], response.json()
    _nothing_kept(remote, server, str(project.uid))


def test_too_many_members_are_refused(
    remote: Client, server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBERS", 3)
    project = _project(remote)
    archive = tmp_path / "many.zip"
    archive.write_bytes(_zip(("items.json", b"[]"), *((f"f{i}.dcm", b"x") for i in range(3))))
    with pytest.raises(Exception, match="the archive has more than 3 members"):
        project.import_redbrick_items(archive)
    _nothing_kept(remote, server, str(project.uid))


def test_items_outside_the_archive_are_not_read(remote: Client, server: LiveServer, tmp_path: Path) -> None:
    """Paths in the list resolve inside the extracted archive only: not the server's files, nor its store."""
    names = [AXIAL_FILES[0], "../../../labelport.db", "/etc/hostname"]
    items = [{"name": f"t{i}", "series": [{"items": [n]}]} for i, n in enumerate(names)]
    archive = tmp_path / "outside.zip"
    archive.write_bytes(_zip(("items.json", orjson.dumps(items))))
    result = _project(remote).import_redbrick_items(archive)
    assert result.created == 0 and len(result.failed) == 3
    for record, name in zip(result.failed, names, strict=True):
        assert f"{name!r} is outside the folders labelport may read" in record.errors[0], record.errors


@pytest.mark.parametrize("role", ["labeler", "reviewer", "viewer"])
def test_a_caller_without_the_projects_admin_role_is_refused(
    remote: Client, server: LiveServer, tmp_path: Path, role: str
) -> None:
    project = _project(remote)
    key = server.key(f"{role}@x.org", project=str(project.uid), role=role)
    with connected(server, key) as them, pytest.raises(Exception, match=r"needs one of: admin") as refused:
        them.get_project(str(project.uid)).import_redbrick_items(ITEMS_FIXTURE, "prediction")
    assert type(refused.value).__name__ == "PermissionDeniedError"
    _nothing_kept(remote, server, str(project.uid))


def test_the_docs_example_runs_as_pasted(tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    from tests.api.server import REPO

    text = (REPO / "docs" / "formats" / "redbrick.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    env = {**os.environ, "LABELPORT_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 data rows created; 0 of 4 tasks failed\n"


def test_uploaded_media_are_read_by_the_viewer_not_named_by_new_rows(database_url: str, tmp_path: Path) -> None:
    """On a server whose file roots are elsewhere, the uploads folder (``LABELPORT_UPLOADS_DIR``) is where an
    items archive's media land and stay: the viewer reads the rows made of them (Settings.media_roots), but a
    user's new data row may not name a file there (it is no file root)."""
    from labelport.service.hub import Settings

    uploads, media = tmp_path / "shared-uploads", tmp_path / "media"
    media.mkdir()
    settings = Settings(file_roots=(media,), uploads=uploads)
    with (
        thread_server(tmp_path / "server", database_url, settings=settings, max_upload_bytes=8 * 1024**2) as live,
        connected(live) as client,
    ):
        project = _project(client)
        result = project.import_redbrick_items(ITEMS_FIXTURE, "ground_truth", create_features=True)
        assert result.failed == () and result.job is not None and result.created == 4
        assert (uploads / result.job.id).is_dir()
        key = result.records[0].data_rows[0]
        row_id = existing_global_keys(client.hub, [key])[key]
        row = client.get_data_row(row_id)
        assert str(uploads / result.job.id) in row.row_data  # the extracted copy, in the uploads folder
        headers = {"Authorization": f"Bearer {live.admin_key}"}
        with httpx.Client(base_url=f"{live.url}/api/v1", headers=headers) as http:
            base = f"/projects/{project.uid}/viewer/rows/{row_id}"
            planes = http.get(base)
            assert planes.status_code == 200, planes.text
            plane = planes.json()["planes"][0]["plane"]
            shown = http.get(f"{base}/slices/{plane}/0")
            assert shown.status_code == 200, shown.text
            assert shown.headers["content-type"] == "image/png"
            dataset = client.create_dataset("elsewhere")
            copy = {"row_data": row.row_data, "global_key": "copy", "media_type": "dicom"}
            task = dataset.create_data_rows([copy])
            assert task.errors is not None and "outside the folders labelport may read" in str(task.errors)
