"""Exports as jobs: a row of ``jobs`` (kind export), its output files written under
``$LABELPORT_HOME/exports/<job id>/`` and, for a server's export, published to the blob store (on S3 they are
uploaded there, so every API replica serves them; on the local disk they stay where they were written).

``start_export`` checks the format's options and the filters before it records anything (bad ones raise
``ValidationError`` at once) and records a QUEUED job; ``service.jobs.run`` calls ``execute``, which writes
the output with the job's registered format (``service.exports.export``). How masks and per-frame files
are linked is the job's ``links`` option:

- ``server`` (a server's jobs): masks as server paths
  (``/api/v1/projects/{project}/annotations/{feature}/index/{frame}/mask``) and legacy per-frame files as
  ``/api/v1/exports/{job}/files/{path}``; the server turns them into absolute, signed URLs when it serves
  the file, so the links are fresh whenever the export is downloaded;
- ``files`` (embedded): mask PNGs and per-frame files written in the export's folder, linked as ``file://``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from labelport.errors import ValidationError
from labelport.formats import FormatEntry, Output, get_format
from labelport.model.jobs import ExportJobInfo, JobInfo, JobKind
from labelport.service import exports, jobs
from labelport.service.exports import ExportFilters
from labelport.service.hub import Hub


class ExportLinks(StrEnum):
    SERVER = "server"  # server paths, signed when the file is served
    FILES = "files"  # files in the export's folder, linked as file:// URLs


def file_name(entry: FormatEntry) -> str:
    """The file an export of ``entry`` writes in its job's folder (for a folder format: its main file)."""
    name: str = getattr(entry.module, "FILE_NAME", f"export.{entry.name}")
    return name


def exports_root(hub: Hub) -> Path:
    """``$LABELPORT_HOME/exports``: where exports are written, and where embedded ones stay."""
    return hub.blobs.home / "exports"


def output_folder(hub: Hub, job_id: str) -> Path:
    return hub.blobs.output_folder(job_id)


def output_path(hub: Hub, job: ExportJobInfo) -> Path:
    """The local file an embedded export (links ``files``) writes; it exists once the job is FINISHED. A
    server's export is read through ``hub.blobs.open_output(job.id, output_name(job))`` instead."""
    return output_folder(hub, job.id) / output_name(job)


def output_name(job: ExportJobInfo | JobInfo) -> str:
    """The main file of an export, relative to its output folder."""
    return file_name(get_format(job.format))


def files_path(job_id: str, relative: str) -> str:
    """The server path that serves a file of an export's folder (frames files of the legacy export)."""
    return f"/api/v1/exports/{job_id}/files/{relative}"


def _legacy_filters(start: str | None, end: str | None) -> dict[str, Any]:
    raw = {"label_created_at": [start, end]} if start is not None or end is not None else {}
    ExportFilters.parse(raw)  # the same date rules as the export filter, checked now
    return raw


def start_export(
    hub: Hub,
    project_id: str,
    params: Mapping[str, Any] | None = None,
    filters: Mapping[str, Any] | None = None,
    *,
    fmt: str = "labelbox_export_v2",
    start: str | None = None,
    end: str | None = None,
    links: ExportLinks | str = ExportLinks.SERVER,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """Record a QUEUED export of a project in a registered format that writes; return its id. The format's
    options (``params`` for export_v2, or ``options``) and the filters are checked first.

    ``fmt=labelbox_export_labels`` is the legacy export of labels created in [``start``, ``end``].
    """
    entry = get_format(fmt, reading=False)
    links = ExportLinks(links)
    writer_options = dict(options or {})
    if params is not None or entry.name == "labelbox_export_v2":
        writer_options["params"] = dict(params or {})
    exports.check_options(entry.name, writer_options)
    if start is not None or end is not None:
        if filters:
            raise ValidationError("give filters or start and end, not both", field="filters", value=dict(filters))
        filters = _legacy_filters(start, end)
    ExportFilters.parse(filters)
    stored = {"options": writer_options, "filters": dict(filters or {}), "links": links.value}
    return jobs.create(hub, JobKind.EXPORT, entry.name, name=name or entry.name, project_id=project_id, options=stored)


def get_export_job(hub: Hub, job_id: str) -> ExportJobInfo:
    return ExportJobInfo.of(jobs.get(hub, job_id, JobKind.EXPORT))


def execute(hub: Hub, job: JobInfo, on_progress: jobs.Progress | None) -> None:
    """Write the export's output with its format (a file is written beside its final name and renamed at the
    end, so a reader never sees half of it; running a job again rewrites it whole) and finish the job with
    the rows written and what could not be written or held."""
    entry = get_format(job.format, reading=False)
    links = job.options.get("links", ExportLinks.SERVER.value)
    if links not in tuple(ExportLinks):
        raise ValidationError(
            f"export {job.id} has links {links!r}; expected server or files", field="links", value=links
        )
    project_id = str(job.project_id)
    folder = output_folder(hub, job.id)
    # Exports hold a project's labels: readable by the server's user only, like the database and blobs.
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    options = dict(job.options.get("options") or {})
    if ExportLinks(links) is ExportLinks.SERVER:
        link_mask = exports.server_mask_url("", project_id)
        if entry.output is Output.FOLDER:
            options["link_file"] = lambda path: files_path(job.id, path.relative_to(folder).as_posix())
    else:
        link_mask = None
    filters = job.options.get("filters") or {}
    recorder = jobs.Recorder(hub, job.id, also=on_progress, owner=job.claimed_by)
    recorder.total = exports.count(hub, project_id, filters)
    sink = folder if entry.output is Output.FOLDER else folder / file_name(entry)
    report = exports.export(
        hub,
        project_id,
        entry.name,
        sink,
        options=options,
        filters=filters,
        link_mask=link_mask,
        mask_folder=folder / "masks",
        progress=recorder,
    )
    errors = [{"message": str(p)} for p in report.problems] + [
        {"message": f"dropped: {loss}"} for loss in report.losses
    ]
    for written in folder.rglob("*"):
        written.chmod(0o700 if written.is_dir() else 0o600)
    if ExportLinks(links) is ExportLinks.SERVER:
        hub.blobs.publish(job.id)  # every replica serves it from the blob store
    output = f"{job.id}/{file_name(entry)}"
    jobs.finish(
        hub,
        job.id,
        total=report.items,
        succeeded=report.items,
        failed=len(errors),
        errors=errors,
        output=output,
        owner=job.claimed_by,
    )


__all__ = [
    "ExportJobInfo",
    "ExportLinks",
    "execute",
    "exports_root",
    "file_name",
    "files_path",
    "get_export_job",
    "output_folder",
    "output_name",
    "output_path",
    "start_export",
]
