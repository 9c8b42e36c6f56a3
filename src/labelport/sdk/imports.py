"""Annotation imports as the platforms spell them: ``MALPredictionImport`` and ``LabelImport``.

``create_from_objects`` takes NDJSON dicts or ``labelport.types.Label`` objects; ``create_from_file`` an
NDJSON file or JSON array file. Both return an ``ImportJob`` with ``wait_until_done()``, ``state``,
``errors`` and ``statuses`` (one per annotation, in Labelbox's shape: ``formats.labelbox.statuses``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelport.errors import LabelportError
from labelport.formats.labelbox.statuses import status
from labelport.model.jobs import ImportJobInfo, JobState
from labelport.model.label import LabelKind

if TYPE_CHECKING:
    from labelport.sdk.client import Client


class ImportJob:
    """A finished (embedded) or running (server) import; ``statuses`` lists every annotation's outcome."""

    def __init__(self, client: Client, info: ImportJobInfo) -> None:
        self.client = client
        self.info = info

    @property
    def uid(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def state(self) -> JobState:
        """RUNNING, FINISHED (possibly with failed annotations, see ``errors``) or FAILED (see ``error``).

        A ``JobState``, which is a str: ``job.state == "FINISHED"`` holds as on the platforms."""
        return self.info.state

    @property
    def error(self) -> str | None:
        return self.info.error

    def wait_until_done(self, sleep_time_seconds: float = 1.0, show_progress: bool = False) -> None:
        """Poll until the job is FINISHED or FAILED (at once for an embedded import, which is done)."""
        self._poll(sleep_time_seconds, timeout_seconds=None)

    def wait_till_done(self, timeout_seconds: float = 300.0) -> None:
        self._poll(1.0, timeout_seconds)

    def _poll(self, sleep_seconds: float, timeout_seconds: float | None) -> None:
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        self.refresh()
        while not self.info.state.done:
            if deadline is not None and time.monotonic() > deadline:
                raise LabelportError(f"import {self.uid} is still {self.info.state.value} after {timeout_seconds} s")
            time.sleep(max(0.05, min(sleep_seconds, 5.0)))
            self.refresh()

    def refresh(self) -> None:
        self.info = self.client.backend.get_import_job(self.uid)

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """Every annotation's outcome as Labelbox reports it (``formats.labelbox.statuses``)."""
        return [status(s) for s in self.client.backend.import_statuses(self.uid, False)]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The FAILURE statuses, each with its reasons (line, JSON path and offending value included)."""
        return [status(s) for s in self.client.backend.import_statuses(self.uid, True)]

    def __repr__(self) -> str:
        return f"<ImportJob {self.uid} name={self.name!r} state={self.state.value} failed={self.info.failed}>"


def _as_ndjson(objects: Iterable[Any]) -> list[Mapping[str, Any]]:
    """NDJSON dicts as they are; Label objects serialised the way the Labelbox SDK serialises them."""
    items = list(objects)
    if all(isinstance(o, Mapping) for o in items):
        return items
    from labelport import types

    out: list[Mapping[str, Any]] = [o for o in items if isinstance(o, Mapping)]
    labels = [o for o in items if not isinstance(o, Mapping)]
    out.extend(types.NDJsonConverter.serialize(labels))
    return out


class _AnnotationImport:
    kind: LabelKind

    @classmethod
    def create_from_objects(
        cls, client: Client, project_id: str, name: str, predictions: Iterable[Any] | None = None, **kwargs: Any
    ) -> ImportJob:
        objects = predictions if predictions is not None else kwargs.pop("labels", None)
        if objects is None:
            raise TypeError("create_from_objects needs the annotations (predictions= or labels=)")
        info = client.backend.import_annotations(project_id, name, list(_as_ndjson(objects)), cls.kind)
        return ImportJob(client, info)

    @classmethod
    def create_from_file(cls, client: Client, project_id: str, name: str, path: str | Path) -> ImportJob:
        return ImportJob(client, client.backend.import_annotations(project_id, name, Path(path), cls.kind))

    @classmethod
    def from_name(cls, client: Client, project_id: str, name: str) -> ImportJob:
        for job in client.get_project(project_id).import_jobs():
            if job.name == name and job.info.kind is cls.kind:
                return job
        raise LookupError(f"no {cls.kind.value} import named {name!r} in project {project_id!r}")


class MALPredictionImport(_AnnotationImport):
    """Pre-labels (model-assisted labeling): shown to labelers as a starting point."""

    kind = LabelKind.PREDICTION


class LabelImport(_AnnotationImport):
    """Ground truth from another platform or an earlier project."""

    kind = LabelKind.GROUND_TRUTH
