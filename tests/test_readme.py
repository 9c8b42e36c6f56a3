"""The README's Python example runs as written, after `labelport demo`, in a fresh folder."""

from __future__ import annotations

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
