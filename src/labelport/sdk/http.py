"""``HttpBackend``: the SDK's verbs over HTTP to a labelport server, returning the embedded backend's records.

Errors come back as the same exception classes (NotFoundError, ValidationError with field and value,
ConflictError, ...) so scripts handle them alike on both backends. Data-row ``row_data`` paths are read
by the server, on its filesystem. Imports upload the NDJSON (a file is streamed, never read whole) and wait
for the server's job to finish, so a returned import is as finished as an embedded one. Exports run on the
server too; the SDK waits, then downloads the file, so an ``ExportTask`` reads a local file as it does
embedded.

A server restarting (one replica of several, behind a load balancer or not) is waited out: a request that
could not connect, and a read (GET) whose connection broke, are sent again for up to ``retry_seconds``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from labelport.errors import (
    AuthenticationError,
    ConflictError,
    LabelportError,
    MediaError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from labelport.model.jobs import ImportJobInfo, ItemsImportResult, JobState
from labelport.model.label import LabelKind
from labelport.model.media import Attachment, DataRow, MediaAttributes, MediaType, MetadataField
from labelport.model.ontology import ontology_from_dict
from labelport.model.records import BatchInfo, CreateRowsResult, DatasetInfo, OntologyInfo, ProjectInfo, RowFailure
from labelport.model.workflow import HistoryEntry, WorkflowAction, WorkflowState, WorkflowStatus
from labelport.sdk._items import is_archive, items_path, pack
from labelport.sdk._payload import annotations_json, json_ready
from labelport.sdk.exports import ExportTaskInfo

API = "/api/v1"
PAGE = 1000
UPLOAD_BLOCK = 1 << 20
# Failures after which a request is sent again: it never reached the server (connect), or, for a read that
# changes nothing, the connection broke before the answer.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ReadTimeout)
ERRORS: dict[int, type[LabelportError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


class ServerError(LabelportError):
    """The server failed (5xx) or could not be reached."""


def _error(response: httpx.Response) -> LabelportError:
    try:
        body = response.json()["error"]
        message, field, value = str(body["message"]), body.get("field"), body.get("value")
    except (ValueError, KeyError, TypeError):
        message, field, value = f"HTTP {response.status_code}: {response.text[:500]}", None, None
    if response.status_code == 422:
        return ValidationError(message, field=field, value=value)
    if response.status_code == 409:
        return ConflictError(message, field=field, value=value)
    if response.status_code in ERRORS:
        return ERRORS[response.status_code](message)
    if response.status_code >= 500:
        return ServerError(f"the labelport server failed ({response.status_code}): {message}")
    return LabelportError(message)


def _dataset(d: Mapping[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        id=d["id"], name=d["name"], description=d["description"], created_at=datetime.fromisoformat(d["created_at"])
    )


def _data_row(d: Mapping[str, Any]) -> DataRow:
    return DataRow(
        id=d["id"],
        row_data=d["row_data"],
        media_type=MediaType(d["media_type"]),
        global_key=d["global_key"],
        dataset_id=d["dataset_id"],
        media_attributes=MediaAttributes.from_dict(d["media_attributes"]),
        metadata_fields=tuple(MetadataField(**m) for m in d["metadata_fields"]),
        attachments=tuple(Attachment(**a) for a in d["attachments"]),
        external_id=d.get("external_id"),
    )


def _ontology(d: Mapping[str, Any]) -> OntologyInfo:
    media_type = MediaType(d["media_type"]) if d["media_type"] else None
    ontology = ontology_from_dict({**d["definition"], "name": d["name"]}, id=d["id"])
    return OntologyInfo(
        id=d["id"],
        name=d["name"],
        media_type=media_type,
        ontology=ontology,
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _project(d: Mapping[str, Any]) -> ProjectInfo:
    return ProjectInfo(
        id=d["id"],
        name=d["name"],
        description=d["description"],
        media_type=MediaType(d["media_type"]),
        ontology_id=d["ontology_id"],
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _batch(d: Mapping[str, Any]) -> BatchInfo:
    return BatchInfo(
        id=d["id"],
        project_id=d["project_id"],
        name=d["name"],
        priority=d["priority"],
        size=d["size"],
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def _state(d: Mapping[str, Any]) -> WorkflowState:
    return WorkflowState(
        data_row_id=d["data_row_id"],
        status=WorkflowStatus(d["status"]),
        task_name=d["task_name"],
        updated_at=datetime.fromisoformat(d["updated_at"]),
    )


def _history(d: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        action=WorkflowAction(d["action"]),
        at=datetime.fromisoformat(d["at"]),
        actor=d["actor"],
        from_status=WorkflowStatus(d["from_status"]) if d["from_status"] else None,
        to_status=WorkflowStatus(d["to_status"]),
        from_task=d["from_task"],
        to_task=d["to_task"],
        reason=d.get("reason"),
    )


def _job(d: Mapping[str, Any]) -> ImportJobInfo:
    return ImportJobInfo(
        id=d["id"],
        project_id=d["project_id"],
        name=d["name"],
        kind=LabelKind(d["kind"]),
        state=JobState(d["state"]),
        total=d["total"],
        succeeded=d["succeeded"],
        failed=d["failed"],
        error=d["error"],
        progress_done=d.get("progress_done", 0),
        progress_total=d.get("progress_total"),
    )


class HttpBackend:
    """Every verb as one HTTP request (lists: one per page) to a labelport server.

    ``import_timeout_seconds`` bounds how long an import or an export waits for the server's job; exports
    are downloaded under ``download_dir`` (default: a private ``labelport-exports-*`` temporary folder);
    ``retry_seconds`` how long a request is retried while the server cannot be reached (a restart).
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout_seconds: float = 300.0,
        import_timeout_seconds: float = 3600.0,
        transport: httpx.BaseTransport | None = None,
        download_dir: Path | None = None,
        retry_seconds: float = 30.0,
    ) -> None:
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise ValidationError(
                f"endpoint must be an http(s) URL such as http://127.0.0.1:8000, found {endpoint!r}",
                field="endpoint",
                value=endpoint,
            )
        if not isinstance(api_key, str) or not api_key:
            raise ValidationError("an API key is needed to talk to a labelport server", field="api_key", value=None)
        self.endpoint = endpoint.rstrip("/")
        self.import_timeout_seconds = import_timeout_seconds
        self.retry_seconds = retry_seconds
        self._download_dir = download_dir
        self._http = httpx.Client(
            base_url=self.endpoint,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "labelport-sdk"},
            timeout=timeout_seconds,
            transport=transport,
        )

    # ------------------------------------------------------------ transport

    def _send(self, method: str, path: str, *, reads: bool = False, **kwargs: Any) -> httpx.Response:
        """Send a request, again while the server cannot be reached (for ``retry_seconds``): always when the
        request never left (connect failed), and for a GET (or a POST that only ``reads``, such as a lookup by
        a body of ids) also when the connection broke before the answer."""
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                return self._http.request(method, API + path, **kwargs)
            except httpx.HTTPError as exc:
                again = isinstance(exc, NOT_SENT) or ((method == "GET" or reads) and isinstance(exc, BROKEN))
                if not again or time.monotonic() + pause > deadline:
                    raise ServerError(f"cannot reach the labelport server at {self.endpoint}: {exc}") from exc
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        return None if response.status_code == 204 else response.json()

    def _json(self, method: str, path: str, body: Any, **kwargs: Any) -> Any:
        headers = {"Content-Type": "application/json"}
        return self._request(method, path, content=orjson.dumps(body), headers=headers, **kwargs)

    def _pages(self, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Iterator[Any]:
        """The items of a list, page after page: GET, or with ``body`` a POST of it for each page."""
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = (
                self._request("GET", path, params=query)
                if body is None
                else self._json("POST", path, body, params=query, reads=True)
            )
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    # ------------------------------------------------------------ datasets and data rows

    def create_dataset(self, name: str, description: str | None) -> DatasetInfo:
        return _dataset(self._json("POST", "/datasets", {"name": name, "description": description}))

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        return _dataset(self._request("GET", f"/datasets/{_seg(dataset_id)}"))

    def list_datasets(self) -> list[DatasetInfo]:
        return [_dataset(d) for d in self._pages("/datasets")]

    def create_data_rows(
        self, dataset_id: str, assets: Iterable[Any], progress: Callable[[int], None] | None
    ) -> CreateRowsResult:
        specs = [json_ready(a) for a in assets]
        body = self._json("POST", f"/datasets/{_seg(dataset_id)}/data-rows", {"data_rows": specs})
        if progress is not None:
            progress(len(specs))
        return CreateRowsResult(
            created=[_data_row(r) for r in body["created"]],
            failures=[
                RowFailure(index=f["index"], message=f["message"], spec=f["spec"], field=f["field"], value=f["value"])
                for f in body["failures"]
            ],
        )

    def list_data_rows(self, dataset_id: str) -> list[DataRow]:
        return [_data_row(r) for r in self._pages(f"/datasets/{_seg(dataset_id)}/data-rows")]

    def get_data_row(self, data_row_id: str) -> DataRow:
        return _data_row(self._request("GET", f"/data-rows/{_seg(data_row_id)}"))

    def data_row_ids_for_global_keys(self, keys: Sequence[str]) -> tuple[list[str | None], list[str]]:
        body = self._json("POST", "/data-rows/lookup", {"global_keys": list(keys)}, reads=True)
        return list(body["ids"]), list(body["missing"])

    # ------------------------------------------------------------ ontologies

    def create_ontology(
        self, name: str, normalized: Mapping[str, Any], media_type: MediaType | str | None
    ) -> OntologyInfo:
        kind = None if media_type is None else MediaType.parse(media_type).value
        body = {"name": name, "normalized": json_ready(normalized), "media_type": kind}
        return _ontology(self._json("POST", "/ontologies", body))

    def get_ontology(self, ontology_id: str) -> OntologyInfo:
        return _ontology(self._request("GET", f"/ontologies/{_seg(ontology_id)}"))

    def list_ontologies(self) -> list[OntologyInfo]:
        return [_ontology(o) for o in self._pages("/ontologies")]

    # ------------------------------------------------------------ projects and batches

    def create_project(self, name: str, media_type: MediaType | str, description: str | None) -> ProjectInfo:
        body = {"name": name, "media_type": MediaType.parse(media_type).value, "description": description}
        return _project(self._json("POST", "/projects", body))

    def get_project(self, project_id: str) -> ProjectInfo:
        return _project(self._request("GET", f"/projects/{_seg(project_id)}"))

    def list_projects(self) -> list[ProjectInfo]:
        return [_project(p) for p in self._pages("/projects")]

    def connect_ontology(self, project_id: str, ontology_id: str) -> ProjectInfo:
        return _project(self._json("PUT", f"/projects/{_seg(project_id)}/ontology", {"ontology_id": ontology_id}))

    def create_batch(
        self,
        project_id: str,
        name: str,
        global_keys: Sequence[str] | None,
        data_row_ids: Sequence[str] | None,
        priority: int,
    ) -> BatchInfo:
        body = {
            "name": name,
            "global_keys": None if global_keys is None else list(global_keys),
            "data_row_ids": None if data_row_ids is None else list(data_row_ids),
            "priority": priority,
        }
        return _batch(self._json("POST", f"/projects/{_seg(project_id)}/batches", body))

    def list_batches(self, project_id: str) -> list[BatchInfo]:
        return [_batch(b) for b in self._pages(f"/projects/{_seg(project_id)}/batches")]

    def batch_data_row_ids(self, batch_id: str) -> list[str]:
        return [str(i) for i in self._pages(f"/batches/{_seg(batch_id)}/data-row-ids")]

    # ------------------------------------------------------------ imports

    def start_import(
        self,
        project_id: str,
        name: str,
        source: Path | list[Mapping[str, Any]],
        kind: LabelKind,
        fmt: str = "labelbox",
    ) -> ImportJobInfo:
        """Upload the annotations and return the QUEUED job at once (``import_annotations`` also waits).

        A file is sent as it is (mask paths in it are resolved on the server, within its permitted folders).
        """
        # A list goes as one JSON array, so each annotation's location reads "[index]" as it does embedded.
        if isinstance(source, Path) and not source.is_file():
            raise MediaError(f"input file {str(source)!r} does not exist or is not a file", path=str(source))
        data: bytes | Iterator[bytes]
        if isinstance(source, Path):
            data, size = _file_blocks(source), source.stat().st_size
        else:
            data = annotations_json(source)
            size = len(data)
        body = self._request(
            "POST",
            f"/projects/{_seg(project_id)}/imports",
            params={
                "name": name,
                "kind": LabelKind.parse(kind).value,
                "format": fmt,
                **({"file_name": str(source)} if isinstance(source, Path) else {}),
            },
            content=data,
            headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)},
        )
        return _job(body)

    def wait_for_import(self, job_id: str, timeout_seconds: float | None = None) -> ImportJobInfo:
        """Poll the job until it is FINISHED or FAILED; LabelportError after ``timeout_seconds``."""
        limit = self.import_timeout_seconds if timeout_seconds is None else timeout_seconds
        deadline = time.monotonic() + limit
        pause = 0.05
        while True:
            job = self.get_import_job(job_id)
            if job.state.done:
                return job
            if time.monotonic() > deadline:
                raise LabelportError(f"import job {job_id} is still {job.state.value} after {limit:.0f} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)

    def import_annotations(
        self,
        project_id: str,
        name: str,
        source: Path | list[Mapping[str, Any]],
        kind: LabelKind,
        fmt: str = "labelbox",
    ) -> ImportJobInfo:
        return self.wait_for_import(self.start_import(project_id, name, source, kind, fmt).id)

    def import_items(
        self,
        project_id: str,
        path: Path,
        *,
        name: str,
        kind: LabelKind,
        items_file: str | None,
        dataset_id: str | None,
        create_features: bool,
        options: Mapping[str, Any],
    ) -> ItemsImportResult:
        """Upload an archive as it is, or pack an items file (or a folder's) with the files it names into one
        (``_items.pack``); wait for the server's job and read what it made."""
        params = {
            "name": name,
            "kind": kind.value,
            "create_features": create_features,
            **{k: v for k, v in {"dataset_id": dataset_id, **options}.items() if v is not None},
        }
        with tempfile.TemporaryDirectory(prefix="labelport-items-") as scratch:
            archive = path
            if is_archive(path):
                params["items_file"] = items_file
            else:
                archive = Path(scratch) / "items.zip"
                pack(items_path(path, items_file), archive)
            body = self._request(
                "POST",
                f"/projects/{_seg(project_id)}/imports/items",
                params={k: v for k, v in params.items() if v is not None},
                content=_file_blocks(archive),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(archive.stat().st_size)},
            )
        job = self.wait_for_import(body["id"])
        made = self._request("GET", f"/imports/{_seg(job.id)}/items")
        return ItemsImportResult.from_json(_job(made["job"]), made)

    def get_import_job(self, job_id: str) -> ImportJobInfo:
        return _job(self._request("GET", f"/imports/{_seg(job_id)}"))

    def list_import_jobs(self, project_id: str) -> list[ImportJobInfo]:
        return [_job(j) for j in self._pages(f"/projects/{_seg(project_id)}/imports")]

    def import_statuses(self, job_id: str, failures_only: bool) -> list[dict[str, Any]]:
        params = {"failures_only": "true" if failures_only else "false"}
        return [dict(s) for s in self._pages(f"/imports/{_seg(job_id)}/statuses", params)]

    # ------------------------------------------------------------ exports

    @property
    def download_dir(self) -> Path:
        """Where exports are downloaded: ``download_dir``, else a private temporary folder (mode 700)."""
        if self._download_dir is None:
            self._download_dir = Path(tempfile.mkdtemp(prefix="labelport-exports-"))
        return self._download_dir

    def _wait_for_export(self, job: Mapping[str, Any], timeout_seconds: float | None = None) -> dict[str, Any]:
        limit = self.import_timeout_seconds if timeout_seconds is None else timeout_seconds
        deadline = time.monotonic() + limit
        pause = 0.05
        while not JobState(job["state"]).done:
            if time.monotonic() > deadline:
                raise LabelportError(f"export job {job['id']} is still {job['state']} after {limit:.0f} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
            job = self._request("GET", f"/exports/{_seg(job['id'])}")
        return dict(job)

    def _download(self, job_id: str, target: Path) -> None:
        """Stream an export's file to ``target`` (written beside it, renamed when complete)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with self._http.stream("GET", f"{API}/exports/{_seg(job_id)}/download") as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot download export {job_id} from {self.endpoint}: {exc}") from exc
        partial.replace(target)

    def _finished_export(self, started: Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
        job = self._wait_for_export(started)
        if job["state"] != JobState.FINISHED:
            return job, None
        name = "export.ndjson" if job["format"] == "export_v2" else "labels.json"
        target = self.download_dir / job["id"] / name
        self._download(job["id"], target)
        return job, target

    def export_v2(
        self, project_id: str, params: Mapping[str, Any] | None, filters: Mapping[str, Any] | None
    ) -> ExportTaskInfo:
        """Run the export on the server, wait for it, and download its NDJSON under ``download_dir``.

        Mask URLs in the rows are the server's, absolute and signed: they open without a key until they expire.
        """
        body = {"params": json_ready(params), "filters": json_ready(filters)}
        job, path = self._finished_export(self._json("POST", f"/projects/{_seg(project_id)}/exports", body))
        errors = list(job["errors"]) + ([{"message": job["error"]}] if job["error"] else [])
        status = "COMPLETE" if path is not None else "FAILED"
        return ExportTaskInfo(job["id"], project_id, status, path, job["rows"], errors)

    def encord_rows(
        self, project_id: str, kind: LabelKind, data_row_ids: Sequence[str] | None
    ) -> list[tuple[DataRow, dict[str, Any]]]:
        """The label rows the embedded backend returns (in data row id order), a page at a time; given ids go
        one page of them per request, so a bundle's chunk of up to 1000 rows is one request."""
        ids = None if data_row_ids is None else sorted(set(data_row_ids))
        chunks = [None] if ids is None else [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]
        path = f"/projects/{_seg(project_id)}/encord/label-rows"
        return [
            (_data_row(r["data_row"]), dict(r["label_row"]))
            for chunk in chunks
            for r in self._pages(path, body={"kind": LabelKind.parse(kind).value, "data_row_ids": chunk})
        ]

    def export_labels(self, project_id: str, start: str | None, end: str | None) -> Path:
        body = {"start": start, "end": end}
        job, path = self._finished_export(self._json("POST", f"/projects/{_seg(project_id)}/export-labels", body))
        if path is None:
            raise LabelportError(f"export job {job['id']} failed: {job['error']}")
        return path

    # ------------------------------------------------------------ workflow

    def workflow_action(
        self,
        project_id: str,
        data_row_ids: Sequence[str],
        action: str,
        to: str | None,
        seconds_to_review: float | None,
        reason: str | None = None,
    ) -> list[WorkflowState]:
        body = {
            "data_row_ids": list(data_row_ids),
            "action": action,
            "to": to,
            "seconds_to_review": seconds_to_review,
            "reason": reason,
        }
        states = self._json("POST", f"/projects/{_seg(project_id)}/workflow/actions", body)
        return [_state(s) for s in states]

    def workflow_history(self, project_id: str, data_row_id: str) -> list[HistoryEntry]:
        path = f"/projects/{_seg(project_id)}/data-rows/{_seg(data_row_id)}/workflow/history"
        return [_history(h) for h in self._pages(path)]

    def workflow_status(self, project_id: str, data_row_id: str) -> WorkflowState:
        return _state(self._request("GET", f"/projects/{_seg(project_id)}/data-rows/{_seg(data_row_id)}/workflow"))

    def configure_workflow(self, project_id: str, ground_truth_import_status: str) -> None:
        body = {"ground_truth_import_status": ground_truth_import_status}
        self._json("PUT", f"/projects/{_seg(project_id)}/workflow", body)

    def set_label_performance(
        self,
        project_id: str,
        data_row_id: str,
        seconds_to_create: float | None,
        seconds_to_review: float | None,
        skipped: bool | None,
    ) -> None:
        body = {"seconds_to_create": seconds_to_create, "seconds_to_review": seconds_to_review, "skipped": skipped}
        self._json("PUT", f"/projects/{_seg(project_id)}/data-rows/{_seg(data_row_id)}/performance", body)

    def close(self) -> None:
        self._http.close()


def _file_blocks(path: Path) -> Iterator[bytes]:
    """A file's content in blocks, read as the upload goes (never whole in memory)."""
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(UPLOAD_BLOCK), b"")


def _seg(value: str) -> str:
    """An id as one URL path segment (ids never contain '/', but user input might)."""
    from urllib.parse import quote

    return quote(str(value), safe="")
