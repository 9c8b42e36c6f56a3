"""A job is claimed once, by a lease in the database: two runs of the same job run it once; a run whose
lease lapsed and was taken over cannot finish (an import rolls back); leases are renewed while a job works;
recovery and sweeps leave jobs with a live lease alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelport.errors import ValidationError
from labelport.formats.labelbox import ndjson as labelbox_ndjson
from labelport.jobs import Sweeper
from labelport.model.jobs import JobState
from labelport.service import export_jobs, imports, jobs
from labelport.service.hub import Hub, Settings
from labelport.store import Database
from labelport.store.schema import annotation_rows, import_status_pages
from labelport.store.schema import jobs as jobs_table
from tests.jobs.test_jobs import Workspace, ndjson
from tests.jobs.test_jobs import ws as ws


def _lapse(ws: Workspace, job_id: str) -> None:
    """As if the job's runner died a while ago: its lease is in the past."""
    past = datetime.now(UTC) - timedelta(seconds=5)
    ws.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(lease_expires_at=past))


def test_a_claim_holds_until_its_lease_lapses(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "x", "prediction", source=ndjson(2))
    first = jobs.claim(ws.hub, job_id)
    assert first is not None
    assert jobs.claim(ws.hub, job_id) is None  # held
    job = jobs.get(ws.hub, job_id)
    assert (job.state, job.claimed_by, job.attempts) == (JobState.RUNNING, first, 1)
    assert job.lease_expires_at is not None
    assert jobs.recover(ws.hub) == ([], [])  # a live lease: nobody else runs it
    _lapse(ws, job_id)
    assert jobs.recover(ws.hub) == ([job_id], [])
    second = jobs.claim(ws.hub, job_id)
    assert second is not None and second != first
    assert jobs.get(ws.hub, job_id).attempts == 2


