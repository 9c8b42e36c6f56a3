"""Every command, given a missing path, a wrong id or a malformed file, ends in one ``error: ...`` line and a
non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelport.cli.main import app

from .test_cli import _command_paths

Case = tuple[str, ...]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A store with the demo in it, its ids, and some bad files."""
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("LABELPORT_REDIS_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["demo"]).exit_code == 0
    listed = {
        name: json.loads(runner.invoke(app, [name, "list", "--format", "json"]).stdout)
        for name in ("dataset", "project", "ontology")
    }
    (tmp_path / "malformed.ndjson").write_text('{"uuid": \n[not json\n')
    (tmp_path / "malformed.json").write_text("{ nope")
    (tmp_path / "not-dicom").mkdir()
    (tmp_path / "not-dicom" / "a.dcm").write_bytes(b"hello")
    return {
        "dataset": listed["dataset"][0]["id"],
        "project": listed["project"][0]["id"],
        "ontology": listed["ontology"][0]["id"],
        "missing": str(tmp_path / "missing.ndjson"),
        "malformed": str(tmp_path / "malformed.ndjson"),
        "malformed_json": str(tmp_path / "malformed.json"),
        "not_dicom": str(tmp_path / "not-dicom"),
        "series": str(tmp_path / "home" / "demo-media" / "phantom-series"),
    }


WRONG = "cmxnotarealid000000000000"


def cases(ids: dict[str, str]) -> dict[str, list[Case]]:
    """Bad invocations of every command: (arguments...)."""
    p, d, o = ids["project"], ids["dataset"], ids["ontology"]
    return {
        "dataset create": [("dataset", "create")],
        "dataset list": [("dataset", "list", "--format", "xml")],
        "data-rows add": [("data-rows", "add", d, ids["missing"]), ("data-rows", "add", WRONG, ids["series"])],
        "data-rows list": [("data-rows", "list", WRONG)],
        "ontology create": [
            ("ontology", "create", ids["missing"]),
            ("ontology", "create", "o", ids["malformed_json"]),
            ("ontology", "create", "o", ids["malformed"]),
        ],
        "ontology list": [("ontology", "list", "--format", "xml")],
        "project create": [
            ("project", "create", "p", "--media-type", "audio"),
            ("project", "create", "p", "--ontology", WRONG),
        ],
        "project connect-ontology": [
            ("project", "connect-ontology", WRONG, o),
            ("project", "connect-ontology", p, WRONG),
        ],
        "project list": [("project", "list", "--format", "xml")],
        "batch create": [
            ("batch", "create", WRONG, "b", "-k", "demo/thumbnail.png"),
            ("batch", "create", p, "b", "-k", "nope"),
        ],
        "batch list": [("batch", "list", WRONG)],
        "demo": [("demo", "extra")],
        "formats": [("formats", "--format", "xml")],
        "import": [
            ("import", "labelbox", ids["missing"], "--project", p),
            ("import", "labelbox", ids["malformed"], "--project", WRONG),
            ("import", "labelbox", ids["malformed"], "--project", p),
            ("import", ids["malformed"], "--project", p, "--as", "labels"),
        ],
        "validate": [("validate", ids["missing"]), ("validate", "labelbox", ids["malformed"])],
        "export": [
            ("export", "labelbox", "--project", WRONG, "-o", "x.ndjson"),
            ("export", "labelbox", "--project", p, "-o", "sub/dir/x.ndjson"),
            ("export", "nosuchformat", "--project", p, "-o", "x.ndjson"),
        ],
        "workflow approve": [
            ("workflow", "approve", "--project", WRONG, "demo/phantom-series"),
            ("workflow", "approve", "--project", p, WRONG),
        ],
        "workflow reject": [("workflow", "reject", "--project", p, WRONG)],
        "workflow rework": [("workflow", "rework", "--project", p, "demo/phantom-series")],
        "workflow move": [("workflow", "move", "--project", p, "--to", "Nowhere", "demo/phantom-series")],
        "workflow history": [
            ("workflow", "history", "--project", p, WRONG),
            ("workflow", "history", "--project", WRONG, "x"),
        ],
        "serve": [("serve", "--port", "eighty")],
        "worker": [("worker",), ("worker", "--burst", "--redis-url", "nope")],
        "cluster up": [("cluster", "up"), ("cluster", "up", "--database-url", "sqlite:///x.db")],
        "keys create": [("keys", "create", "--role", "labeler"), ("keys", "create", "--project", WRONG)],
        "keys list": [("keys", "list", "--format", "xml")],
        "keys revoke": [("keys", "revoke", "lp_nothing")],
        "convert": [
            ("convert", ids["missing"], "--to", "nifti", "-o", "x.nii.gz"),
            ("convert", ids["not_dicom"], "--to", "nifti", "-o", "x.nii.gz"),
            ("convert", ids["series"], "--to", "nifti", "-o", "/nonexistent-dir/x.nii.gz"),
            ("convert", ids["malformed"], "--to", "dicom_seg", "-o", "out"),
        ],
        "inspect": [("inspect", ids["missing"]), ("inspect", ids["not_dicom"])],
    }


def test_every_command_has_bad_input_cases(home: dict[str, str]) -> None:
    assert sorted(cases(home)) == sorted(_command_paths(app))


def test_bad_input_ends_in_one_error_line(home: dict[str, str]) -> None:
    runner = CliRunner()
    for command, invocations in cases(home).items():
        for args in invocations:
            result = runner.invoke(app, list(args))
            where = f"labelport {' '.join(args)}"
            assert result.exit_code in (1, 2), (where, result.exit_code, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit), (where, result.exception)
            assert "Traceback" not in result.output, where
            lines = result.stderr.strip().splitlines()
            assert lines and lines[-1].startswith("error: "), (where, result.stderr)
            assert sum(line.startswith("error: ") for line in lines) == 1, (where, result.stderr)
            assert command.split()[0] in " ".join(args)


def test_known_error_texts(home: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()

    def error(*args: str) -> str:
        result = runner.invoke(app, list(args))
        return str(result.stderr.strip().splitlines()[-1])

    p = home["project"]
    assert error("convert", home["series"], "--to", "nifti", "-o", "/nonexistent-dir/x.nii.gz") == (
        "error: output folder '/nonexistent-dir' does not exist; create it first"
    )
    assert error("export", "labelbox", "--project", p, "-o", "sub/dir/x.ndjson") == (
        "error: output folder 'sub/dir' does not exist; create it first"
    )
    assert not (tmp_path / "sub").exists()
    assert error("import", home["malformed"], "--project", p, "--as", "labels") == (
        "error: --as takes prelabels or ground-truth, found 'labels'"
    )
    assert error("keys", "create", "--role", "labeler") == (
        "error: --role labeler is a role in a project; name the project with --project PROJECT_ID"
    )
    assert error("nosuch") == "error: No such command 'nosuch'. (see `labelport --help`)"
    assert error("convert", home["missing"], "--to", "nifti", "-o", "x.nii.gz") == (
        f"error: input {home['missing']!r} does not exist"
    )
    assert error("import", "labelbox", home["missing"], "--project", p) == (
        f"error: import file {home['missing']!r} does not exist"
    )
    assert error("workflow", "approve", "--project", p, WRONG) == (
        f"error: data row {WRONG!r} is not in this project (1 of 1 unknown); add it with create_batch"
    )
