"""What the command line prints: lists in three formats with ids whole, data rows by global key, the
version, the import's progress, placeholders in help, exports to relative paths with masks."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import labelport
from labelport.api import ServerConfig
from labelport.api.server import bootstrap, start_lines
from labelport.cli.main import app
from labelport.errors import AuthenticationError
from labelport.service import auth
from labelport.store import Database

from .test_cli import _command_paths

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo in a fresh store, on an 80-column terminal, from a working folder of its own."""
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    assert invoke("demo")[0] == 0
    [project] = json.loads(invoke("project", "list", "--format", "json")[1])
    [dataset] = json.loads(invoke("dataset", "list", "--format", "json")[1])
    rows = json.loads(invoke("data-rows", "list", dataset["id"], "--format", "json")[1])
    return {"project": project, "dataset": dataset, "rows": {r["global_key"]: r for r in rows}, "folder": tmp_path}


def test_lists_in_three_formats_with_ids_whole_at_80_columns(demo: dict[str, Any]) -> None:
    project = demo["project"]
    assert set(project) == {"id", "name", "media_type", "ontology_id"}
    assert len(project["id"]) == 25 and len(project["ontology_id"]) == 25
    code, table, _ = invoke("project", "list")
    assert code == 0
    assert project["id"] in table and project["ontology_id"] in table  # whole, not cut at 80 columns
    code, text, _ = invoke("project", "list", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(text))) == [
        {k: v or "" for k, v in project.items()}  # csv: None is an empty cell
    ]
    code, table, _ = invoke("data-rows", "list", demo["dataset"]["id"])
    for key, row in demo["rows"].items():
        assert key in table and row["id"] in table
    assert demo["rows"]["demo/phantom-series"]["size"] == "64 x 64 x 16"
    [ontology] = json.loads(invoke("ontology", "list", "--format", "json")[1])
    assert ontology["id"] == project["ontology_id"]
    assert ontology["tools"] == "segmentation_mask_dicom (raster-segmentation), line_dicom (line)"
    [batch] = json.loads(invoke("batch", "list", project["id"], "--format", "json")[1])
    assert (batch["name"], batch["size"], batch["priority"]) == ("first-batch-dicom-demo", 1, 5)
    names = [f["name"] for f in json.loads(invoke("formats", "--format", "json")[1])]
    assert names[:3] == ["labelbox_ndjson", "labelbox_export_v2", "labelbox_export_labels"]
    [key] = json.loads(invoke("keys", "list", "--format", "json")[1]) or [None]
    assert key is None  # no keys yet: an empty list is []


def test_every_list_command_takes_format() -> None:
    lists = [p for p in _command_paths(app) if p.endswith(" list") or p in ("formats", "workflow history")]
    assert len(lists) >= 8
    for path in lists:
        _code, text, _ = invoke(*path.split(), "--help")
        assert "--format table|json|csv" in text, path


def test_version() -> None:
    code, text, _ = invoke("--version")
    assert (code, text.strip()) == (0, f"labelport {labelport.__version__}")


def test_help_shows_what_to_type() -> None:
    for path in _command_paths(app):
        code, text, _ = invoke(*path.split(), "--help")
        assert code == 0, path
        assert not re.search(r"<(bool|str|int|list\[str\])>", text.split("Options:")[-1]), (path, text)
    _, text, _ = invoke("import", "--help")
    assert "--as prelabels|ground-truth" in text and "-p, --project PROJECT_ID" in text


def test_ontology_connect_batch_import_and_workflow_by_global_key(demo: dict[str, Any]) -> None:
    folder: Path = demo["folder"]
    (folder / "o.json").write_text(json.dumps({"name": "from file", "tools": [{"tool": "line", "name": "edge"}]}))
    code, out, err = invoke("ontology", "create", "o.json", "--media-type", "dicom")
    assert code == 0, err
    ontology = out.strip()
    code, out, _ = invoke("project", "create", "second", "--media-type", "dicom")
    project = out.strip()
    code, out, err = invoke("project", "connect-ontology", project, ontology)
    assert (code, out.strip()) == (0, f"project {project} uses ontology {ontology}"), err
    [listed] = [o for o in json.loads(invoke("ontology", "list", "--format", "json")[1]) if o["id"] == ontology]
    assert listed["name"] == "from file"
    series = demo["rows"]["demo/phantom-series"]
    code, _, err = invoke("batch", "create", project, "by-id", "-r", series["id"])
    assert code == 0, err
    line = {
        "uuid": "78a8a027-9089-420c-8348-6099eb77e4aa",
        "dataRow": {"globalKey": "demo/phantom-series"},
        "name": "edge",
        "groupKey": "axial",
        "segments": [{"keyframes": [{"frame": 2, "line": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]}]}],
    }
    (folder / "gt.ndjson").write_text(json.dumps(line) + "\n")
    code, out, err = invoke("import", "gt.ndjson", "-p", project, "--as", "ground-truth")
    assert code == 0, err
    assert "1 of 1 annotations imported as ground_truth, 0 failed" in out
    code, out, err = invoke("workflow", "approve", "-p", project, "demo/phantom-series", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [{"data_row_id": series["id"], "status": "Done", "task_name": "Done"}]
    code, out, err = invoke("workflow", "history", "-p", project, "demo/phantom-series", "--format", "json")
    assert [h["action"] for h in json.loads(out)] == ["APPROVE", "MOVE", "MOVE"]


def test_import_progress_counts_lines_and_each_bad_line_is_listed_once(demo: dict[str, Any]) -> None:
    folder: Path = demo["folder"]
    good = {
        "uuid": "78a8a027-9089-420c-8348-6099eb77e4aa",
        "dataRow": {"globalKey": "demo/phantom-series"},
        "name": "line_dicom",
        "groupKey": "axial",
        "segments": [{"keyframes": [{"frame": 2, "line": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]}]}],
    }
    # 5 lines: a good one, bad JSON, a blank line, a line holding an array of two objects, one without dataRow.
    text = json.dumps(good) + "\nnot json\n\n" + json.dumps([{"a": 1}, {"b": 2}]) + '\n{"uuid": "x"}\n'
    (folder / "mixed.ndjson").write_text(text)
    code, out, err = invoke("import", "labelbox", "mixed.ndjson", "-p", demo["project"]["id"])
    assert code == 1
    assert re.search(r"importing lines .* 5/5", err), err
    assert "1 of 5 annotations imported as prediction, 4 failed" in out
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert [line.split(": ")[1] for line in failed] == ["2", "4, [0]", "4, [1]", "5"]
    assert failed[-1] == "failed: 5: missing dataRow (it names the data row by id or globalKey) (uuid x)"
    assert err.strip().splitlines()[-1] == "error: 4 of 5 annotations failed (listed above)"


