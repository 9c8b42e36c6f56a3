"""One job path on both backends: a job that fails anywhere ends FAILED with a reason its user can read,
an import is all or nothing, recovery re-runs what it can and fails the rest, jobs stay in their
organisation (and in it after their project is deleted)."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from labelport.errors import NotFoundError, ValidationError
from labelport.formats.labelbox import ndjson as labelbox_ndjson
from labelport.model.jobs import JobKind, JobState
from labelport.model.media import MediaType
from labelport.service import export_jobs, imports, jobs
from labelport.service.hub import Hub, ensure_organization
from labelport.service.synthetic import write_image
from labelport.store.schema import annotation_rows, import_status_pages, labels, projects
from labelport.store.schema import jobs as jobs_table

ROWS = 3


@dataclass
class Workspace:
    hub: Hub
    project_id: str
    home: Path

    def count(self, table: sa.Table) -> int:
        with self.hub.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def execute(self, statement: Any) -> None:
        with self.hub.db.write() as conn:
            conn.execute(statement)


@pytest.fixture
def ws(database_url: str, tmp_path: Path) -> Iterator[Workspace]:
    from labelport.service import datasets, ontologies
    from labelport.service import projects as project_service

    home = tmp_path / "home"
    hub = Hub.open(home=home, database_url=database_url)
    image = write_image(tmp_path / "img.png", 32, 24)
    dataset = datasets.create_dataset(hub, "d")
    created = datasets.create_data_rows(
        hub, dataset.id, [{"row_data": str(image), "global_key": f"img-{i}"} for i in range(ROWS)]
    )
    assert not created.failures
    ontology = ontologies.create_ontology(hub, "o", {"tools": [{"tool": "rectangle", "name": "box"}]})
    project = project_service.create_project(hub, "p", MediaType.IMAGE)
    project_service.connect_ontology(hub, project.id, ontology.id)
    project_service.create_batch(hub, project.id, "all", global_keys=[f"img-{i}" for i in range(ROWS)])
    try:
        yield Workspace(hub, project.id, home)
    finally:
        hub.db.dispose()


def box(i: int) -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=i + 1)),
        "name": "box",
        "dataRow": {"globalKey": f"img-{i % ROWS}"},
        "bbox": {"top": 1, "left": 2, "height": 3, "width": 4},
    }


def ndjson(count: int) -> bytes:
    return b"\n".join(orjson.dumps(box(i)) for i in range(count))


def test_an_import_runs_from_its_kept_input(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "boxes", "prediction", source=ndjson(7), input_name="b.ndjson")
    assert jobs.get(ws.hub, job_id).state is JobState.QUEUED
    job = jobs.run(ws.hub, job_id)
    assert job is not None
    assert (job.state, job.total, job.succeeded, job.failed, job.error) == (JobState.FINISHED, 7, 7, 0, None)
    assert (job.progress_done, job.progress_total) == (7, 7)
    assert ws.count(annotation_rows) == 7
    # Running a finished job again changes nothing.
    assert jobs.run(ws.hub, job_id) == job
    assert ws.count(annotation_rows) == 7


def test_an_import_whose_project_is_deleted_before_it_runs_fails_and_stays_listed(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "boxes", "ground_truth", source=ndjson(3))
    ws.execute(projects.delete().where(projects.c.id == ws.project_id))
    job = jobs.run(ws.hub, job_id)
    assert job is not None
    assert (job.state, job.error, job.project_id) == (JobState.FAILED, jobs.PROJECT_GONE, None)
    assert [j.id for j in jobs.list_jobs(ws.hub)] == [job_id]  # still the organisation's
    assert ws.count(labels) == 0


def test_an_export_whose_project_is_deleted_before_it_runs_fails_with_the_reason(ws: Workspace) -> None:
    job_id = export_jobs.start_export(ws.hub, ws.project_id, {"label_details": True})
    ws.execute(projects.delete().where(projects.c.id == ws.project_id))
    job = jobs.run(ws.hub, job_id)
    assert job is not None and (job.state, job.error) == (JobState.FAILED, jobs.PROJECT_GONE)


def test_a_job_whose_input_is_gone_fails_naming_no_server_path(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "boxes", "prediction", source=ndjson(3))
    blob = jobs.get(ws.hub, job_id).input_blob
    assert blob is not None
    ws.hub.blobs.path(blob).unlink()
    job = jobs.run(ws.hub, job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error == f"the job's input (blob {blob}) is missing from the blob store"
    assert str(ws.home) not in job.error


def test_an_import_that_breaks_midway_leaves_nothing_behind_and_logs_why(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    def items() -> Iterator[Any]:
        yield from labelbox_ndjson.read(ndjson(600))  # two chunks of 250 are written first
        raise OSError(f"cannot read {ws.home}/input: the stream broke")

    with caplog.at_level(logging.ERROR, logger="labelport.service.jobs"):
        job = imports.import_annotations(ws.hub, ws.project_id, "breaks", items(), "ground_truth")
    # The user reads a generic reason; the log has the exception, server path and all.
    assert (job.state, job.error) == (JobState.FAILED, jobs.UNEXPECTED)
    [record] = [r for r in caplog.records if r.exc_info]
    assert "the stream broke" in str(record.exc_info[1]) and str(ws.home) in str(record.exc_info[1])  # type: ignore[index]
    assert ws.count(annotation_rows) == ws.count(labels) == ws.count(import_status_pages) == 0


def test_an_import_into_a_project_without_ontology_fails_with_the_reason(ws: Workspace) -> None:
    from labelport.service import projects as project_service

    bare = project_service.create_project(ws.hub, "bare", MediaType.IMAGE)
    job_id = imports.start_import(ws.hub, bare.id, "x", "prediction", source=ndjson(1))
    job = jobs.run(ws.hub, job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error == "project 'bare' has no ontology; connect one before importing"


def test_bad_stored_export_params_fail_the_job_with_the_reason(ws: Workspace) -> None:
    job_id = export_jobs.start_export(ws.hub, ws.project_id, {"label_details": True})
    options = {"options": {"params": {"labels_please": True}}, "filters": {}, "links": "files"}
    ws.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(options=options))
    job = jobs.run(ws.hub, job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error is not None and "labels_please" in job.error


def test_an_export_records_its_rows_progress_and_output(ws: Workspace) -> None:
    job_id = export_jobs.start_export(ws.hub, ws.project_id, {"label_details": True}, links="files")
    job = jobs.run(ws.hub, job_id)
    assert job is not None
    assert (job.state, job.total, job.progress_done, job.progress_total) == (JobState.FINISHED, ROWS, ROWS, ROWS)
    assert job.output == f"{job_id}/export.ndjson"
    path = export_jobs.output_path(ws.hub, export_jobs.get_export_job(ws.hub, job_id))
    assert len(path.read_bytes().splitlines()) == ROWS


def test_recovery_reruns_jobs_that_can_run_again_and_fails_the_rest(ws: Workspace) -> None:
    kept = imports.start_import(ws.hub, ws.project_id, "kept", "prediction", source=ndjson(4))
    lost = imports.start_import(ws.hub, ws.project_id, "lost", "prediction")  # its items were in memory
    export = export_jobs.start_export(ws.hub, ws.project_id)
    finished = imports.start_import(ws.hub, ws.project_id, "done", "prediction", source=ndjson(2))
    jobs.run(ws.hub, finished)
    # ``kept`` was running when the process died: its claim is in the database, nothing else. ``lost`` has
    # waited longer than a lease, so nobody is about to run it.
    ws.execute(jobs_table.update().where(jobs_table.c.id == kept).values(state="RUNNING"))
    long_ago = datetime.now(UTC) - timedelta(seconds=ws.hub.settings.job_lease_seconds + 1)
    ws.execute(jobs_table.update().where(jobs_table.c.id == lost).values(created_at=long_ago))

    again, failed = jobs.recover(ws.hub)
    assert (again, failed) == ([kept, export], [lost])
    assert jobs.get(ws.hub, lost).error == jobs.RESTART_REASON
    assert [jobs.run(ws.hub, j).state for j in again] == [JobState.FINISHED, JobState.FINISHED]  # type: ignore[union-attr]
    assert jobs.get(ws.hub, kept).succeeded == 4


def test_jobs_belong_to_their_organisation(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "mine", "prediction", source=ndjson(1))
    organization = ensure_organization(ws.hub.db, "other", "o@x")
    other = Hub(db=ws.hub.db, blobs=ws.hub.blobs, organization_id=organization, actor="o@x")
    with pytest.raises(NotFoundError, match="no import job with id"):
        imports.get_import_job(other, job_id)
    assert jobs.list_jobs(other) == []
    with pytest.raises(NotFoundError):
        imports.start_import(other, ws.project_id, "theirs", "prediction")
    # A job of one kind is not found as another.
    with pytest.raises(NotFoundError, match="no export job with id"):
        export_jobs.get_export_job(ws.hub, job_id)
    assert jobs.get(ws.hub, job_id, JobKind.IMPORT).id == job_id


@pytest.mark.parametrize("name", ["", "   ", "x" * 501])
def test_a_job_needs_a_name(ws: Workspace, name: str) -> None:
    with pytest.raises(ValidationError, match="import name"):
        imports.start_import(ws.hub, ws.project_id, name, "prediction", source=ndjson(1))
    assert jobs.list_jobs(ws.hub) == []


def test_an_input_file_is_kept_without_reading_it_whole(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(ndjson(5))
    job_id = imports.start_import(ws.hub, ws.project_id, "file", "prediction", source=path, input_name=str(path))
    blob = jobs.get(ws.hub, job_id).input_blob
    assert blob is not None and ws.hub.blobs.get(blob) == path.read_bytes()
    shutil.rmtree(tmp_path / "home" / "exports", ignore_errors=True)
    path.unlink()  # the job runs from its own copy
    job = jobs.run(ws.hub, job_id)
    assert job is not None and job.state is JobState.FINISHED and job.succeeded == 5


def test_an_input_file_that_is_not_there_is_refused_before_any_job_exists(ws: Workspace, tmp_path: Path) -> None:
    from labelport.errors import MediaError

    missing = tmp_path / "nope.ndjson"
    with pytest.raises(MediaError) as raised:
        imports.start_import(ws.hub, ws.project_id, "x", "prediction", source=missing)
    assert str(raised.value) == f"input file {str(missing)!r} does not exist or is not a file"
    assert jobs.list_jobs(ws.hub) == []
