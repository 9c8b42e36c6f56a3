"""Encord's label-row API over HTTP: ``list_label_rows_v2``, ``initialise_labels``, bundles and ``save`` against a
real server (uvicorn on 127.0.0.1) on SQLite and PostgreSQL, read back and compared with the embedded client
on the same store.

The server answers ``POST /api/v1/projects/{id}/encord/label-rows`` a page at a time; the SDK pages through,
and sends a bundle's chunk of rows in one request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from labelport.errors import NotFoundError, PermissionDeniedError
from labelport.formats import get_format
from labelport.model.label import LabelKind
from labelport.sdk import Client
from labelport.sdk import http as http_backend
from labelport.sdk.encord import BoundingBoxCoordinates, LabelRowV2, Object
from labelport.service import auth
from labelport.service.imports import input_ontology, stored_annotations
from labelport.service.synthetic import write_image
from labelport.store import Database
from tests.api.server import LiveServer
from tests.sdk.test_encord_dicom import ORIENTATIONS, dicom_row, import_rows, mask_object, series_row, slice_labels
from tests.sdk.test_encord_guide import GUIDE_ONTOLOGY

TITLES = ("apple_001.png", "cherry_001.png", "fig_002.png", "plum_003.png")
ROUTE = "/projects/{}/encord/label-rows"


@dataclass
class World:
    server: LiveServer
    embedded: Client
    http: Client
    a: str  # the project of TITLES
    b: str  # another project, of one image
    rows: dict[str, str]  # global key -> data row id


@pytest.fixture
def world(live_server: LiveServer, tmp_path: Path) -> Iterator[World]:
    """Project A of four images and project B of one, both with the guide's Encord ontology, set up on the
    server's store by an embedded client; ``http`` is the admin's client of the server."""
    embedded = Client(home=live_server.home, database_url=live_server.database_url)
    names = (*TITLES, "pear_004.png")
    dataset = embedded.create_dataset("fruit")
    created = dataset.create_data_rows(
        [{"row_data": str(write_image(tmp_path / n, 64, 48)), "global_key": n} for n in names]
    )
    assert created.errors is None
    ontology = tmp_path / "ontology.json"
    ontology.write_text(json.dumps(GUIDE_ONTOLOGY))
    projects = []
    for name, keys in (("A", list(TITLES)), ("B", ["pear_004.png"])):
        project = embedded.create_project(name, media_type="image")
        input_ontology(embedded.hub, project.uid, get_format("encord"), ontology)
        project.create_batch("all", global_keys=keys)
        projects.append(project.uid)
    rows = dict(zip(names, embedded.get_data_row_ids_for_global_keys(list(names))["results"], strict=True))
    http = Client(live_server.admin_key, live_server.url)
    yield World(live_server, embedded, http, projects[0], projects[1], rows)
    http.close()
    embedded.close()


def save_box(client: Client, project_id: str, title: str, kind: str = "ground_truth") -> LabelRowV2:
    """The guide's flow: find the row, initialise it, add a Cherry box on frame 0, save."""
    [row] = client.get_project(project_id).list_label_rows_v2(data_title_eq=title, kind=kind)
    row.initialise_labels()
    cherry = row.ontology_structure.get_child_by_title(title="Cherry", type_=Object)
    box = cherry.create_instance()
    box.set_for_frames(
        coordinates=BoundingBoxCoordinates(height=0.25, width=0.5, top_left_x=0.25, top_left_y=0.5),
        frames=0,
        manual_annotation=True,
        confidence=0.75,
    )
    row.add_object_instance(box)
    row.save()
    return row


def initialised(client: Client, project_id: str, kind: str = "ground_truth", **filters: Any) -> list[LabelRowV2]:
    rows = client.get_project(project_id).list_label_rows_v2(kind=kind, **filters)
    for row in rows:
        row.initialise_labels()
    return rows