def _mask_line(key: str) -> dict[str, Any]:
    mask = np.zeros((64, 64, 3), np.uint8)
    mask[10:20, 12:30] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return {
        "uuid": "e2b7a1f0-3c7e-4b8a-9d71-0c9f5e6a1b22",
        "dataRow": {"globalKey": key},
        "groupKey": "axial",
        "masks": {
            "frames": [{"index": 4, "imBytes": base64.b64encode(buffer.getvalue()).decode()}],
            "instances": [{"colorRGB": [255, 255, 255], "name": "segmentation_mask_dicom"}],
        },
    }


def test_export_to_a_relative_path_with_masks(demo: dict[str, Any]) -> None:
    folder: Path = demo["folder"]
    project = demo["project"]["id"]
    (folder / "mask.ndjson").write_text(json.dumps(_mask_line("demo/phantom-series")) + "\n")
    assert invoke("import", "mask.ndjson", "-p", project, "--as", "ground-truth")[0] == 0
    code, _out, err = invoke("export", "labelbox", "-p", project, "-o", "export.ndjson")
    assert code == 0, err
    [row] = [json.loads(line) for line in (folder / "export.ndjson").read_text().splitlines()]
    frames = row["projects"][project]["labels"][0]["annotations"]["groups"]["Axial"]["frames"]
    url = frames["4"]["objects"]["e2b7a1f0-3c7e-4b8a-9d71-0c9f5e6a1b22"]["mask"]["url"]
    assert url == (folder / "export.ndjson.masks/e2b7a1f0-3c7e-4b8a-9d71-0c9f5e6a1b22/axial/4.png").as_uri()
    assert np.asarray(Image.open(url.removeprefix("file://"))).astype(bool).sum() == 10 * 18
    code, _out, err = invoke("export", "labelbox_ndjson", "-p", project, "-o", "again.ndjson")
    assert code == 0, err
    [line] = [json.loads(x) for x in (folder / "again.ndjson").read_text().splitlines()]
    assert [f["index"] for f in line["masks"]["frames"]] == [4]
    assert not list(folder.glob(".*.partial"))


def test_keys_role_needs_a_project(demo: dict[str, Any]) -> None:
    code, _, err = invoke("keys", "create", "--role", "labeler")
    assert code == 1 and "name the project with --project" in err
    code, _out, err = invoke("keys", "create", "--email", "r@x.org", "--project", demo["project"]["id"])
    assert code == 0, err  # the role defaults to viewer


def test_demo_restart_says_the_old_key_is_revoked(tmp_path: Path) -> None:
    config = ServerConfig(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'labelport.db'}")
    first = bootstrap(config, demo=True)
    second = bootstrap(config, demo=True)
    assert first.key is not None and second.key is not None
    assert second.revoked == (first.key.prefix,)
    lines = start_lines(second, "http://127.0.0.1:8000")
    assert lines[-1] == f"the demo key of an earlier start ({first.key.prefix}...) is revoked: use the key above"
    assert second.key.secret in lines[2]
    db = Database(config.database_url, home=tmp_path)
    try:
        assert auth.authenticate(db, second.key.secret).email == auth.DEFAULT_ADMIN
        with pytest.raises(AuthenticationError):
            auth.authenticate(db, first.key.secret)
    finally:
        db.dispose()


def test_licence_is_an_spdx_expression() -> None:
    # setuptools >= 77 deprecates the table form (and warns on every install); the string form needs it.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_a_failed_export_leaves_the_earlier_file_and_no_partial_one(demo: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from labelport.store.blobs import LocalBlobStore
    from labelport.store.schema import annotation_rows

    folder: Path = demo["folder"]
    project = demo["project"]["id"]
    (folder / "mask.ndjson").write_text(json.dumps(_mask_line("demo/phantom-series")) + "\n")
    assert invoke("import", "mask.ndjson", "-p", project, "--as", "ground-truth")[0] == 0
    # The label volume's file goes missing from the blob store: the export fails half-way through its row.
    db = Database(None, home=folder / "home")
    try:
        with db.engine.connect() as conn:
            blob = conn.execute(
                sa.select(annotation_rows.c.mask_blob).where(annotation_rows.c.mask_blob.is_not(None))
            ).scalar_one()
    finally:
        db.dispose()
    LocalBlobStore(folder / "home" / "blobs").path(blob).unlink()
    (folder / "export.ndjson").write_text("the export of yesterday\n")
    code, _out, err = invoke("export", "labelbox", "-p", project, "-o", "export.ndjson")
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert blob[2:] in error  # names the file that is missing
    assert (folder / "export.ndjson").read_text() == "the export of yesterday\n"
    assert not list(folder.glob(".*.partial"))
