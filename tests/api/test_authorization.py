"""Every endpoint x every kind of caller -> the expected status. A key of project B never reads or
writes project A; the matrix covers every route of the OpenAPI document (a new route must join it)."""

from __future__ import annotations

import base64
import io
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from PIL import Image

from labelport.api import create_app
from labelport.service import auth
from labelport.service.synthetic import write_image
from labelport.store import Database
from tests.api.server import LiveServer

CALLERS = ("org_admin", "a_admin", "a_reviewer", "a_labeler", "a_viewer", "b_admin", "no_key", "revoked", "bogus")
A_ROLES = ("org_admin", "a_admin", "a_reviewer", "a_labeler", "a_viewer")
AUTHENTICATED = (*A_ROLES, "b_admin")
CATALOG_WRITERS = ("org_admin", "a_admin", "b_admin")
PROJECT_A_ADMINS = ("org_admin", "a_admin")


@dataclass
class World:
    ids: dict[str, str]
    keys: dict[str, str | None]
    free_rows: list[str]
    in_review: list[str] = field(default_factory=list)
    in_rework: list[str] = field(default_factory=list)


def _setup(server: LiveServer, tmp_path: Path) -> World:
    admin = httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {server.admin_key}"})

    def post(path: str, body: Any, content: bytes | None = None) -> Any:
        response = admin.post(path, json=body) if content is None else admin.post(path, content=content)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    images = [write_image(tmp_path / f"img{i}.png", 20, 10) for i in range(21)]
    ds = post("/datasets", {"name": "catalog"})["id"]
    created = post(
        f"/datasets/{ds}/data-rows",
        {"data_rows": [{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)]},
    )
    assert created["failures"] == []
    rows = [r["id"] for r in created["created"]]
    tools = [{"tool": "rectangle", "name": "box"}, {"tool": "raster-segmentation", "name": "seg"}]
    ontology = post("/ontologies", {"name": "boxes", "normalized": {"tools": tools}})
    a = post("/projects", {"name": "A", "media_type": "image"})["id"]
    b = post("/projects", {"name": "B", "media_type": "image"})["id"]
    for project in (a, b):
        admin.put(f"/projects/{project}/ontology", json={"ontology_id": ontology["id"]}).raise_for_status()
    batch = post(f"/projects/{a}/batches", {"name": "first", "data_row_ids": rows[:1]})["id"]
    job = admin.post(
        f"/projects/{a}/imports", params={"name": "seed", "kind": "prediction"}, content=box_line()
    ).json()["id"]
    # Rows under review for the workflow cases: ground truth sends them to review; rejecting, to rework.
    reviewed = rows[12:21]
    post(f"/projects/{a}/batches", {"name": "review", "data_row_ids": reviewed})
    truth = b"\n".join([mask_line("img-0"), *(box_line(f"img-{i}") for i in range(12, 21))])
    imported = post(f"/projects/{a}/imports?name=truth&kind=ground_truth", None, content=truth)
    while imported["state"] not in ("FINISHED", "FAILED"):
        time.sleep(0.05)
        imported = admin.get(f"/imports/{imported['id']}").json()
    assert (imported["state"], imported["failed"]) == ("FINISHED", 0), imported
    post(f"/projects/{a}/workflow/actions", {"action": "REJECT", "data_row_ids": reviewed[5:]})
    export = post(f"/projects/{a}/exports", {"params": {}})
    while export["state"] not in ("FINISHED", "FAILED"):
        time.sleep(0.05)
        export = admin.get(f"/exports/{export['id']}").json()
    assert export["state"] == "FINISHED", export
    keys: dict[str, str | None] = {
        "org_admin": server.admin_key,
        "a_admin": server.key("a-admin@x.org", project=a, role="admin"),
        "a_reviewer": server.key("a-reviewer@x.org", project=a, role="reviewer"),
        "a_labeler": server.key("a-labeler@x.org", project=a, role="labeler"),
        "a_viewer": server.key("a-viewer@x.org", project=a, role="viewer"),
        "b_admin": server.key("b-admin@x.org", project=b, role="admin"),
        "no_key": None,
        "bogus": "lp_" + "x" * 43,
    }
    revoked = server.key("gone@x.org", admin=True)
    db = Database(server.database_url, migrate=False)
    auth.revoke_api_key(db, revoked[: auth.SHOWN_PREFIX_LENGTH])
    db.dispose()
    keys["revoked"] = revoked
    admin.close()
    ids = {
        "ds": ds,
        "row": rows[0],
        "ont": ontology["id"],
        "a": a,
        "b": b,
        "batch": batch,
        "job": job,
        "export": export["id"],
    }
    return World(ids=ids, keys=keys, free_rows=rows[1:12], in_review=reviewed[:5], in_rework=reviewed[5:])


