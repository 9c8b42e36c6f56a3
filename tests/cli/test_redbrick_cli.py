"""``labelport import redbrick`` and ``labelport export redbrick``, run as a user runs them: exit codes and the
text printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelport.cli.main import app
from tests.fixtures import REDBRICK

ITEMS = REDBRICK / "items" / "items_fixture.json"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LABELPORT_FILE_ROOTS", f"{REDBRICK}:{tmp_path}")
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _project(run: CliRunner) -> str:
    code, out, err = invoke(run, "project", "create", "seg", "--media-type", "dicom")
    assert code == 0, err
    return out.strip()


def test_import_an_items_list_with_its_media_then_export_it(run: CliRunner, tmp_path: Path) -> None:
    project = _project(run)
    code, out, err = invoke(
        run, "import", "redbrick", str(ITEMS), "--project", project, "--as", "ground-truth", "--create-features"
    )
    assert code == 0, err
    assert re.fullmatch(
        r"import c[0-9a-z]{24}: 4 of 4 tasks landed, 17 of 17 annotations imported as ground_truth; 4 data rows "
        r"created, 0 reused \(dataset c[0-9a-z]{24}\)\n",
        out,
    ), out
    code, out, err = invoke(run, "export", "redbrick", "-p", project, "-o", str(tmp_path / "out"), "--semantic")
    assert code == 0, err
    assert out == f"exported 4 data rows (17 annotations) to {tmp_path / 'out'}\n"
    series = json.loads((tmp_path / "out" / "tasks.json").read_text())[0]["series"][0]
    assert series["semanticMask"] is True and series["segmentations"] == "segmentations/guide-I/CT.nii.gz"


def test_a_failed_task_is_listed_and_the_exit_code_is_1(run: CliRunner, tmp_path: Path) -> None:
    project = _project(run)
    tasks = json.loads(ITEMS.read_text())
    tasks[0]["series"][0]["segmentMap"] = {"1": "liver", "2": "spleen"}
    for task in tasks:
        for series in task["series"]:
            series["items"] = _absolute(series["items"])
            for key in ("segmentations",):
                if key in series:
                    series[key] = _absolute(series[key])
            for entry in (series.get("segmentMap") or {}).values():
                if isinstance(entry, dict) and "mask" in entry:
                    entry["mask"] = _absolute(entry["mask"])
    source = tmp_path / "items.json"
    source.write_text(json.dumps(tasks))
    code, out, err = invoke(run, "import", str(source), "--project", project, "--create-features")
    assert code == 1
    assert f"task failed: {source}, line 1, [0].series[0].segmentMap: task 'guide-I', series 'CT': value 3 of" in err
    assert re.match(r"import c[0-9a-z]{24}: 3 of 4 tasks landed, 14 of 14 annotations imported as prediction", out)


def _absolute(value: str | list[str]) -> str | list[str]:
    if isinstance(value, list):
        return [str((ITEMS.parent / v).resolve()) for v in value]
    return str((ITEMS.parent / value).resolve())


def test_items_options_apply_to_redbrick_only(run: CliRunner, tmp_path: Path) -> None:
    project = _project(run)
    ndjson = tmp_path / "x.ndjson"
    ndjson.write_text(
        '{"uuid": "00000000-0000-4000-8000-000000000001", "dataRow": {"globalKey": "k"}, '
        '"name": "box", "bbox": {"top": 1, "left": 1, "height": 2, "width": 2}}\n'
    )
    code, _, err = invoke(run, "import", "labelbox", str(ndjson), "--project", project, "--label-validate")
    assert code == 1
    assert err.strip() == (
        "error: --label-validate applies to items lists that bring their media (redbrick), not labelbox_ndjson"
    )


def test_validate_reads_an_items_list(run: CliRunner) -> None:
    code, out, err = invoke(run, "validate", "redbrick", str(ITEMS))
    assert code == 0, err
    assert out.strip() == f"{ITEMS}: redbrick_tasks, 4 items, 17 annotations, 0 problems"
