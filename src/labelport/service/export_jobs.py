"""Exports as jobs: a row of ``jobs`` (kind export), its output a file under ``$LABELPORT_HOME/exports/<job id>/``.

``start_export`` checks params and filters before it records anything (bad ones raise ``ValidationError``
at once) and records a QUEUED job; ``service.jobs.run`` calls ``execute``, which writes the file of the
job's format. How masks and per-frame files are linked is the job's ``links`` option:

- ``server`` (a server's jobs): masks as server paths
  (``/api/v1/projects/{project}/annotations/{feature}/index/{frame}/mask``) and legacy per-frame files as
  ``/api/v1/exports/{job}/files/{path}``; the server turns them into absolute, signed URLs when it serves
  the file, so the links are fresh whenever the export is downloaded;
- ``files`` (embedded): mask PNGs and per-frame files written in the export's folder, linked as ``file://``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from labelport.errors import ValidationError
from labelport.formats.labelbox_export import ExportParams
from labelport.model.jobs import ExportJobInfo, JobFormat, JobInfo, JobKind
from labelport.service import exports, jobs
from labelport.service.exports import ExportFilters
from labelport.service.hub import Hub


class ExportLinks(StrEnum):
    SERVER = "server"  # server paths, signed when the file is served
    FILES = "files"  # files in the export's folder, linked as file:// URLs


EXPORT_FORMATS = (JobFormat.LABELBOX_EXPORT_V2, JobFormat.LABELBOX_EXPORT_LABELS)
FILE_NAMES: dict[JobFormat, str] = {
    JobFormat.LABELBOX_EXPORT_V2: "export.ndjson",  # NDJSON, one data row per line
    JobFormat.LABELBOX_EXPORT_LABELS: "labels.json",  # the legacy JSON array of labels
}


def exports_root(hub: Hub) -> Path:
    """``$LABELPORT_HOME/exports`` (the blob store sits in ``$LABELPORT_HOME/blobs``)."""
    return hub.blobs.root.parent / "exports"


def output_folder(hub: Hub, job_id: str) -> Path:
    return exports_root(hub) / job_id


def output_path(hub: Hub, job: ExportJobInfo) -> Path:
    """The file an export writes (it exists once the job is FINISHED)."""
    return output_folder(hub, job.id) / FILE_NAMES[job.format]


def files_path(job_id: str, relative: str) -> str:
    """The server path that serves a file of an export's folder (frames files of the legacy export)."""
    return f"/api/v1/exports/{job_id}/files/{relative}"


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
    fmt: JobFormat | str = JobFormat.LABELBOX_EXPORT_V2,
    start: str | None = None,
    end: str | None = None,
    links: ExportLinks | str = ExportLinks.SERVER,
    name: str | None = None,
) -> str:
    """Record a QUEUED export of a project and return its id; params and filters are checked first.

    ``fmt=labelbox_export_labels`` is the legacy export of labels created in [``start``, ``end``].
    """
    fmt = JobFormat.parse(fmt)
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(
            f"format {fmt.value} is not an export format; use one of {', '.join(f.value for f in EXPORT_FORMATS)}",
            field="format",
            value=fmt.value,
        )
    links = ExportLinks(links)
    if fmt is JobFormat.LABELBOX_EXPORT_V2:
        ExportParams.parse(params)
        ExportFilters.parse(filters)
        options: dict[str, Any] = {"params": dict(params or {}), "filters": dict(filters or {})}
    else:
        options = {"filters": _legacy_filters(start, end)}
    options["links"] = links.value
    return jobs.create(hub, JobKind.EXPORT, fmt, name=name or fmt.value, project_id=project_id, options=options)


def get_export_job(hub: Hub, job_id: str) -> ExportJobInfo:
    return ExportJobInfo.of(jobs.get(hub, job_id, JobKind.EXPORT))


Writer = Callable[[Hub, JobInfo, Path, ExportLinks, jobs.Recorder], tuple[int, list[dict[str, Any]]]]


def _write_export_v2(
    hub: Hub, job: JobInfo, folder: Path, links: ExportLinks, recorder: jobs.Recorder
) -> tuple[int, list[dict[str, Any]]]:
    project_id = str(job.project_id)
    params, filters = job.options.get("params"), job.options.get("filters")
    recorder.total = exports.count(hub, project_id, filters)
    mask_url = exports.server_mask_url("", project_id) if links is ExportLinks.SERVER else None
    result = exports.run_export(hub, project_id, params, filters, folder, mask_url=mask_url, progress=recorder)
    return result.rows, result.errors


def _write_export_labels(
    hub: Hub, job: JobInfo, folder: Path, links: ExportLinks, recorder: jobs.Recorder
) -> tuple[int, list[dict[str, Any]]]:
    filters = job.options.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise ValidationError(f"the stored filters of export {job.id} are not a mapping", field="filters")
    start, end = filters.get("start"), filters.get("end")
    _legacy_filters(start, end)
    project_id = str(job.project_id)
    if links is ExportLinks.SERVER:
        rows = exports.legacy_rows(
            hub,
            project_id,
            start=start,
            end=end,
            folder=folder,
            mask_url=exports.server_mask_url("", project_id),
            link=lambda path: files_path(job.id, path.relative_to(folder).as_posix()),
        )
    else:
        rows = exports.legacy_rows(hub, project_id, start=start, end=end, folder=folder)
    legacy = []
    for row in rows:
        legacy.append(row)
        recorder(1)
    target = folder / FILE_NAMES[job.format]
    partial = folder / f".{target.name}.partial"
    partial.write_bytes(orjson.dumps(legacy))
    partial.replace(target)
    return len(legacy), []


WRITERS: dict[JobFormat, Writer] = {
    JobFormat.LABELBOX_EXPORT_V2: _write_export_v2,
    JobFormat.LABELBOX_EXPORT_LABELS: _write_export_labels,
}


def execute(hub: Hub, job: JobInfo, on_progress: jobs.Progress | None) -> None:
    """Write the export's file (beside its final name, renamed at the end, so a reader never sees half of
    it; running a job again rewrites it whole) and finish the job with the rows written and the problems."""
    writer = WRITERS.get(job.format)
    if writer is None:
        raise ValidationError(f"format {job.format.value} cannot be exported", field="format", value=job.format.value)
    links = job.options.get("links", ExportLinks.SERVER.value)
    if links not in tuple(ExportLinks):
        raise ValidationError(
            f"export {job.id} has links {links!r}; expected server or files", field="links", value=links
        )
    folder = output_folder(hub, job.id)
    folder.mkdir(parents=True, exist_ok=True)
    written, errors = writer(hub, job, folder, ExportLinks(links), jobs.Recorder(hub, job.id, also=on_progress))
    output = f"{job.id}/{FILE_NAMES[job.format]}"
    jobs.finish(hub, job.id, total=written, succeeded=written, failed=len(errors), errors=errors, output=output)


__all__ = [
    "EXPORT_FORMATS",
    "FILE_NAMES",
    "ExportJobInfo",
    "ExportLinks",
    "execute",
    "exports_root",
    "files_path",
    "get_export_job",
    "output_folder",
    "output_path",
    "start_export",
]
