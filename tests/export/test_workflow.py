"""Review workflow: actions, their checks, history with task names, ground-truth import hook, CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from labelport.cli import transfer_commands, workflow_commands
from labelport.errors import ConflictError, ValidationError
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport, MALPredictionImport


def image_project(client: Client, n: int = 3) -> tuple[Any, list[str]]:
    dataset = client.create_dataset("d")
    specs = [
        {"row_data": f"https://example.org/{i}.png", "global_key": f"g{i}", "media_type": "image"} for i in range(n)
    ]
    assert dataset.create_data_rows(specs).errors is None
    ids = client.get_data_row_ids_for_global_keys([s["global_key"] for s in specs])["results"]
    project = client.create_project("p", media_type="image")
    project.connect_ontology(
        client.create_ontology("o", {"tools": [{"tool": "rectangle", "name": "box"}]}, media_type="image")
    )
    project.create_batch("b", ids)
    return project, ids


def box(row_id: str) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "dataRow": {"id": row_id},
        "name": "box",
        "bbox": {"top": 1, "left": 1, "height": 2, "width": 2},
    }


def test_review_cycle_and_history(client: Client) -> None:
    project, ids = image_project(client)
    MALPredictionImport.create_from_objects(client, project.uid, "mal", [box(ids[0])])
    assert project.workflow_status(ids[0]).status == "ToLabel"  # pre-labels leave the row to label
    LabelImport.create_from_objects(client, project.uid, "gt", [box(ids[0]), box(ids[1])])
    assert [project.workflow_status(i).status for i in ids] == ["InReview", "InReview", "ToLabel"]
    with pytest.raises(
        ConflictError,  # the row's current status forbids it: 409 over HTTP
        match=r"cannot APPROVE data row .*: it is ToLabel \('Initial labeling task'\); APPROVE needs InReview",
    ):
        project.approve([ids[1], ids[2]])
    assert project.workflow_status(ids[1]).status == "InReview"  # all or none
    project.reject([ids[0]], seconds_to_review=3, reason="missed the lesion")
    LabelImport.create_from_objects(client, project.uid, "fix", [box(ids[0])])  # a re-import of a reworked row
    project.approve([ids[0]], seconds_to_review=4)
    history = project.workflow_history(ids[0])
    assert [(h.action.value, h.from_task, h.to_task) for h in history] == [
        ("APPROVE", "Initial review task", "Done"),
        ("REWORK", "Rework (all rejected)", "Initial review task"),
        ("REJECT", "Initial review task", "Rework (all rejected)"),
        ("MOVE", "Initial labeling task", "Initial review task"),
        ("MOVE", None, "Initial labeling task"),
    ]
    assert all(h.actor == client.hub.actor for h in history[:-1])
    assert [h.reason for h in history] == [None, None, "missed the lesion", None, None]  # the reason, both backends
    [row] = project.export_v2(
        {"project_details": True, "label_details": True, "performance_details": True}, {"data_row_ids": [ids[0]]}
    ).result
    block = row["projects"][project.uid]
    assert block["project_details"]["workflow_history"][0] == {
        "action": "APPROVE",
        "created_at": history[0].at.isoformat(timespec="microseconds"),
        "created_by": client.hub.actor,
        "previous_task_name": "Initial review task",
        "previous_task_id": block["project_details"]["workflow_history"][1]["next_task_id"],
    }
    label = block["labels"][0]
    assert [r["action"] for r in label["label_details"]["reviews"]] == ["APPROVE", "REJECT"]
    assert label["performance_details"]["seconds_to_review"] == 7
    project.move_data_rows([ids[0]], "ToLabel")
    assert project.workflow_status(ids[0]).task_name == "Initial labeling task"


def test_ground_truth_straight_to_done(client: Client) -> None:
    project, ids = image_project(client, 1)
    project.set_workflow("Done")
    LabelImport.create_from_objects(client, project.uid, "gt", [box(ids[0])])
    assert project.workflow_status(ids[0]).status == "Done"
    with pytest.raises(ValidationError, match="InReview or Done"):
        project.set_workflow("InRework")


def test_cli_export_and_workflow(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, ids = image_project(client, 2)
    LabelImport.create_from_objects(client, project.uid, "gt", [box(ids[0])])
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LABELPORT_DATABASE_URL", client.hub.db.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.callback()(lambda: None)
    workflow_commands.register(app)
    transfer_commands.register(app)
    runner = CliRunner()
    result = runner.invoke(
        app, ["workflow", "reject", "--project", project.uid, ids[0], "--reason", "box too loose", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    LabelImport.create_from_objects(client, project.uid, "fix", [box(ids[0])])  # back to review
    result = runner.invoke(app, ["workflow", "approve", "--project", project.uid, ids[0], "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == ["data_row_id,status,task_name", f"{ids[0]},Done,Done"]
    result = runner.invoke(app, ["workflow", "history", "--project", project.uid, ids[0], "--format", "json"])
    assert [(h["action"], h["reason"]) for h in json.loads(result.stdout)][:3] == [
        ("APPROVE", None),
        ("REWORK", None),
        ("REJECT", "box too loose"),
    ]
    target = tmp_path / "out.ndjson"
    result = runner.invoke(
        app,
        [
            "export",
            "labelbox",
            "--project",
            project.uid,
            "--workflow-status",
            "Done",
            "--include",
            "project_details",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"exported 1 data rows (2 annotations) to {target}"  # the box and its fix
    [row] = [json.loads(line) for line in target.read_text().splitlines()]
    assert (
        row["data_row"]["id"] == ids[0] and row["projects"][project.uid]["project_details"]["workflow_status"] == "DONE"
    )
    result = runner.invoke(
        app, ["export", "labelbox", "--project", project.uid, "--workflow-status", "Finished", "-o", str(target)]
    )
    assert result.exit_code == 1
    assert "workflow status must be one of ToLabel, InReview, InRework, Done; found 'Finished'" in result.stderr
