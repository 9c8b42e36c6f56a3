"""Exports run as jobs on a server: the job is a row of ``export_jobs``, its output a file under
``$LABELPORT_HOME/exports/<job id>/``.

``start_export`` checks params and filters before it records anything (bad ones raise ``ValidationError``
at once) and records a QUEUED job; a runner calls ``run_export_job``. Masks are linked as server paths
(``/api/v1/projects/{project}/annotations/{feature}/index/{frame}/mask``) and legacy per-frame files as
``/api/v1/exports/{job}/files/{path}``: the server turns them into absolute, signed URLs when it serves the
file, so the links are fresh whenever the export is downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from labelport.errors import LabelportError, NotFoundError
from labelport.model.ids import new_id
from labelport.service import exports
from labelport.service.exports import ExportFilters
from labelport.service.hub import Hub, now
from labelport.service.projects import get_project
from labelport.store.schema import export_jobs

log = logging.getLogger(__name__)

UNFINISHED = ("QUEUED", "RUNNING")


class ExportFormat(StrEnum):
    EXPORT_V2 = "export_v2"  # NDJSON, one data row per line
    EXPORT_LABELS = "export_labels"  # the legacy JSON array of labels

    @property
    def file_name(self) -> str:
        return "export.ndjson" if self is ExportFormat.EXPORT_V2 else "labels.json"

    @property
    def registered(self) -> str:
        """The registry name of the format that writes it."""
        return "labelbox_export_v2" if self is ExportFormat.EXPORT_V2 else "labelbox_export_labels"


@dataclass(frozen=True, slots=True)
class ExportJobInfo:
    id: str
    project_id: str
    format: ExportFormat
    state: str  # QUEUED | RUNNING | FINISHED | FAILED
    rows: int
    errors: list[dict[str, Any]]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def exports_root(hub: Hub) -> Path:
    """``$LABELPORT_HOME/exports`` (the blob store sits in ``$LABELPORT_HOME/blobs``)."""
    return hub.blobs.root.parent / "exports"


def output_folder(hub: Hub, job_id: str) -> Path:
    return exports_root(hub) / job_id


def output_path(hub: Hub, job: ExportJobInfo) -> Path:
    return output_folder(hub, job.id) / job.format.file_name


def _legacy_filters(start: str | None, end: str | None) -> dict[str, Any]:
    raw = {"label_created_at": [start, end]} if start is not None or end is not None else {}
    ExportFilters.parse(raw)  # the same date rules as the export filter, checked now
    return {"start": start, "end": end}


def start_export(
    hub: Hub,
    project_id: str,
    params: Mapping[str, Any] | None = None,
    filters: Mapping[str, Any] | None = None,
    *,
    kind: ExportFormat | str = ExportFormat.EXPORT_V2,
    start: str | None = None,
    end: str | None = None,
) -> str:
    """Record a QUEUED export of a project and return its id; params and filters are checked first.

    ``kind="export_labels"`` is the legacy export of labels created in [``start``, ``end``].
    """
    kind = ExportFormat(kind)
    get_project(hub, project_id)
    if kind is ExportFormat.EXPORT_V2:
        exports.check_options(kind.registered, {"params": params or {}})
        ExportFilters.parse(filters)
        stored_params, stored_filters = dict(params or {}), dict(filters or {})
    else:
        stored_params, stored_filters = {}, _legacy_filters(start, end)
    job_id = new_id()
    with hub.transaction() as conn:
        conn.execute(
            export_jobs.insert().values(
                id=job_id,
                project_id=project_id,
                format=kind.value,
                state="QUEUED",
                params=stored_params,
                filters=stored_filters,
                rows=0,
                errors=[],
                created_at=now(),
                created_by=hub.actor,
            )
        )
    return job_id


def _info(row: Any) -> ExportJobInfo:
    return ExportJobInfo(
        id=row.id,
        project_id=row.project_id,
        format=ExportFormat(row.format),
        state=row.state,
        rows=row.rows,
        errors=list(row.errors or []),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def get_export_job(hub: Hub, job_id: str) -> ExportJobInfo:
    with hub.read() as conn:
        row = conn.execute(sa.select(export_jobs).where(export_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFoundError(f"no export job with id {job_id!r}")
    return _info(row)


def _finish(hub: Hub, job_id: str, **values: Any) -> None:
    with hub.transaction() as conn:
        conn.execute(export_jobs.update().where(export_jobs.c.id == job_id).values(finished_at=now(), **values))


def fail_export(hub: Hub, job_id: str, reason: str) -> None:
    _finish(hub, job_id, state="FAILED", error=reason)


def files_path(job_id: str, relative: str) -> str:
    """The server path that serves a file of an export's folder (frames files of the legacy export)."""
    return f"/api/v1/exports/{job_id}/files/{relative}"


def run_export_job(hub: Hub, job_id: str) -> None:
    """Write the output of a queued (or interrupted) export; the job ends FINISHED or FAILED with the reason.

    The file is written beside its final name and renamed at the end, so a reader never sees half of it;
    running a job again rewrites it whole.
    """
    job = get_export_job(hub, job_id)
    if job.state not in UNFINISHED:
        return
    with hub.transaction() as conn:
        conn.execute(export_jobs.update().where(export_jobs.c.id == job_id).values(state="RUNNING", started_at=now()))
    with hub.read() as conn:
        stored = conn.execute(sa.select(export_jobs.c.params, export_jobs.c.filters).where(export_jobs.c.id == job_id))
        params, filters = stored.one()
    folder = output_folder(hub, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / job.format.file_name
    mask_url = exports.server_mask_url("", job.project_id)
    try:
        if job.format is ExportFormat.EXPORT_V2:
            report = exports.export(
                hub, job.project_id, job.format.registered, target, options={"params": params}, filters=filters,
                link_mask=mask_url,
            )  # fmt: skip
        else:
            start, end = filters.get("start"), filters.get("end")
            legacy = {"label_created_at": [start, end]} if start is not None or end is not None else None
            report = exports.export(
                hub,
                job.project_id,
                job.format.registered,
                folder,
                options={"link_file": lambda path: files_path(job_id, path.relative_to(folder).as_posix())},
                filters=legacy,
                link_mask=mask_url,
            )
        written = report.items
        errors = [{"message": str(p)} for p in report.problems]
    except LabelportError as exc:
        fail_export(hub, job_id, str(exc))
        return
    except Exception:
        log.exception("export job %s failed", job_id)
        fail_export(hub, job_id, "the export hit an unexpected error; see the server's log")
        return
    _finish(hub, job_id, state="FINISHED", rows=written, errors=errors)


__all__ = [
    "ExportFormat",
    "ExportJobInfo",
    "exports_root",
    "fail_export",
    "files_path",
    "get_export_job",
    "output_folder",
    "output_path",
    "run_export_job",
    "start_export",
]