def box_line(key: str = "img-0") -> bytes:
    return orjson.dumps(
        {
            "uuid": str(uuid.uuid4()),
            "name": "box",
            "dataRow": {"globalKey": key},
            "bbox": {"top": 1, "left": 1, "height": 3, "width": 3},
        }
    )


MASK = np.zeros((10, 20, 3), np.uint8)
MASK[2:5, 3:9] = (255, 0, 0)
MASK_UUID = "6a1d2c3b-0000-4000-8000-00000000beef"


def mask_line(key: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(MASK).save(buffer, format="PNG")
    mask = {"imBytes": base64.b64encode(buffer.getvalue()).decode(), "colorRGB": [255, 0, 0]}
    return orjson.dumps({"uuid": MASK_UUID, "name": "seg", "dataRow": {"globalKey": key}, "mask": mask})


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # as in the OpenAPI document
    ok: int
    allowed: tuple[str, ...]
    body: Body | None = None
    params: dict[str, str] | None = None
    content: bytes | None = None


def _fresh_rows(world: World) -> dict[str, Any]:
    return {"name": f"batch-{uuid.uuid4().hex[:8]}", "data_row_ids": [world.free_rows.pop()]}


def _action(action: str, rows: str, to: str | None = None) -> Body:
    """A workflow action on a row not used before (in review, or in rework), so each call can succeed."""

    def body(world: World) -> dict[str, Any]:
        pool = getattr(world, rows)
        return {"action": action, "data_row_ids": [pool.pop() if pool else "x"], "to": to}

    return body


CASES = [
    Case("GET", "/api/v1/me", 200, AUTHENTICATED),
    Case("GET", "/api/v1/datasets", 200, AUTHENTICATED),
    Case("POST", "/api/v1/datasets", 201, CATALOG_WRITERS, body=lambda w: {"name": "new"}),
    Case("GET", "/api/v1/datasets/{dataset_id}", 200, AUTHENTICATED),
    Case("GET", "/api/v1/datasets/{dataset_id}/data-rows", 200, AUTHENTICATED),
    Case("POST", "/api/v1/datasets/{dataset_id}/data-rows", 201, CATALOG_WRITERS, body=lambda w: {"data_rows": []}),
    Case("GET", "/api/v1/data-rows/{data_row_id}", 200, AUTHENTICATED),
    Case("POST", "/api/v1/data-rows/lookup", 200, AUTHENTICATED, body=lambda w: {"global_keys": ["img-0"]}),
    Case("GET", "/api/v1/ontologies", 200, AUTHENTICATED),
    Case(
        "POST",
        "/api/v1/ontologies",
        201,
        CATALOG_WRITERS,
        body=lambda w: {"name": "o", "normalized": {"tools": [{"tool": "point", "name": "p"}]}},
    ),
    Case("GET", "/api/v1/ontologies/{ontology_id}", 200, AUTHENTICATED),
    Case("GET", "/api/v1/projects", 200, AUTHENTICATED),
    Case("POST", "/api/v1/projects", 201, AUTHENTICATED, body=lambda w: {"name": "mine", "media_type": "image"}),
    Case("GET", "/api/v1/projects/{project_id}", 200, A_ROLES),
    Case(
        "PUT",
        "/api/v1/projects/{project_id}/ontology",
        200,
        PROJECT_A_ADMINS,
        body=lambda w: {"ontology_id": w.ids["ont"]},
    ),
    Case("GET", "/api/v1/projects/{project_id}/batches", 200, A_ROLES),
    Case("POST", "/api/v1/projects/{project_id}/batches", 201, PROJECT_A_ADMINS, body=_fresh_rows),
    Case("GET", "/api/v1/batches/{batch_id}/data-row-ids", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/members", 200, A_ROLES),
    Case(
        "PUT", "/api/v1/projects/{project_id}/members/{email}", 200, PROJECT_A_ADMINS, body=lambda w: {"role": "viewer"}
    ),
    Case("DELETE", "/api/v1/projects/{project_id}/members/{email}", 204, PROJECT_A_ADMINS),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/imports",
        202,
        ("org_admin", "a_admin", "a_reviewer", "a_labeler"),
        params={"name": "mal", "kind": "prediction"},
        content=box_line(),
    ),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/imports",
        202,
        ("org_admin", "a_admin", "a_reviewer"),
        params={"name": "gt", "kind": "ground_truth"},
        content=box_line(),
    ),
    Case("GET", "/api/v1/projects/{project_id}/imports", 200, A_ROLES),
    Case("GET", "/api/v1/imports/{job_id}", 200, A_ROLES),
    Case("GET", "/api/v1/imports/{job_id}/statuses", 200, A_ROLES),
    Case("POST", "/api/v1/projects/{project_id}/exports", 202, A_ROLES, body=lambda w: {"params": {}}),
    Case("POST", "/api/v1/projects/{project_id}/export-labels", 202, A_ROLES, body=lambda w: {"start": "2000-01-01"}),
    Case("GET", "/api/v1/exports/{job_id}", 200, A_ROLES),
    Case("GET", "/api/v1/exports/{job_id}/download", 200, A_ROLES),
    Case("GET", "/api/v1/exports/{job_id}/files/{path}", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/annotations/{feature_id}/index/{frame}/mask", 200, A_ROLES),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/workflow/actions",
        200,
        ("org_admin", "a_admin", "a_reviewer"),
        body=_action("APPROVE", "in_review"),
    ),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/workflow/actions",
        200,
        ("org_admin", "a_admin", "a_reviewer", "a_labeler"),
        body=_action("REWORK", "in_rework"),
    ),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/workflow/actions",
        200,
        PROJECT_A_ADMINS,
        body=_action("MOVE", "in_review", to="Done"),
    ),
    Case("GET", "/api/v1/projects/{project_id}/data-rows/{data_row_id}/workflow", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/data-rows/{data_row_id}/workflow/history", 200, A_ROLES),
    Case(
        "PUT",
        "/api/v1/projects/{project_id}/workflow",
        200,
        PROJECT_A_ADMINS,
        body=lambda w: {"ground_truth_import_status": "InReview"},
    ),
    Case(
        "PUT",
        "/api/v1/projects/{project_id}/data-rows/{data_row_id}/performance",
        204,
        ("org_admin", "a_admin", "a_reviewer", "a_labeler"),
        body=lambda w: {"seconds_to_create": 3},
    ),
]
VIEWER_ROW = "/api/v1/projects/{project_id}/viewer/rows/{data_row_id}"
CASES += [
    Case("GET", "/api/v1/viewer/projects", 200, AUTHENTICATED),
    Case("GET", "/api/v1/projects/{project_id}/viewer", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/viewer/rows", 200, A_ROLES),
    Case("GET", VIEWER_ROW, 200, A_ROLES),
    Case("GET", VIEWER_ROW + "/annotations", 200, A_ROLES),
    # The world's row is an image: callers allowed to read get past the role check to "no planes" (422).
    Case("GET", VIEWER_ROW + "/slices/{plane}/{frame}", 422, A_ROLES),
    Case("GET", VIEWER_ROW + "/frames/{frame}", 200, A_ROLES),
    Case("GET", VIEWER_ROW + "/masks/{kind}/{annotation_uuid}/slices/{plane}/{frame}", 422, A_ROLES),
    Case("GET", VIEWER_ROW + "/masks/{kind}/{annotation_uuid}/frames/{frame}", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/viewer/queue/next", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/viewer/jobs", 200, A_ROLES),
]
UNAUTHENTICATED = ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")


def _path(route: str, world: World) -> str:
    values = {
        "dataset_id": world.ids["ds"],
        "data_row_id": world.ids["row"],
        "ontology_id": world.ids["ont"],
        "project_id": world.ids["a"],
        "batch_id": world.ids["batch"],
        "job_id": world.ids["job"],
        "email": "member@x.org",
        "feature_id": MASK_UUID,
        "frame": "1",
        "path": "export.ndjson",
        "plane": "axial",
        "kind": "ground_truth",
        "annotation_uuid": MASK_UUID,
    }
    if "/viewer/" in route:
        values["frame"] = "0"  # the viewer counts frames from 0
    if "/exports/{job_id}" in route:
        values["job_id"] = world.ids["export"]
    return route.format(**values)


def expected(case: Case, caller: str) -> int:
    if caller in ("no_key", "revoked", "bogus"):
        return 401
    return case.ok if caller in case.allowed else 403


def test_the_matrix_covers_every_route() -> None:
    schema = create_app().openapi()
    routes = {(m.upper(), p) for p, item in schema["paths"].items() for m in item if p not in UNAUTHENTICATED}
    assert routes == {(c.method, c.route) for c in CASES}


def test_authorization_matrix(live_server: LiveServer, tmp_path: Path) -> None:
    world = _setup(live_server, tmp_path)
    http = httpx.Client(base_url=live_server.url)
    wrong: list[str] = []
    for case, caller in itertools.product(CASES, CALLERS):
        key = world.keys[caller]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = (
            case.body(world)
            if case.body is not None and expected(case, caller) < 300
            else (case.body(World(world.ids, world.keys, ["x"], ["x"], ["x"])) if case.body is not None else None)
        )
        response = http.request(
            case.method,
            _path(case.route, world),
            headers=headers,
            json=body,
            params=case.params,
            content=case.content,
        )
        want = expected(case, caller)
        if response.status_code != want:
            wrong.append(
                f"{case.method} {case.route} as {caller}: {response.status_code} (want {want}) {response.text[:200]}"
            )
        elif want >= 400:
            error = response.json()["error"]
            assert set(error) == {"type", "message", "field", "value"} and error["message"]
    http.close()
    assert wrong == []


def test_a_key_of_project_b_sees_nothing_of_project_a(live_server: LiveServer, tmp_path: Path) -> None:
    world = _setup(live_server, tmp_path)
    headers = {"Authorization": f"Bearer {world.keys['b_admin']}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=headers) as b:
        assert [p["name"] for p in b.get("/projects").json()["items"]] == ["B"]
        a = world.ids["a"]
        assert b.get(f"/projects/{a}").status_code == 403
        assert (
            b.post(f"/projects/{a}/imports", params={"name": "x", "kind": "prediction"}, content=box_line()).status_code
            == 403
        )
        assert b.get(f"/imports/{world.ids['job']}/statuses").status_code == 403
    viewer = {"Authorization": f"Bearer {world.keys['a_viewer']}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=viewer) as v:
        assert [p["name"] for p in v.get("/projects").json()["items"]] == ["A"]
        assert v.get(f"/projects/{world.ids['b']}").status_code == 403


def test_unknown_ids_are_404_and_other_organisations_are_invisible(live_server: LiveServer, tmp_path: Path) -> None:
    world = _setup(live_server, tmp_path)
    db = Database(live_server.database_url, migrate=False)
    stranger = auth.create_api_key(db, organization="other", email="s@other.org", is_admin=True).secret
    db.dispose()
    with httpx.Client(base_url=live_server.url + "/api/v1", headers={"Authorization": f"Bearer {stranger}"}) as s:
        for path in (f"/projects/{world.ids['a']}", f"/datasets/{world.ids['ds']}", f"/imports/{world.ids['job']}"):
            response = s.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["type"] == "NotFoundError"
        assert s.get("/projects").json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", [1, 2])
def test_lists_are_paginated(live_server: LiveServer, limit: int) -> None:
    headers = {"Authorization": f"Bearer {live_server.admin_key}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=headers) as c:
        for i in range(3):
            c.post("/datasets", json={"name": f"d{i}"}).raise_for_status()
        names, cursor = [], None
        while True:
            page = c.get("/datasets", params={"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
            names += [d["name"] for d in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert names == ["d0", "d1", "d2"]
        bad = c.get("/datasets", params={"cursor": "nope"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"
