"""Writers at once, over HTTP against one server per backend: parallel approve and reject of the same rows,
parallel imports into the same rows, identical uploads, one new mask from two imports. No server error, no
lost update, no transition applied twice."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from labelport.store.schema import annotation_rows, jobs, labels, workflow_history
from tests.api.server import LiveServer
from tests.security.workspace import box, inline_seg, ndjson, ok, wait_import, workspace

ROWS = 24


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls on threads released at the same moment; their results in order."""
    results: list[Any] = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(i: int) -> None:
        gate.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def clients(server: LiveServer, n: int) -> list[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    return [httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=120) for _ in range(n)]


def test_approve_and_reject_of_one_row_at_once(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media", rows=ROWS)
    body = ndjson([box(f"img-{i}") for i in range(ROWS)])
    job = ok(
        ws.http.post(f"/projects/{ws.project}/imports", params={"name": "gt", "kind": "ground_truth"}, content=body)
    )
    assert wait_import(ws.http, job["id"])["succeeded"] == ROWS  # every row is now in review
    a, b = clients(live_server, 2)
    actions = f"/projects/{ws.project}/workflow/actions"
    outcomes: list[tuple[int, int]] = []
    for row in ws.rows:

        def act(http: httpx.Client, action: str, row: str = row) -> int:
            return http.post(actions, json={"action": action, "data_row_ids": [row]}).status_code

        approve, reject = together([lambda: act(a, "APPROVE"), lambda: act(b, "REJECT")])
        outcomes.append((approve, reject))
    assert all(sorted(o) == [200, 409] for o in outcomes), outcomes
    engine = sa.create_engine(live_server.database_url)
    with engine.connect() as conn:
        reviews = Counter(
            conn.execute(
                sa.select(workflow_history.c.data_row_id).where(
                    workflow_history.c.action.in_(["APPROVE", "REJECT"]), workflow_history.c.project_id == ws.project
                )
            ).scalars()
        )
    engine.dispose()
    assert set(reviews) == set(ws.rows) and set(reviews.values()) == {1}  # one transition per row, no more
    conflict = a.post(actions, json={"action": "APPROVE", "data_row_ids": [ws.rows[0]]})
    assert conflict.status_code == 409 and conflict.json()["error"]["field"] == "action"
    assert conflict.json()["error"]["value"] in ("Done", "InRework")  # the loser learns the current state


def test_imports_into_the_same_rows_at_once(live_server: LiveServer, tmp_path: Path) -> None:
    """Four imports touching the same rows and uuids at once: all finish, and each row ends with one label
    holding exactly one annotation per uuid (the last import's)."""
    ws = workspace(live_server, tmp_path / "media", rows=ROWS)
    shared = [box(f"img-{i}", uid=f"00000000-0000-4000-8000-{i:012d}") for i in range(ROWS)]
    bodies = [ndjson([*shared, *(box(f"img-{i}") for i in range(ROWS))]) for _ in range(4)]
    https = clients(live_server, 4)
    started = together(
        [
            lambda h=h, body=body: h.post(
                f"/projects/{ws.project}/imports", params={"name": "same", "kind": "prediction"}, content=body
            )
            for h, body in zip(https, bodies, strict=True)
        ]
    )
    assert [r.status_code for r in started] == [202] * 4
    finished = [wait_import(ws.http, r.json()["id"]) for r in started]
    assert [(j["state"], j["failed"]) for j in finished] == [("FINISHED", 0)] * 4, [j.get("error") for j in finished]
    engine = sa.create_engine(live_server.database_url)
    with engine.connect() as conn:
        n_labels = conn.execute(sa.select(sa.func.count()).select_from(labels)).scalar_one()
        uuids = Counter(conn.execute(sa.select(annotation_rows.c.uuid)).scalars())
    engine.dispose()
    assert n_labels == ROWS
    assert all(uuids[b["uuid"]] == 1 for b in shared)
    assert sum(uuids.values()) == ROWS + 4 * ROWS  # the shared uuids once, each import's own ones all


def test_identical_uploads_and_one_new_mask_from_two_imports(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media", rows=ROWS)
    same = ndjson([box(f"img-{i}", uid=f"00000000-0000-4000-8000-{i:012d}") for i in range(ROWS)])
    https = clients(live_server, 6)
    post = lambda h, body: h.post(  # noqa: E731
        f"/projects/{ws.project}/imports", params={"name": "u", "kind": "prediction"}, content=body
    )
    uploads = together([lambda h=h: post(h, same) for h in https])
    assert [r.status_code for r in uploads] == [202] * 6, [r.text for r in uploads]
    assert [wait_import(ws.http, r.json()["id"])["failed"] for r in uploads] == [0] * 6
    # The same mask PNG, new to the store, from two imports (of two projects) at once.
    other = workspace_in(live_server, ws, tmp_path)
    masks = [orjson.dumps(inline_seg(f"img-{i}")) for i in range(3)]
    two = together(
        [
            lambda: post(https[0], b"\n".join(masks)),
            lambda: https[1].post(
                f"/projects/{other}/imports", params={"name": "m", "kind": "prediction"}, content=b"\n".join(masks)
            ),
        ]
    )
    assert [r.status_code for r in two] == [202, 202]
    assert [wait_import(ws.http, r.json()["id"])["succeeded"] for r in two] == [3, 3]


def workspace_in(server: LiveServer, ws: Any, tmp_path: Path) -> str:
    """A second project on the same rows and ontology."""
    first = ok(ws.http.get(f"/projects/{ws.project}"))
    project = ok(ws.http.post("/projects", json={"name": "second", "media_type": "image"}))["id"]
    ok(ws.http.put(f"/projects/{project}/ontology", json={"ontology_id": first["ontology_id"]}))
    ok(ws.http.post(f"/projects/{project}/batches", json={"name": "all", "data_row_ids": ws.rows}))
    return str(project)


def test_an_import_checking_its_lines_holds_no_write_lock(live_server: LiveServer, tmp_path: Path) -> None:
    """Checking (reading lines, decoding masks) happens before the write transaction: meanwhile other
    writers go on, on SQLite too, where the import used to hold the one write lock from its first line."""
    ws = workspace(live_server, tmp_path / "media", rows=ROWS)
    body = ndjson([box(f"img-{i % ROWS}") for i in range(60_000)])
    job = ok(
        ws.http.post(f"/projects/{ws.project}/imports", params={"name": "big", "kind": "prediction"}, content=body)
    )
    engine = sa.create_engine(live_server.database_url)
    wrote_while_checking = False
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        while time.monotonic() < deadline and not wrote_while_checking:
            row = conn.execute(sa.select(jobs.c.state, jobs.c.progress_done).where(jobs.c.id == job["id"])).one()
            conn.rollback()
            assert row.state in ("QUEUED", "RUNNING"), "the import ended before it was seen checking"
            if row.state == "RUNNING" and 0 < row.progress_done < 60_000:
                if engine.dialect.name == "sqlite":
                    probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
                    try:
                        probe.execute("BEGIN IMMEDIATE")
                        probe.execute("ROLLBACK")
                        wrote_while_checking = True
                    except sqlite3.OperationalError:
                        pass  # a progress count being written: try again
                    finally:
                        probe.close()
                else:
                    wrote_while_checking = ws.http.post("/datasets", json={"name": "meanwhile"}).status_code == 201
            time.sleep(0.005)
    engine.dispose()
    assert wrote_while_checking
    assert wait_import(ws.http, job["id"])["succeeded"] == 60_000
