"""The authorisation matrix: every route of the server's ``/openapi.json`` x every kind of caller.

The routes come from the running server's OpenAPI document, their paths filled in from the parameters'
names, so a new route is probed the moment it exists. Two kinds of expectation:

- invariants every route gets, a new one included: no, an unknown or a revoked key gets 401; a key of
  another organisation gets no 2xx on a route naming one of this organisation's objects, and no answer of
  any route shows one of their ids; a key with a role in project B only gets no 2xx on a route naming an
  object of project A, and no answer shows one of project A's ids;
- the exact status per caller from ``CASES`` (who may do what, ``service.auth.ALLOWED``); a route without
  one fails ``test_every_route_has_exact_rules`` while its invariants are still checked.

The callers: an organisation admin; admin, reviewer, labeler and viewer of project A; the admin of project
B; an admin of another organisation; a labeler of A who tried to create a project of its own (and must not
have gained anything by it); no key, a bogus one, a revoked one. It runs on SQLite and PostgreSQL and
reports the routes x callers checked and the leaks found.
"""

from __future__ import annotations

import base64
import io
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from PIL import Image

from labelport.service import auth
from labelport.service.synthetic import write_image
from labelport.store import Database
from tests.api.server import LiveServer

ORG_A = ("org_admin", "a_admin", "a_reviewer", "a_labeler", "a_viewer", "self_made", "b_admin")
UNAUTHENTICATED_CALLERS = ("no_key", "revoked", "bogus")
CALLERS = (*ORG_A, "other_org", *UNAUTHENTICATED_CALLERS)
A_ROLES = ("org_admin", "a_admin", "a_reviewer", "a_labeler", "a_viewer", "self_made")
LABELERS = ("a_labeler", "self_made")
AUTHENTICATED = ORG_A
CATALOG_WRITERS = ("org_admin", "a_admin", "b_admin")
ORG_ADMINS = ("org_admin",)
PROJECT_A_ADMINS = ("org_admin", "a_admin")
# Path parameters that name an object of one project: a key without a role there must get no 2xx.
PROJECT_SCOPED = frozenset({"project_id", "job_id", "batch_id", "feature_id"})
UNAUTHENTICATED = ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")


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

    images = [write_image(tmp_path / f"img{i}.png", 20, 10) for i in range(22)]
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
    reviewed = rows[12:22]
    post(f"/projects/{a}/batches", {"name": "review", "data_row_ids": reviewed})
    truth = b"\n".join([mask_line("img-0"), *(box_line(f"img-{i}") for i in range(12, 22))])
    imported = post(f"/projects/{a}/imports?name=truth&kind=ground_truth", None, content=truth)
    while imported["state"] not in ("FINISHED", "FAILED"):
        time.sleep(0.05)
        imported = admin.get(f"/imports/{imported['id']}").json()
    assert (imported["state"], imported["failed"]) == ("FINISHED", 0), imported
    post(f"/projects/{a}/workflow/actions", {"action": "REJECT", "data_row_ids": reviewed[5:]})
    items_job = post(f"/projects/{a}/imports/items?name=items&kind=prediction", None, content=empty_items())["id"]
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
    # A labeler who tries to make a project of its own: refused, so it stays a labeler of A and nothing more.
    keys["self_made"] = server.key("self-made@x.org", project=a, role="labeler")
    attempt = httpx.post(
        f"{server.url}/api/v1/projects",
        json={"name": "mine", "media_type": "image"},
        headers={"Authorization": f"Bearer {keys['self_made']}"},
    )
    assert attempt.status_code == 403, attempt.text
    db = Database(server.database_url, migrate=False)
    keys["other_org"] = auth.create_api_key(db, organization="other", email="o@other.org", is_admin=True).secret
    db.dispose()
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
        "items_job": items_job,
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