def posts(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the label-row requests ``client`` sends from now on."""
    backend = client.backend
    assert isinstance(backend, http_backend.HttpBackend)
    sent: list[str] = []
    send = backend._send

    def counted(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path.endswith("/encord/label-rows"):
            sent.append(f"{method} {path}")
        return send(method, path, **kwargs)

    monkeypatch.setattr(backend, "_send", counted)
    return sent


def test_the_guide_flow_over_http_reads_back_through_a_fresh_client(world: World) -> None:
    row = save_box(world.http, world.a, "cherry_001.png")
    [saved] = row.get_object_instances()
    with Client(world.server.admin_key, world.server.url) as fresh:
        [again] = initialised(fresh, world.a, data_title_eq="cherry_001.png")
    [found] = again.get_object_instances()
    assert (found.object_hash, found.feature_hash) == (saved.object_hash, "cherryBB")
    annotation = found.get_annotation(0)
    box = annotation.coordinates
    assert isinstance(box, BoundingBoxCoordinates)
    assert (box.top_left_x, box.top_left_y, box.width, box.height) == pytest.approx((0.25, 0.5, 0.5, 0.25))
    assert (annotation.confidence, annotation.manual_annotation) == (0.75, True)
    # stored as ground truth, in pixels of the 64 x 48 image
    row_id = world.rows["cherry_001.png"]
    [rectangle] = [a for _, a in stored_annotations(world.embedded.hub, world.a, row_id, "ground_truth")]
    assert (rectangle.geometry.start.x, rectangle.geometry.start.y) == pytest.approx((16.0, 24.0))
    # the embedded client reads the same label row
    [embedded] = initialised(world.embedded, world.a, data_title_eq="cherry_001.png")
    assert again.to_encord_dict() == embedded.to_encord_dict()


def test_a_bundle_reads_each_chunk_in_one_request(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for title in TITLES[:2]:
        save_box(world.http, world.a, title)
    project = world.http.get_project(world.a)
    sent = posts(world.http, monkeypatch)
    rows = project.list_label_rows_v2()
    assert [r.data_title for r in rows] == sorted(TITLES, key=lambda t: world.rows[t])
    assert len(sent) == 1
    sent.clear()
    with project.create_bundle(bundle_size=3) as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
        assert sent == [] and not any(r.is_labelling_initialised for r in rows)
    assert sent == [f"POST /projects/{world.a}/encord/label-rows"] * 2  # 4 rows in chunks of 3
    assert [len(r.get_object_instances()) for r in rows] == [1 if r.data_title in TITLES[:2] else 0 for r in rows]
    assert [r.to_encord_dict() for r in rows] == [r.to_encord_dict() for r in initialised(world.embedded, world.a)]


def test_prelabels_are_read_and_saved_apart_from_ground_truth(world: World) -> None:
    save_box(world.http, world.a, "apple_001.png", kind="prelabels")
    with Client(world.server.admin_key, world.server.url) as fresh:
        [truth] = initialised(fresh, world.a, data_title_eq="apple_001.png")
        [pre] = initialised(fresh, world.a, "prelabels", data_title_eq="apple_001.png")
    assert truth.get_object_instances() == [] and len(pre.get_object_instances()) == 1
    assert pre.kind is LabelKind.PREDICTION
    row_id = world.rows["apple_001.png"]
    assert len(stored_annotations(world.embedded.hub, world.a, row_id, "prediction")) == 1
    assert stored_annotations(world.embedded.hub, world.a, row_id, "ground_truth") == []
    [embedded] = initialised(world.embedded, world.a, "prelabels", data_title_eq="apple_001.png")
    assert pre.to_encord_dict() == embedded.to_encord_dict()


def test_over_http_the_label_rows_equal_the_embedded_clients(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both kinds on images, and a DICOM series with a bitmask (pixels from the store); read whole and by ids
    (in any order, with a repeat), in pages of 2 the SDK walks through."""
    save_box(world.http, world.a, "cherry_001.png")
    save_box(world.http, world.a, "fig_002.png", kind="prelabels")
    dicom, attributes = series_row(world.embedded, tmp_path, ORIENTATIONS["axial"])
    assert attributes.instance_uids is not None
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:7] = True
    row = dicom_row({2: slice_labels(attributes.instance_uids[2], [mask_object(mask)])})
    job = import_rows(world.embedded, dicom, [row], tmp_path)
    assert (job.succeeded, job.failed) == (1, 0)
    monkeypatch.setattr(http_backend, "PAGE", 2)
    sent = posts(world.http, monkeypatch)
    for project_id in (world.a, dicom.uid):
        for kind in LabelKind:
            whole = world.embedded.backend.encord_rows(project_id, kind, None)
            assert whole and world.http.backend.encord_rows(project_id, kind, None) == whole
            ids = [media.id for media, _ in reversed(whole)] + [whole[0][0].id]
            assert world.http.backend.encord_rows(project_id, kind, ids) == whole
    assert len(sent) == 2 * (2 + 2) + 2 * (1 + 1)  # project A: 4 rows, 2 pages; the series: 1 page
    [series] = initialised(world.http, dicom.uid)
    [embedded_series] = initialised(world.embedded, dicom.uid)
    assert len(series.get_object_instances()) == 1
    assert series.to_encord_dict() == embedded_series.to_encord_dict()
    for kind in ("ground_truth", "prelabels"):
        over_http = [r.to_encord_dict() for r in initialised(world.http, world.a, kind)]
        assert over_http == [r.to_encord_dict() for r in initialised(world.embedded, world.a, kind)]