def test_two_processes_running_the_same_job_import_it_once(ws: Workspace, database_url: str) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "twice", "prediction", source=ndjson(600))
    results: list[JobState | None] = []

    def run() -> None:
        # Each "process" opens its own engine, as a worker does.
        db = Database(database_url, migrate=False)
        try:
            hub = Hub(db=db, blobs=ws.hub.blobs, organization_id=ws.hub.organization_id, actor="w")
            job = jobs.run(hub, job_id)
            results.append(None if job is None else job.state)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The run that lost the claim returns the job as it found it (RUNNING under the other's claim, or done).
    assert len(results) == 2 and JobState.FINISHED in results
    job = jobs.get(ws.hub, job_id)
    assert (job.attempts, job.succeeded) == (1, 600)
    assert ws.count(annotation_rows) == 600
    assert ws.count(import_status_pages) == 1


def test_a_run_whose_lease_was_taken_over_rolls_back(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "slow", "prediction", source=ndjson(3))
    stale = jobs.claim(ws.hub, job_id)
    assert stale is not None
    _lapse(ws, job_id)  # the first runner was paused past its lease...
    taken = jobs.run(ws.hub, job_id)  # ...and another ran the job to its end
    assert taken is not None and (taken.state, taken.attempts, taken.succeeded) == (JobState.FINISHED, 2, 3)
    before = ws.count(annotation_rows)

    # The first runner wakes up and commits other annotations: its transaction rolls back whole.
    others = [{**item, "uuid": f"00000000-0000-4000-8000-00000000{i:04d}"} for i, item in enumerate(_boxes(5))]
    with pytest.raises(jobs.LeaseLostError, match="taken over by another runner"):
        imports.run_import(ws.hub, job_id, labelbox_ndjson.read(_lines(others)), owner=stale)
    assert ws.count(annotation_rows) == before == 3
    assert jobs.get(ws.hub, job_id) == taken  # the job is as the second run left it

    # Nor can the stale run fail it, or write its progress.
    jobs.fail(ws.hub, job_id, "stale", owner=stale)
    jobs.progress(ws.hub, job_id, 1, 1, owner=stale)
    assert jobs.get(ws.hub, job_id) == taken


def test_an_attempt_that_lost_its_job_leaves_it_to_the_new_runner(ws: Workspace) -> None:
    job_id = imports.start_import(ws.hub, ws.project_id, "lost", "prediction", source=ndjson(1))
    seen: list[str | None] = []

    def work(job: jobs.JobInfo) -> None:
        seen.append(job.claimed_by)
        _lapse(ws, job_id)
        assert jobs.claim(ws.hub, job_id) is not None  # another runner takes over meanwhile
        raise RuntimeError("this run breaks")

    ended = jobs.attempt(ws.hub, job_id, work)
    # The breaking run could not fail the job: the new runner holds it.
    assert (ended.state, ended.attempts, ended.error) == (JobState.RUNNING, 2, None)
    assert ended.claimed_by != seen[0]


def test_a_running_job_renews_its_lease(ws: Workspace) -> None:
    hub = replace(ws.hub, settings=Settings(job_lease_seconds=1.0))
    job_id = export_jobs.start_export(hub, ws.project_id, links="files")
    leases: list[datetime | None] = []
    taken: list[str | None] = []

    def work(job: jobs.JobInfo) -> None:
        for _ in range(5):
            time.sleep(0.5)
            leases.append(jobs.get(hub, job_id).lease_expires_at)
            taken.append(jobs.claim(hub, job_id))
        jobs.finish(hub, job_id, total=0, succeeded=0, failed=0, owner=job.claimed_by)

    ended = jobs.attempt(hub, job_id, work)
    assert (ended.state, ended.attempts, ended.lease_expires_at) == (JobState.FINISHED, 1, None)
    assert taken == [None] * 5  # 2.5 s of work under a 1 s lease: renewed, never lapsed
    assert len({lease for lease in leases}) >= 3


def test_the_sweeper_submits_only_jobs_nobody_runs(ws: Workspace) -> None:
    fresh = imports.start_import(ws.hub, ws.project_id, "fresh", "prediction", source=ndjson(1))
    old = imports.start_import(ws.hub, ws.project_id, "old", "prediction", source=ndjson(1))
    running = imports.start_import(ws.hub, ws.project_id, "running", "prediction", source=ndjson(1))
    dead = imports.start_import(ws.hub, ws.project_id, "dead", "prediction", source=ndjson(1))
    long_ago = datetime.now(UTC) - timedelta(seconds=30)
    ws.execute(jobs_table.update().where(jobs_table.c.id.in_([old, running, dead])).values(created_at=long_ago))
    assert jobs.claim(ws.hub, running) is not None
    assert jobs.claim(ws.hub, dead) is not None
    _lapse(ws, dead)
    submitted: list[str] = []
    sweeper = Sweeper(ws.hub, submitted.append, interval=1, grace=10, pending=lambda: {old})
    assert sweeper.once() == [dead]  # fresh is in its grace period, old has a message waiting, running is held
    assert submitted == [dead]
    assert Sweeper(ws.hub, submitted.append, interval=1, grace=10).once() == [old, dead]
    assert fresh not in submitted


def test_the_lease_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELPORT_JOB_LEASE_SECONDS", "soon")
    with pytest.raises(ValidationError, match="LABELPORT_JOB_LEASE_SECONDS must be a number of seconds, found 'soon'"):
        Settings.from_env()
    monkeypatch.setenv("LABELPORT_JOB_LEASE_SECONDS", "0")
    with pytest.raises(ValidationError, match=r"the job lease is 1 to 86400 seconds, found 0\.0"):
        Settings.from_env()
    monkeypatch.setenv("LABELPORT_JOB_LEASE_SECONDS", "7.5")
    assert Settings.from_env().job_lease_seconds == 7.5


def test_migration_0007_adds_leases_and_goes_back(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    from labelport.store.database import _alembic_config

    db = Database(database_url)
    config = _alembic_config(db.engine)
    try:
        command.downgrade(config, "0006")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("jobs")}
        assert not columns & {"claimed_by", "lease_expires_at", "attempts"}
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'o', :t)"), {"t": _T})
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, organization_id, kind, format, state, name, options, progress_done, "
                    "total, succeeded, failed, errors, created_at) VALUES ('j1', 'o1', 'export', "
                    "'labelbox_export_v2', 'RUNNING', 'n', '{}', 0, 0, 0, 0, '[]', :t)"
                ),
                {"t": _T},
            )
        command.upgrade(config, "0007")
        with db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT state, claimed_by, lease_expires_at, attempts FROM jobs")).one()
        assert tuple(row) == ("RUNNING", None, None, 0)  # claimed before leases: any runner may take it over
        command.downgrade(config, "0006")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, state FROM jobs")).one() == ("j1", "RUNNING")
    finally:
        command.upgrade(config, "head")
        db.dispose()


_T = datetime(2026, 1, 2, tzinfo=UTC)


def _boxes(count: int) -> Iterator[dict[str, object]]:
    from tests.jobs.test_jobs import box

    return (box(i) for i in range(count))


def _lines(items: list[dict[str, object]]) -> bytes:
    import orjson

    return b"\n".join(orjson.dumps(i) for i in items)


def test_a_claim_of_a_dead_process_of_this_host_is_taken_over_at_once(ws: Workspace) -> None:
    import socket

    job_id = imports.start_import(ws.hub, ws.project_id, "orphan", "prediction", source=ndjson(2))
    dead = f"{socket.gethostname()}:{_dead_pid()}:abc"
    alive = f"{socket.gethostname()}:1:abc"  # pid 1 always runs
    far = datetime.now(UTC) + timedelta(hours=1)
    for owner, expected in ((alive, []), (dead, [job_id])):
        ws.execute(
            jobs_table.update()
            .where(jobs_table.c.id == job_id)
            .values(state="RUNNING", claimed_by=owner, lease_expires_at=far)
        )
        assert jobs.recover(ws.hub) == (expected, [])
    assert jobs.run(ws.hub, job_id).state is JobState.FINISHED  # type: ignore[union-attr]


def _dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