def empty_items() -> bytes:
    """A zip holding an items list of no tasks: an items import that creates nothing."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("items.json", "[]")
    return buffer.getvalue()


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
    """A route's exact rule: its success status, who gets it (the others of organisation A get 403), what
    another organisation's admin gets (404 where the path names our objects), and how to call it."""

    method: str
    route: str  # as in the OpenAPI document
    ok: int
    allowed: tuple[str, ...]
    body: Body | None = None
    params: dict[str, str] | None = None
    content: bytes | None = None
    other_org: int | None = None  # default: 404 when the path names an object, else ``ok``


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
    Case("POST", "/api/v1/datasets", 201, ORG_ADMINS, body=lambda w: {"name": "new"}),
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
    Case("POST", "/api/v1/projects", 201, ORG_ADMINS, body=lambda w: {"name": "mine", "media_type": "image"}),
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
        ("org_admin", "a_admin", "a_reviewer", *LABELERS),
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
    Case(
        "POST",
        "/api/v1/projects/{project_id}/imports/items",
        202,
        PROJECT_A_ADMINS,  # it creates data rows and a batch besides labels
        params={"name": "items", "kind": "prediction"},
        content=empty_items(),
    ),
    Case("GET", "/api/v1/imports/{job_id}/items", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/imports", 200, A_ROLES),
    Case("GET", "/api/v1/imports/{job_id}", 200, A_ROLES),
    Case("GET", "/api/v1/imports/{job_id}/statuses", 200, A_ROLES),
    Case("POST", "/api/v1/projects/{project_id}/exports", 202, A_ROLES, body=lambda w: {"params": {}}),
    Case("POST", "/api/v1/projects/{project_id}/export-labels", 202, A_ROLES, body=lambda w: {"start": "2000-01-01"}),
    Case("GET", "/api/v1/exports/{job_id}", 200, A_ROLES),
    Case("GET", "/api/v1/exports/{job_id}/download", 200, A_ROLES),
    Case("GET", "/api/v1/exports/{job_id}/files/{path}", 200, A_ROLES),
    Case("GET", "/api/v1/projects/{project_id}/annotations/{feature_id}/index/{frame}/mask", 200, A_ROLES),
    # Encord label rows read labels: the export role (every role of the project).
    Case(
        "POST",
        "/api/v1/projects/{project_id}/encord/label-rows",
        200,
        A_ROLES,
        body=lambda w: {"kind": "ground_truth", "data_row_ids": [w.ids["row"]]},
    ),
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
        ("org_admin", "a_admin", "a_reviewer", *LABELERS),
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
        ("org_admin", "a_admin", "a_reviewer", *LABELERS),
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


def _path(route: str, world: World) -> str:
    values = {
        "dataset_id": world.ids["ds"],
        "data_row_id": world.ids["row"],
        "ontology_id": world.ids["ont"],
        "project_id": world.ids["a"],
        "batch_id": world.ids["batch"],
        "job_id": world.ids["export"]
        if "/exports/{job_id}" in route
        else world.ids["items_job"]
        if route.endswith("/items")
        else world.ids["job"],
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
    names = re.findall(r"{(\w+)}", route)
    unknown = [n for n in names if n not in values]
    assert not unknown, f"{route}: no value for path parameter(s) {unknown}; add them to _path"
    return route.format(**{n: values[n] for n in names})


def expected(case: Case, caller: str) -> int:
    if caller in UNAUTHENTICATED_CALLERS:
        return 401
    if caller == "other_org":
        if case.other_org is not None:
            return case.other_org
        return 404 if "{" in case.route else case.ok
    if caller in case.allowed:
        return case.ok
    names = set(re.findall(r"{(\w+)}", case.route))
    if caller == "b_admin" and names & {"job_id", "batch_id"} and "project_id" not in names:
        return 404  # a job or batch of a project it has no role in: it does not learn it exists
    return 403


def openapi_routes(server: LiveServer) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation the running server documents, but the few that need no key."""
    schema = httpx.get(f"{server.url}/openapi.json").json()
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        if path not in UNAUTHENTICATED
        for method, operation in item.items()
    }


def test_every_route_has_exact_rules() -> None:
    from labelport.api import create_app

    schema = create_app().openapi()
    routes = {(m.upper(), p) for p, item in schema["paths"].items() for m in item if p not in UNAUTHENTICATED}
    missing = routes - {(c.method, c.route) for c in CASES}
    assert not missing, f"routes without exact rules in CASES (their invariants are still checked): {sorted(missing)}"
    assert {(c.method, c.route) for c in CASES} <= routes, "CASES names routes the server no longer has"


@dataclass
class Report:
    probes: int = 0
    wrong: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


def _leaks(caller: str, route: str, response: httpx.Response, world: World) -> list[str]:
    """What ``caller`` must never get from ``route``: a 2xx for an object it may not see, or those ids."""
    names = set(re.findall(r"{(\w+)}", route))
    if caller == "other_org":
        hidden = list(world.ids.values())
        forbidden_2xx = bool(names)
    elif caller == "b_admin":
        hidden = [world.ids[k] for k in ("a", "batch", "job", "export", "items_job")]
        forbidden_2xx = bool(names & PROJECT_SCOPED)
    else:
        return []
    found = []
    if forbidden_2xx and response.is_success:
        found.append(f"{caller} got {response.status_code} on {route}")
    # Ids the request itself named may come back in its error message: only others are leaks.
    asked = str(response.request.url) + response.request.content.decode("utf-8", "replace")
    shown = [i for i in hidden if i in response.text and i not in asked]
    if shown:
        found.append(f"{caller} saw {shown} in the answer of {route}")
    return found


def test_authorization_matrix(live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = _setup(live_server, tmp_path)
    routes = openapi_routes(live_server)
    rules: dict[tuple[str, str], list[Case]] = {}
    for case in CASES:
        rules.setdefault((case.method, case.route), []).append(case)
    report = Report()
    http = httpx.Client(base_url=live_server.url, timeout=60)
    # In CASES order (a member is added before one is removed), then the routes without exact rules, which
    # are still probed, with an empty body, for the invariants.
    ordered = [*rules, *sorted(set(routes) - set(rules))]
    for method, route in ordered:
        for case in rules.get((method, route), [Case(method, route, 0, (), body=lambda w: {})]):
            for caller in CALLERS:
                key = world.keys[caller]
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                want = expected(case, caller) if case.ok else None
                spare = World(world.ids, world.keys, ["x"], ["x"], ["x"])
                body = None
                if case.body is not None:
                    body = case.body(world) if want is not None and want < 300 else case.body(spare)
                response = http.request(
                    method,
                    _path(route, world),
                    headers=headers,
                    json=body,
                    params=case.params,
                    content=case.content,
                )
                report.probes += 1
                report.leaks += _leaks(caller, route, response, world)
                if caller in UNAUTHENTICATED_CALLERS and want is None:
                    want = 401
                if want is not None and response.status_code != want:
                    report.wrong.append(
                        f"{method} {route} as {caller}: {response.status_code} (want {want}) {response.text[:200]}"
                    )
                elif response.status_code >= 400:
                    error = response.json()["error"]
                    assert set(error) == {"type", "message", "field", "value"} and error["message"]
    http.close()
    with capsys.disabled():
        print(
            f"\nauthorisation matrix on {live_server.database_url.split(':')[0]}: {len(routes)} routes x "
            f"{len(CALLERS)} callers, {report.probes} requests, {len(report.leaks)} leaks, "
            f"{len(report.wrong)} unexpected statuses"
        )
    assert report.leaks == [], "\n".join(report.leaks)
    assert report.wrong == [], "\n".join(report.wrong)


def test_a_labeler_cannot_raise_itself_by_creating_a_project(live_server: LiveServer) -> None:
    """The escalation the matrix closes: a labeler's project of its own would have made it a catalog
    writer (project admins write the catalog). Creating projects and datasets needs an organisation admin."""
    headers = {"Authorization": f"Bearer {live_server.key('l@x.org')}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=headers) as labeler:
        assert labeler.post("/projects", json={"name": "mine", "media_type": "image"}).status_code == 403
        assert labeler.post("/datasets", json={"name": "mine"}).status_code == 403
        tools = {"tools": [{"tool": "point", "name": "p"}]}
        assert labeler.post("/ontologies", json={"name": "o", "normalized": tools}).status_code == 403
        assert labeler.get("/projects").json()["items"] == []


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
        assert b.get(f"/imports/{world.ids['job']}/statuses").status_code == 404  # not even its existence
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
