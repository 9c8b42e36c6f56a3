"""The README's Python example runs as written, after `labelport demo`, in a fresh folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELPORT_")}
    labelport = Path(sys.executable).with_name("labelport")
    subprocess.run([str(labelport), "demo"], cwd=tmp_path, env=env, check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    )
    assert done.stdout.splitlines() == ["Errors: None", "64 64 16", "FINISHED SUCCESS", "['1', '8']"]


def test_readme_shell_sequence_runs_as_written(tmp_path: Path) -> None:
    """From `labelport demo` to an export, with the ontology connected and the rows in a batch."""
    text = (REPO / "README.md").read_text()
    [sequence] = re.findall(r"```sh\n(\.venv/bin/labelport demo.*?)```", text, flags=re.S)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the README names the venv `make` creates
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELPORT_")} | {"COLUMNS": "80"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", sequence], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "error:" not in done.stderr
    assert (tmp_path / "series.nii.gz").stat().st_size > 0
    [row] = [json.loads(line) for line in (tmp_path / "export.ndjson").read_text().splitlines()]
    assert row["data_row"]["global_key"] == "study-1/phantom-series"
    [label] = next(iter(row["projects"].values()))["labels"]
    assert sorted(label["annotations"]["groups"]["Axial"]["frames"]) == ["3"]
    assert done.stdout.strip().splitlines()[-1].startswith("lp_")  # the reviewer's key, printed once
