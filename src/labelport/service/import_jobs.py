"""Running an import job: its kept input, through the reader of its format, into ``imports.run_import``.

``service.jobs.run`` calls ``execute`` for every import, wherever it runs (embedded SDK, CLI, server
threads). The input is a blob of the job; problem locations name the uploader's file (``input_name``),
never the blob's path on the server. Mask files an import names are read under the settings' file roots
and, for a file imported in this process, that file's folder (``file_roots``); embedded (not serving) also
the working folder (``service.files.FilePolicy.for_imports``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, cast

from labelport.errors import LabelportError
from labelport.model.jobs import JobInfo
from labelport.service import imports, jobs
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
    with hub.blobs.open(job.input_blob) as handle:
        source = cast(IO[bytes], _Named(handle, name if isinstance(name, str) else None))
        options = job.options.get("reader_options") or {}
        kind = job.options["label_kind"]
        base = Path(job.options["base"]) if isinstance(job.options.get("base"), str) else None
        _entry, items = imports.reader(
            hub, source, job.format, kind, roots=roots, options=options, base=base, project_id=job.project_id
        )
        imports.run_import(hub, job.id, items, roots=roots, base=base, progress=recorder, owner=job.claimed_by)


__all__ = ["execute"]