def test_a_data_row_of_another_project_is_refused(world: World) -> None:
    own, other = world.rows["apple_001.png"], world.rows["pear_004.png"]
    for client in (world.http, world.embedded):
        with pytest.raises(NotFoundError, match=f"data row '{other}' is not in project '{world.a}'"):
            client.backend.encord_rows(world.a, LabelKind.GROUND_TRUTH, [own, other])
    headers = {"Authorization": f"Bearer {world.server.admin_key}"}
    with httpx.Client(base_url=world.server.url + "/api/v1", headers=headers) as h:
        response = h.post(ROUTE.format(world.a), json={"data_row_ids": [other]})
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFoundError"
        # more ids than one page holds, an unknown kind: refused before anything is read
        too_many = h.post(ROUTE.format(world.a), json={"data_row_ids": [own] * 1001})
        assert too_many.status_code == 422 and too_many.json()["error"]["field"]
        assert h.post(ROUTE.format(world.a), json={"kind": "draft"}).status_code == 422


def test_a_caller_without_a_role_in_the_project_is_refused(world: World) -> None:
    server = world.server
    db = Database(server.database_url, migrate=False)
    stranger = auth.create_api_key(db, organization="other", email="o@other.org", is_admin=True).secret
    db.dispose()
    refused = {
        server.key("nobody@x.org"): PermissionDeniedError,
        server.key("b-admin@x.org", project=world.b, role="admin"): PermissionDeniedError,
        stranger: NotFoundError,  # another organisation does not learn the project exists
    }
    for key, error in refused.items():
        with Client(key, server.url) as client, pytest.raises(error):
            client.backend.encord_rows(world.a, LabelKind.GROUND_TRUTH, None)
    save_box(world.http, world.a, "plum_003.png")
    # the weakest role reads labels, as it exports them
    with Client(server.key("viewer@x.org", project=world.a, role="viewer"), server.url) as viewer:
        seen = [r.to_encord_dict() for r in initialised(viewer, world.a)]
    assert seen == [r.to_encord_dict() for r in initialised(world.embedded, world.a)]


class BreaksOnce(httpx.BaseTransport):
    """The real transport, but the first request to a path ending in ``suffix`` loses its connection after it
    was sent (as when a replica restarts mid-answer): httpx raises ReadError."""

    def __init__(self, inner: httpx.BaseTransport, suffix: str) -> None:
        self.inner, self.suffix, self.broken = inner, suffix, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.suffix) and not self.broken:
            self.broken += 1
            self.inner.handle_request(request).close()  # the server did the work; the answer is lost
            raise httpx.ReadError("connection reset", request=request)
        return self.inner.handle_request(request)


def test_a_read_by_post_is_sent_again_when_its_answer_is_lost(world: World) -> None:
    """Listing label rows (a POST that only reads) is sent again when the connection breaks before the answer,
    as a GET is; a POST that writes is not (it may have been done), and says the server could not be reached."""
    backend = world.http.backend
    assert isinstance(backend, http_backend.HttpBackend)
    real = backend._http._transport
    backend._http._transport = BreaksOnce(real, "/encord/label-rows")
    rows = world.http.get_project(world.a).list_label_rows_v2()
    assert sorted(r.data_title for r in rows) == sorted(TITLES)
    assert backend._http._transport.broken == 1
    backend._http._transport = BreaksOnce(real, "/datasets")
    with pytest.raises(http_backend.ServerError, match="cannot reach the labelport server"):
        world.http.create_dataset("lost answer")
