"""Running an import job: its kept input, through the reader of its format, into ``imports.run_import``.

``service.jobs.run`` calls ``execute`` for every import, wherever it runs (embedded SDK, CLI, server
threads). The input is a blob of the job; problem locations name the uploader's file (``input_name``),
never the blob's path on the server. Mask files an import names are read under the settings' file roots
and, for a file imported in this process, that file's folder (``file_roots``); embedded (not serving) also
the working folder (``service.files.FilePolicy.for_imports``).

An items import's input is an archive (``service.items.start_archive_import``): it is extracted into the
store's ``uploads/<job id>`` folder, checked member by member first (``service.archives``), and the items
list is read with that folder as the only one readable (no file roots, no URLs). The folder stays while the
data rows the import created name its files, and is removed when the import created none.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, BinaryIO, cast

from labelport.errors import LabelportError
from labelport.model.jobs import JobInfo
from labelport.service import archives, imports, items, jobs
from labelport.service.hub import Hub


class _Named:
    """The blob's stream under the uploader's file name, so statuses never show the server's blob path."""

    def __init__(self, handle: BinaryIO, name: str | None) -> None:
        self._handle = handle
        self.name = name

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._handle)


def _execute_items(hub: Hub, job: JobInfo, archive: Path, progress: jobs.Progress) -> None:
    """Run a claimed archive import job (``items.start_archive_import``) on its archive: extract it, then
    import the items list reading only the extracted files, into the job."""
    settings = job.options["items"]
    assert job.project_id is not None  # jobs.run fails the jobs of deleted projects first
    folder = items.uploads_folder(hub, job.id)
    shutil.rmtree(folder, ignore_errors=True)  # left by a run of this job that died part way
    archives.extract(archive, folder, max_bytes=settings["max_bytes"], max_members=settings["max_members"])
    try:
        source = items.items_file(folder, settings["file"])
        # Only the archive is readable: no LABELPORT_FILE_ROOTS, no URLs; it lies in the store's own home.
        only = replace(hub.settings, file_roots=(folder,), protected=(), allow_http=False, serving=True)
        with source.open("rb") as handle:
            result = items.import_items(
                replace(hub, settings=only),
                job.project_id,
                cast(IO[bytes], _Named(handle, settings["file"])),
                name=job.name,
                kind=job.options["label_kind"],
                fmt=job.format,
                dataset_id=settings["dataset_id"],
                create_features=settings["create_features"],
                options={**settings["reader_options"], "base_folder": str(source.parent)},
                roots=(folder,),
                progress=progress,
                job=job,
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if result.created == 0:
        shutil.rmtree(folder, ignore_errors=True)


def execute(hub: Hub, job: JobInfo, on_progress: jobs.Progress | None) -> None:
    """Validate and store the job's annotations from its kept input; the job ends FINISHED (possibly with
    failed annotations, each with its status) or, raised here, FAILED with the reason."""
    if job.input_blob is None:
        raise LabelportError("the job's input was not kept, so it cannot run")
    if not hub.blobs.has(job.input_blob):
        raise LabelportError(f"the job's input (blob {job.input_blob}) is missing from the blob store")
    name = job.options.get("input_name")
    roots = tuple(Path(r) for r in job.options.get("file_roots", ()))
    # Checking (the import's first phase) holds no lock, so its progress is written as it goes.
    recorder = jobs.Recorder(hub, job.id, also=on_progress, owner=job.claimed_by)
    if "items" in job.options:  # an archive holding an items list and its media (service.items)
        with tempfile.NamedTemporaryFile(dir=hub.blobs.scratch(), prefix=".archive-") as copy:
            with hub.blobs.open(job.input_blob) as handle:
                shutil.copyfileobj(handle, copy)
            copy.flush()
            _execute_items(hub, job, Path(copy.name), recorder)
        return
    with hub.blobs.open(job.input_blob) as handle:
        source = cast(IO[bytes], _Named(handle, name if isinstance(name, str) else None))
        options = job.options.get("reader_options") or {}
        kind = job.options["label_kind"]
        base = Path(job.options["base"]) if isinstance(job.options.get("base"), str) else None
        _entry, found = imports.reader(
            hub, source, job.format, kind, roots=roots, options=options, base=base, project_id=job.project_id
        )
        imports.run_import(hub, job.id, found, roots=roots, base=base, progress=recorder, owner=job.claimed_by)


__all__ = ["execute"]
