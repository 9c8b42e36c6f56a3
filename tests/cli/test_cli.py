"""The command line, run as a user runs it: exit codes and the exact text of known errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from labelport.cli.main import app
from labelport.service.synthetic import write_image, write_series

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands(run: CliRunner) -> None:
    code, out, _ = invoke(run, "--help")
    assert code == 0
    for command in ("dataset", "data-rows", "ontology", "project", "batch", "demo", "convert", "inspect"):
        assert re.search(rf"\b{command}\b", out), command


def test_dataset_rows_project_batch(run: CliRunner, tmp_path: Path) -> None:
    series = tmp_path / "media" / "series-a"
    write_series(series, rows=20, columns=10, slices=3)
    image = write_image(tmp_path / "media" / "a.png", 7, 5)
    code, out, _ = invoke(run, "dataset", "create", "scans")
    assert code == 0
    dataset_id = out.strip()
    assert len(dataset_id) == 25

    code, out, err = invoke(run, "data-rows", "add", dataset_id, str(series), str(image), "--prefix", "cli/")
    assert code == 0, err
    assert "2 created, 0 failed" in out
    assert "cli/series-a" in out and "10 x 20 x 3" in out
    assert "cli/a.png" in out and "7 x 5" in out

    code, out, err = invoke(run, "data-rows", "add", dataset_id, str(image), "--prefix", "cli/")
    assert code == 1
    assert "0 created, 1 failed" in out
    assert "global_key 'cli/a.png' already exists" in err

    code, out, _ = invoke(run, "project", "create", "seg", "--media-type", "dicom")
    assert code == 0
    project_id = out.strip()
    code, out, err = invoke(run, "batch", "create", project_id, "b1", "-k", "cli/series-a", "--priority", "6")
    assert code == 1
    assert err.strip() == "error: batch priority must be an integer from 1 (highest) to 5 (lowest), found 6"
    code, out, err = invoke(run, "batch", "create", project_id, "b1", "-k", "cli/series-a", "--priority", "2")
    assert code == 0, err
    code, out, _ = invoke(run, "project", "list")
    assert "seg" in out and "dicom" in out


def test_series_from_a_list_of_files(run: CliRunner, tmp_path: Path) -> None:
    files = write_series(tmp_path / "s", rows=8, columns=8, slices=5)
    _, out, _ = invoke(run, "dataset", "create", "d")
    code, out, err = invoke(run, "data-rows", "add", out.strip(), "--series", *map(str, files))
    assert code == 0, err
    assert "1 created, 0 failed" in out and "8 x 8 x 5" in out


def test_ontology_create_reports_json_errors(run: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "o.json"
    bad.write_text('{"tools": [{"tool": "line", "name": "a"}, {"tool": "line", "name": "a"}]}')
    code, _, err = invoke(run, "ontology", "create", "o", str(bad))
    assert code == 1
    assert "two nodes named 'a' under the ontology's tools" in err


def test_demo_creates_once_then_reports(run: CliRunner) -> None:
    code, out, err = invoke(run, "demo")
    assert code == 0, err
    assert "labelport demo created" in out
    assert "demo/phantom-series" in out and "64 x 64 x 16" in out
    assert "segmentation_mask_dicom (raster-segmentation)" in out
    assert "first-batch-dicom-demo, 1 data row(s), priority 5" in out
    code, out, _ = invoke(run, "demo")
    assert code == 0
    assert "demo already present" in out


def _command_paths(group: typer.Typer, prefix: str = "") -> list[str]:
    paths = [
        f"{prefix}{c.name or (c.callback.__name__ if c.callback else '')}".strip() for c in group.registered_commands
    ]
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            paths += _command_paths(sub.typer_instance, f"{prefix}{sub.name} ")
    return paths


def test_every_command_is_documented() -> None:
    doc = (REPO / "docs" / "cli.md").read_text()
    missing = [p for p in _command_paths(app) if f"`labelport {p}`" not in doc]
    assert missing == []
