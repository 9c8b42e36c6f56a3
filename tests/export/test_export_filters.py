"""Every export filter and their combinations on a project of 50 data rows with known histories.

Row i: status by i % 4 (ToLabel without a label, InReview, InRework, Done); batch b1 (i < 25) or b2; its
ground-truth label created on 2024-01-01 + i days; its last activity on 2024-03-01 + i days at 12:00 UTC.
The expected rows of each case come from a plain Python predicate over that table.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labelport.errors import ValidationError
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport, MALPredictionImport
from labelport.service import exports
from labelport.store.schema import data_rows, labels, workflow_history, workflow_tasks

STATUSES = ["ToLabel", "InReview", "InRework", "Done"]
N = 50


def created(i: int) -> datetime:
    return datetime(2024, 1, 1, 8, tzinfo=UTC) + timedelta(days=i)


def active(i: int) -> datetime:
    return datetime(2024, 3, 1, 12, tzinfo=UTC) + timedelta(days=i)


def build(client: Client) -> tuple[Any, list[str], list[str]]:
    dataset = client.create_dataset("rows")
    specs = [
        {"row_data": f"https://example.org/{i}.png", "global_key": f"k{i}", "media_type": "image"} for i in range(N)
    ]
    assert dataset.create_data_rows(specs).errors is None
    ids = client.get_data_row_ids_for_global_keys([f"k{i}" for i in range(N)])["results"]
    ontology = client.create_ontology("o", {"tools": [{"tool": "rectangle", "name": "box"}]}, media_type="image")
    project = client.create_project("filters", media_type="image")
    project.connect_ontology(ontology)
    b1 = project.create_batch("b1", ids[:25]).uid
    b2 = project.create_batch("b2", ids[25:]).uid
    box = {"top": 1, "left": 2, "height": 3, "width": 4}
    truth = [
        {"uuid": str(uuid.uuid4()), "dataRow": {"id": ids[i]}, "name": "box", "bbox": box} for i in range(N) if i % 4
    ]
    assert LabelImport.create_from_objects(client, project.uid, "gt", truth).errors == []
    # pre-labels on a ToLabel row leave it To label and add no label to the export
    prelabel = [{"uuid": str(uuid.uuid4()), "dataRow": {"id": ids[0]}, "name": "box", "bbox": box}]
    assert MALPredictionImport.create_from_objects(client, project.uid, "mal", prelabel).errors == []
    project.reject([ids[i] for i in range(N) if i % 4 == 2])
    project.approve([ids[i] for i in range(N) if i % 4 == 3], seconds_to_review=5)
    with client.hub.transaction() as conn:
        for i, row_id in enumerate(ids):
            conn.execute(
                data_rows.update().where(data_rows.c.id == row_id).values(updated_at=datetime(2023, 6, 1, tzinfo=UTC))
            )
            conn.execute(
                labels.update()
                .where(labels.c.data_row_id == row_id)
                .values(created_at=created(i), updated_at=created(i))
            )
            conn.execute(
                workflow_tasks.update().where(workflow_tasks.c.data_row_id == row_id).values(updated_at=active(i))
            )
            conn.execute(workflow_history.update().where(workflow_history.c.data_row_id == row_id).values(at=active(i)))
    return project, ids, [b1, b2]


Predicate = Callable[[int], bool]


def cases(ids: list[str], batches: list[str]) -> list[tuple[str, dict[str, Any], Predicate]]:
    base: list[tuple[str, dict[str, Any], Predicate]] = [
        ("none", {}, lambda i: True),
        *[(f"status {s}", {"workflow_status": s}, lambda i, k=k: i % 4 == k) for k, s in enumerate(STATUSES)],
        ("batch b1", {"batch_ids": [batches[0]]}, lambda i: i < 25),
        ("batch b2", {"batch_ids": [batches[1]]}, lambda i: i >= 25),
        ("both batches", {"batch_ids": batches}, lambda i: True),
        ("data row ids", {"data_row_ids": ids[5:20]}, lambda i: 5 <= i < 20),
        ("global keys", {"global_keys": [f"k{i}" for i in range(10, 40, 3)]}, lambda i: i in range(10, 40, 3)),
        ("activity from", {"last_activity_at": ["2024-03-20 12:00:00", None]}, lambda i: i >= 19),
        ("activity until", {"last_activity_at": [None, "2024-03-10 11:59:59"]}, lambda i: i < 9),
        ("activity until day", {"last_activity_at": [None, "2024-03-10"]}, lambda i: i <= 9),
        ("activity between", {"last_activity_at": ["2024-03-05", "2024-03-15"]}, lambda i: 4 <= i <= 14),
        (
            "activity iso",
            {"last_activity_at": ["2024-03-11T14:30:00+0230", "2024-04-01T00:00:00-0100"]},
            lambda i: 10 <= i <= 30,
        ),
        ("label created from", {"label_created_at": ["2024-01-31", None]}, lambda i: i % 4 != 0 and i >= 30),
        ("label created until", {"label_created_at": [None, "2024-01-10 08:00:00"]}, lambda i: i % 4 != 0 and i <= 9),
        (
            "label created both",
            {"label_created_at": ["2024-01-05", "2024-02-05"]},
            lambda i: i % 4 != 0 and 4 <= i <= 35,
        ),
        ("label created open", {"label_created_at": [None, None]}, lambda i: True),
    ]
    combined = []
    for (na, fa, pa), (nb, fb, pb) in itertools.combinations(base[1:], 2):
        if set(fa) & set(fb) or {"data_row_ids", "global_keys"} <= set(fa) | set(fb):
            continue
        combined.append((f"{na} & {nb}", {**fa, **fb}, lambda i, pa=pa, pb=pb: pa(i) and pb(i)))
    triple = (
        "status, batch, label created, activity",
        {
            "workflow_status": "Done",
            "batch_ids": [batches[1]],
            "label_created_at": ["2024-01-20", None],
            "last_activity_at": [None, "2024-04-15"],
        },
        lambda i: i % 4 == 3 and i >= 25 and i <= 45,
    )
    return [*base, *combined, triple]


def test_every_filter_and_combination(client: Client) -> None:
    project, ids, batches = build(client)
    table = cases(ids, batches)
    assert len(table) > 100
    for name, filters, predicate in table:
        expected = sorted(ids[i] for i in range(N) if predicate(i))
        got = [item.data_row.id for item in exports.items(client.hub, project.uid, filters)]
        assert got == expected, name
        assert exports.count(client.hub, project.uid, filters) == len(expected), name

    rows = {
        r["data_row"]["id"]: r
        for r in project.export_v2({"project_details": True, "label_details": True, "performance_details": True}).result
    }
    to_label = rows[ids[0]]["projects"][project.uid]
    assert to_label["labels"] == [] and to_label["project_details"]["workflow_status"] == "TO_LABEL"
    done = rows[ids[3]]["projects"][project.uid]
    assert done["project_details"]["workflow_status"] == "DONE"
    assert [h["action"] for h in done["project_details"]["workflow_history"]][-1] == "MOVE"
    [label] = done["labels"]
    assert label["performance_details"]["seconds_to_review"] == 5
    assert [r["action"] for r in label["label_details"]["reviews"]] == ["APPROVE"]
    rework = rows[ids[2]]["projects"][project.uid]["project_details"]
    assert rework["workflow_status"] == "IN_REWORK" and rework["task_name"] == "Rework (all rejected)"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"data_row_ids": ["a"], "global_keys": ["b"]}, "data_row_ids and global_keys cannot both be given"),
    ({"data_row_ids": [f"x{i}" for i in range(2001)]}, "data_row_ids takes at most 2000 items, found 2001"),
    ({"global_keys": []}, "global_keys must not be empty"),
    ({"batch_ids": "b1"}, "batch_ids must be a list of strings, found 'b1'"),
    (
        {"workflow_status": "Reviewing"},
        "workflow status must be one of ToLabel, InReview, InRework, Done; found 'Reviewing'",
    ),
    ({"last_activity_at": ["2024-13-01", None]}, "last_activity_at start '2024-13-01' is not a date"),
    ({"last_activity_at": "2024-01-01"}, "filter last_activity_at must be [start, end]"),
    (
        {"label_created_at": ["2024-02-01", "2024-01-01"]},
        "filter label_created_at ends (2024-01-01) before it starts (2024-02-01)",
    ),
    ({"labels_created_at": [None, None]}, "unknown export filter 'labels_created_at'"),
]


@pytest.mark.parametrize(("filters", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_filters_fail_before_any_work(filters: dict[str, Any], message: str, tmp_path: Path) -> None:
    with Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}") as client:
        project = client.create_project("p", media_type="image")
        with pytest.raises(ValidationError) as error:
            project.export_v2({}, filters)
        assert message in str(error.value)
        assert not (tmp_path / "home" / "exports").exists()
        with pytest.raises(ValidationError, match="unknown export param 'label_detail'"):
            project.export_v2({"label_detail": True})
        with pytest.raises(ValidationError, match="export param 'attachments' must be true or false, found 'yes'"):
            project.export_v2({"attachments": "yes"})
